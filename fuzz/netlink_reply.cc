// What a reply says (netlink_reply.h) on any bytes: the status and
// extended-ACK text of NLMSG_ERROR / NLMSG_DONE messages, and the collection
// of a dump's data messages up to its end, for the request numbered as the
// buffer's first message.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "check.h"
#include "netlink_message.h"
#include "netlink_reply.h"

using namespace nsnet;

namespace {

void checkStatus(const NetlinkStatus& status, size_t size) {
  FUZZ_CHECK(status.error >= 0 && status.error <= 4095);
  FUZZ_CHECK(status.extack.size() < size || status.error == EBADMSG);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<Message> messages;
  bool split = splitMessages(data, size, messages);
  for (const auto& message : messages) {
    uint16_t type = message.header->nlmsg_type;
    if (type == NLMSG_ERROR || type == NLMSG_DONE) checkStatus(replyStatus(message), size);
  }

  uint32_t seq = 0;
  if (size >= sizeof(nlmsghdr)) std::memcpy(&seq, data + offsetof(nlmsghdr, nlmsg_seq), sizeof seq);
  std::vector<uint8_t> replies;
  bool interrupted = false;
  NetlinkStatus status;
  bool ended = collectReply(data, size, seq, replies, interrupted, status);
  if (!split) {
    FUZZ_CHECK(ended && status.error == EBADMSG && replies.empty());
    return 0;
  }
  if (ended) checkStatus(status, size);

  // What was collected is the request's data messages before the end, whole and in order.
  std::vector<const nlmsghdr*> expected;
  bool expectInterrupted = false;
  bool expectEnd = false;
  for (const auto& message : messages) {
    if (message.header->nlmsg_seq != seq) continue;
    uint16_t type = message.header->nlmsg_type;
    if (type == NLMSG_ERROR || type == NLMSG_DONE) {
      expectEnd = true;
      break;
    }
    expected.push_back(message.header);
    expectInterrupted = expectInterrupted || (message.header->nlmsg_flags & NLM_F_DUMP_INTR);
  }
  FUZZ_CHECK(ended == expectEnd);
  FUZZ_CHECK(interrupted == expectInterrupted);
  FUZZ_CHECK(replies.size() % NLMSG_ALIGNTO == 0);
  std::vector<Message> collected;
  FUZZ_CHECK(splitMessages(replies.data(), replies.size(), collected));
  FUZZ_CHECK(collected.size() == expected.size());
  for (size_t i = 0; i < collected.size(); i++) {
    FUZZ_CHECK(collected[i].header->nlmsg_len == expected[i]->nlmsg_len);
    FUZZ_CHECK(std::memcmp(collected[i].header, expected[i], expected[i]->nlmsg_len) == 0);
  }
  return 0;
}
