#include "link_stats.h"

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace nsnet {

const std::vector<LinkStatsField> kLinkStatsFields = {
    {"rxBytes", &rtnl_link_stats64::rx_bytes},     {"txBytes", &rtnl_link_stats64::tx_bytes},
    {"rxPackets", &rtnl_link_stats64::rx_packets}, {"txPackets", &rtnl_link_stats64::tx_packets},
    {"rxErrors", &rtnl_link_stats64::rx_errors},   {"txErrors", &rtnl_link_stats64::tx_errors},
    {"rxDropped", &rtnl_link_stats64::rx_dropped}, {"txDropped", &rtnl_link_stats64::tx_dropped},
    {"multicast", &rtnl_link_stats64::multicast},
};

namespace {

// The struct as Linux 2.6.35 introduced it, up to tx_compressed: later
// kernels only append (rx_nohandler, rx_otherhost_dropped).
constexpr size_t kOldestStatsSize = offsetof(rtnl_link_stats64, tx_compressed) + sizeof(__u64);

}  // namespace

bool readLinkStats(const Attribute& attr, rtnl_link_stats64& out) {
  if (attr.len < kOldestStatsSize) return false;
  out = {};
  // Attributes are 4-byte aligned only: copy rather than cast.
  std::memcpy(&out, attr.data, std::min(attr.len, sizeof out));
  return true;
}

}  // namespace nsnet
