// How the native core reports failure, in every file:
//   - a function that can fail returns an int: >= 0 on success (0, or the
//     descriptor it opened), -errno on failure;
//   - a netlink exchange answers with a NetlinkStatus, whose `error` is that
//     errno as a positive number (0 on success), as JavaScript reads it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nsnet {

struct NetlinkStatus {
  NetlinkStatus() = default;
  NetlinkStatus(int error, std::string extack = {}) : error(error), extack(std::move(extack)) {}
  // The status of a core function's int result (see above).
  static NetlinkStatus ofResult(int result) { return {result < 0 ? -result : 0}; }

  int error = 0;  // positive errno, 0 on success
  std::string extack;
  std::vector<uint8_t> echo;  // what the kernel echoed back (NLM_F_ECHO), if anything
};

}  // namespace nsnet
