#include "netlink_socket.h"

#include <errno.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>

#include "netlink_message.h"
#include "netlink_reply.h"

namespace nsnet {

namespace {

// Requests per sendmsg: their (capped) ACKs must fit the receive buffer.
constexpr size_t kRequestsPerSend = 64;
constexpr size_t kReceiveBufferSize = 64 * 1024;
constexpr int kSocketBufferBytes = 4 * 1024 * 1024;
constexpr int kDumpAttempts = 8;
constexpr int kReplyTimeoutSeconds = 30;

void setFlag(int fd, int option) {
  int one = 1;
  setsockopt(fd, SOL_NETLINK, option, &one, sizeof one);
}

}  // namespace

int NetlinkSocket::open(int protocol) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) return -errno;
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    int error = errno;
    ::close(fd);
    return -error;
  }
  // Larger buffers where permitted (FORCE needs CAP_NET_ADMIN), else the limit.
  for (int option : {SO_SNDBUF, SO_RCVBUF}) {
    int forced = option == SO_SNDBUF ? SO_SNDBUFFORCE : SO_RCVBUFFORCE;
    if (setsockopt(fd, SOL_SOCKET, forced, &kSocketBufferBytes, sizeof kSocketBufferBytes) < 0)
      setsockopt(fd, SOL_SOCKET, option, &kSocketBufferBytes, sizeof kSocketBufferBytes);
  }
  timeval timeout{kReplyTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setFlag(fd, NETLINK_EXT_ACK);
  setFlag(fd, NETLINK_CAP_ACK);
  setFlag(fd, NETLINK_GET_STRICT_CHK);
  return fd;
}

NetlinkSocket::~NetlinkSocket() { ::close(fd_); }

int NetlinkSocket::send(std::vector<std::vector<uint8_t>>& requests, size_t first, size_t count) {
  std::vector<iovec> iov(count);
  for (size_t i = 0; i < count; i++) iov[i] = {requests[first + i].data(), requests[first + i].size()};
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  msghdr message{};
  message.msg_name = &kernel;
  message.msg_namelen = sizeof kernel;
  message.msg_iov = iov.data();
  message.msg_iovlen = count;
  ssize_t sent;
  do sent = sendmsg(fd_, &message, 0);
  while (sent < 0 && errno == EINTR);
  return sent < 0 ? -errno : 0;
}

int NetlinkSocket::receive(std::vector<uint8_t>& buffer, size_t& len) {
  buffer.resize(kReceiveBufferSize);
  ssize_t got;
  do got = recv(fd_, buffer.data(), buffer.size(), MSG_TRUNC);
  while (got < 0 && errno == EINTR);
  if (got < 0) return errno == EAGAIN ? -ETIMEDOUT : -errno;
  if (static_cast<size_t>(got) > buffer.size()) return -EMSGSIZE;
  len = static_cast<size_t>(got);
  return 0;
}

std::vector<NetlinkStatus> NetlinkSocket::transact(std::vector<std::vector<uint8_t>>& requests) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<NetlinkStatus> results(requests.size());
  std::vector<uint8_t> buffer;
  for (size_t first = 0; first < requests.size(); first += kRequestsPerSend) {
    size_t count = std::min(kRequestsPerSend, requests.size() - first);
    uint32_t baseSeq = seq_;
    seq_ += static_cast<uint32_t>(count);
    for (size_t i = 0; i < count; i++) {
      auto* header = reinterpret_cast<nlmsghdr*>(requests[first + i].data());
      header->nlmsg_seq = baseSeq + static_cast<uint32_t>(i);
      header->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    }
    int error = send(requests, first, count);
    std::vector<bool> answered(count, error != 0);
    if (error)
      for (size_t i = 0; i < count; i++) results[first + i].error = -error;
    size_t pending = error ? 0 : count;
    while (pending > 0) {
      size_t len = 0;
      if ((error = receive(buffer, len)) != 0) break;
      std::vector<Message> messages;
      if (!splitMessages(buffer.data(), len, messages)) {
        error = -EBADMSG;
        break;
      }
      for (const auto& message : messages) {
        uint32_t index = message.header->nlmsg_seq - baseSeq;
        if (index >= count || answered[index]) continue;
        if (message.header->nlmsg_type != NLMSG_ERROR) {
          // An echo comes before its ACK.
          auto& echo = results[first + index].echo;
          const auto* raw = reinterpret_cast<const uint8_t*>(message.header);
          echo.insert(echo.end(), raw, raw + message.header->nlmsg_len);
          echo.resize(NLMSG_ALIGN(echo.size()), 0);
          continue;
        }
        auto echo = std::move(results[first + index].echo);
        results[first + index] = replyStatus(message);
        results[first + index].echo = std::move(echo);
        answered[index] = true;
        pending--;
      }
    }
    if (pending > 0)
      for (size_t i = 0; i < count; i++)
        if (!answered[i]) results[first + i].error = -error;
  }
  return results;
}

