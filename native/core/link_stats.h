// A link's traffic counters: IFLA_STATS64 carries one struct
// rtnl_link_stats64 rather than attributes, so it is read apart from the
// rows of link_schema.cc, through one table of the counters nsnet reports.
#pragma once

#include <linux/if_link.h>

#include <vector>

#include "netlink_message.h"

namespace nsnet {

struct LinkStatsField {
  const char* field;  // the JavaScript property
  __u64 rtnl_link_stats64::*member;
};

// The counters a link's `stats` holds, in the order they are reported.
extern const std::vector<LinkStatsField> kLinkStatsFields;

// Copies the struct, accepting a longer one (a newer kernel's counters) and
// refusing one shorter than the 23 counters every kernel has sent.
bool readLinkStats(const Attribute& attr, rtnl_link_stats64& out);

}  // namespace nsnet
