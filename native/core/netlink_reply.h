// What the kernel's replies say: the status an ACK or an error carries, and
// the data messages of a dump or get up to the message that ends it.
#pragma once

#include <cstdint>
#include <vector>

#include "netlink_message.h"
#include "result.h"

namespace nsnet {

// The status of an NLMSG_ERROR or NLMSG_DONE message: its errno and the
// extended-ACK text. A payload too short for the code, or a code that is no
// errno, reads as EBADMSG.
NetlinkStatus replyStatus(const Message& message);

// Takes one received buffer of the reply to request `seq`: appends its data
// messages (whole, each padded to 4 bytes) to `replies` and notes in
// `interrupted` whether the dump raced a change. Returns true when the reply
// ended, `status` then holding how (a malformed buffer ends it with EBADMSG).
bool collectReply(const uint8_t* data, size_t len, uint32_t seq, std::vector<uint8_t>& replies, bool& interrupted,
                  NetlinkStatus& status);

}  // namespace nsnet
