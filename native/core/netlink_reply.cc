#include "netlink_reply.h"

#include <errno.h>

#include <cstring>

namespace nsnet {

namespace {

// The largest errno the kernel sends (as include/linux/err.h's MAX_ERRNO).
constexpr int kMaxErrno = 4095;

// Offset of the extended-ACK TLVs inside an NLMSG_ERROR payload: after the
// request's header alone when capped, after the whole echoed request if not.
size_t errorTlvOffset(const Message& message) {
  if (message.header->nlmsg_flags & NLM_F_CAPPED) return sizeof(nlmsgerr);
  if (message.payloadLen < sizeof(nlmsgerr)) return message.payloadLen;
  nlmsghdr original;
  std::memcpy(&original, message.payload + sizeof(int), sizeof original);
  if (original.nlmsg_len > message.payloadLen - sizeof(int)) return message.payloadLen;
  return sizeof(int) + NLMSG_ALIGN(original.nlmsg_len);
}

}  // namespace

NetlinkStatus replyStatus(const Message& message) {
  int error = 0;
  if (message.payloadLen < sizeof error) return {EBADMSG, "netlink reply too short for its error code"};
  std::memcpy(&error, message.payload, sizeof error);
  if (error > 0 || error < -kMaxErrno) return {EBADMSG, "netlink reply with an error code that is no errno"};
  size_t tlvOffset = message.header->nlmsg_type == NLMSG_DONE ? sizeof(int) : errorTlvOffset(message);
  return {-error, extackMessage(message, tlvOffset)};
}

bool collectReply(const uint8_t* data, size_t len, uint32_t seq, std::vector<uint8_t>& replies, bool& interrupted,
                  NetlinkStatus& status) {
  std::vector<Message> messages;
  if (!splitMessages(data, len, messages)) {
    status = {EBADMSG, "malformed netlink reply"};
    return true;
  }
  for (const auto& message : messages) {
    if (message.header->nlmsg_seq != seq) continue;
    uint16_t type = message.header->nlmsg_type;
    if (type == NLMSG_DONE || type == NLMSG_ERROR) {
      status = replyStatus(message);
      return true;
    }
    if (message.header->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
    const auto* raw = reinterpret_cast<const uint8_t*>(message.header);
    replies.insert(replies.end(), raw, raw + message.header->nlmsg_len);
    replies.resize(NLMSG_ALIGN(replies.size()), 0);
  }
  return false;
}

}  // namespace nsnet