std::vector<NetlinkStatus> NetlinkSocket::transactBatch(std::vector<uint8_t> begin,
                                                        std::vector<std::vector<uint8_t>>& requests,
                                                        std::vector<uint8_t> end) {
  if (requests.empty()) return {};  // nothing to ACK: the markers alone would leave a reply unread
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::vector<uint8_t>> all;
  all.reserve(requests.size() + 2);
  all.push_back(std::move(begin));
  for (auto& request : requests) all.push_back(std::move(request));
  all.push_back(std::move(end));
  uint32_t baseSeq = seq_;
  seq_ += static_cast<uint32_t>(all.size());
  for (size_t i = 0; i < all.size(); i++) {
    auto* header = reinterpret_cast<nlmsghdr*>(all[i].data());
    header->nlmsg_seq = baseSeq + static_cast<uint32_t>(i);
    header->nlmsg_flags |= NLM_F_REQUEST;
    // Errors come back unasked; one ACK, on the last request, tells the
    // batch went through (and keeps a big batch's ACKs from overflowing).
    if (i + 2 == all.size()) header->nlmsg_flags |= NLM_F_ACK;
  }
  std::vector<NetlinkStatus> results(requests.size());
  std::vector<bool> answered(requests.size(), false);
  size_t pending = requests.size();
  NetlinkStatus failure;
  if (int error = send(all, 0, all.size())) failure.error = -error;
  std::vector<uint8_t> buffer;
  while (pending > 0 && !failure.error) {
    size_t len = 0;
    if (int error = receive(buffer, len)) {
      failure.error = -error;
      break;
    }
    std::vector<Message> messages;
    if (!splitMessages(buffer.data(), len, messages)) {
      failure.error = EBADMSG;
      break;
    }
    for (const auto& message : messages) {
      uint32_t index = message.header->nlmsg_seq - baseSeq;
      if (message.header->nlmsg_type != NLMSG_ERROR || index >= all.size()) continue;
      NetlinkStatus status = replyStatus(message);
      bool marker = index == 0 || index + 1 == all.size();
      if (marker) {
        if (status.error) failure = status;
        continue;
      }
      if (answered[index - 1]) continue;
      if (!status.error && index + 2 == all.size()) {
        pending = 0;  // the last request's ACK: the whole batch is applied
        continue;
      }
      answered[index - 1] = true;
      results[index - 1] = status;
      pending--;
      // A failed request aborts the transaction: the rest will not be applied.
      if (status.error) failure = {ECANCELED, "the batch was aborted by another request's failure"};
    }
  }
  for (size_t i = 0; i < requests.size(); i++)
    if (!answered[i]) results[i] = failure;
  if (failure.error) drain();
  return results;
}

void NetlinkSocket::drain() {
  std::vector<uint8_t> buffer(kReceiveBufferSize);
  while (recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT) >= 0) {
  }
}

NetlinkStatus NetlinkSocket::query(std::vector<uint8_t>& request, std::vector<uint8_t>& replies) {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t start = replies.size();
  for (int attempt = 0; attempt < kDumpAttempts; attempt++) {
    bool interrupted = false;
    NetlinkStatus status = queryOnce(request, replies, interrupted);
    if (status.error || !interrupted) return status;
    replies.resize(start);  // the dump raced a change: its content may be inconsistent
  }
  return {EAGAIN, "dump kept being interrupted by concurrent changes"};
}

NetlinkStatus NetlinkSocket::queryOnce(std::vector<uint8_t>& request, std::vector<uint8_t>& replies,
                                       bool& interrupted) {
  auto* header = reinterpret_cast<nlmsghdr*>(request.data());
  uint32_t seq = seq_++;
  header->nlmsg_seq = seq;
  header->nlmsg_flags |= NLM_F_REQUEST;
  bool isDump = (header->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if (!isDump) header->nlmsg_flags |= NLM_F_ACK;  // a get ends with its ACK
  std::vector<std::vector<uint8_t>> one{request};
  if (int error = send(one, 0, 1)) return {-error, {}};
  std::vector<uint8_t> buffer;
  for (;;) {
    size_t len = 0;
    if (int error = receive(buffer, len)) return {-error, {}};
    NetlinkStatus status;
    if (collectReply(buffer.data(), len, seq, replies, interrupted, status)) return status;
  }
}

}  // namespace nsnet
