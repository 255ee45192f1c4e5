// A netlink socket bound to the namespace it was created in. Requests and
// their replies are matched by sequence number; one request at a time per
// socket (guarded by a mutex), so callers on several pool threads are safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "result.h"

namespace nsnet {

class NetlinkSocket {
 public:
  // Opens and configures a socket in the calling thread's network namespace.
  // Returns the fd, or -errno.
  static int open(int protocol);

  explicit NetlinkSocket(int fd) : fd_(fd) {}
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  // Sends requests that expect only an ACK, many per sendmsg, and returns one
  // status per request, in order, with what the kernel echoed for requests
  // that carry NLM_F_ECHO.
  std::vector<NetlinkStatus> transact(std::vector<std::vector<uint8_t>>& requests);

  // Sends `requests` between the `begin` and `end` markers of an nfnetlink
  // batch, all in one sendmsg: one transaction, applied whole or not at all.
  // One status per request; when one fails, the others that got no answer
  // report ECANCELED.
  std::vector<NetlinkStatus> transactBatch(std::vector<uint8_t> begin, std::vector<std::vector<uint8_t>>& requests,
                                           std::vector<uint8_t> end);

  // Sends one request that expects data (a get or a dump) and appends the reply
  // messages to `replies`. A dump interrupted by a concurrent change is retried.
  NetlinkStatus query(std::vector<uint8_t>& request, std::vector<uint8_t>& replies);

 private:
  int send(std::vector<std::vector<uint8_t>>& requests, size_t first, size_t count);
  int receive(std::vector<uint8_t>& buffer, size_t& len);
  void drain();
  NetlinkStatus queryOnce(std::vector<uint8_t>& request, std::vector<uint8_t>& replies, bool& interrupted);

  std::mutex mutex_;
  const int fd_;
  uint32_t seq_ = 1;
};

}  // namespace nsnet
