// Traffic-control requests (rtnetlink qdiscs and filters) for bandwidth
// limits: a token bucket (tbf) as a device's root qdisc, the ingress qdisc,
// and a u32 filter on it that redirects every packet to another device
// (an ifb, where a tbf shapes what came in), as `tc` sends them.
#pragma once

#include <cstdint>

#include "netlink_message.h"

namespace nsnet {

// A tbf's parameters as the kernel takes them: rate in bytes per second
// (64 bits; the kernel computes its own rate table from it), burst and limit
// in bytes, buffer the burst's time at the rate in scheduler ticks.
struct TbfSpec {
  uint32_t index = 0;
  uint64_t rate = 0;
  uint32_t burst = 0;
  uint32_t limit = 0;
  uint32_t buffer = 0;
  bool replace = false;  // take the place of whatever root qdisc the device has
};

// RTM_NEWQDISC of a tbf as the root qdisc of device `index`, handle 1:.
Bytes encodeTbfQdisc(const TbfSpec& spec);
// RTM_NEWQDISC of the ingress qdisc (handle ffff:) of device `index`.
Bytes encodeIngressQdisc(uint32_t index);
// RTM_DELQDISC of the qdisc of device `index` under `parent` (root or ingress).
Bytes encodeQdiscDelete(uint32_t index, uint32_t parent);
// RTM_NEWTFILTER on the ingress qdisc of device `index`: u32 matching every
// packet (any protocol, priority 1), action mirred egress redirect to `target`.
Bytes encodeRedirectFilter(uint32_t index, uint32_t target);
// RTM_GETQDISC dump of every device's qdiscs.
Bytes encodeQdiscDump();
// RTM_GETTFILTER dump of the filters on the ingress qdisc of device `index`.
Bytes encodeIngressFilterDump(uint32_t index);

}  // namespace nsnet
