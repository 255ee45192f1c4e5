#include "rtnl_encode.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/socket.h>

#include "link_schema.h"
#include "netlink_message.h"

namespace nsnet {

namespace {

constexpr uint16_t kCreate = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;

ifinfomsg linkHeader(uint32_t index, const LinkAttributes& attrs) {
  ifinfomsg header{};
  header.ifi_family = AF_UNSPEC;
  header.ifi_index = static_cast<int>(index);
  if (attrs.up) {
    header.ifi_change = IFF_UP;
    header.ifi_flags = *attrs.up ? IFF_UP : 0;
  }
  return header;
}

// A link's header and attributes (a creation's, a change's, a veth's peer).
void putLink(MessageBuilder& msg, uint32_t index, const LinkAttributes& attrs) {
  msg.putHeader(linkHeader(index, attrs));
  putRows(msg, kLinkAttributeRows, attrs);
}

// A change's header and attributes, with its bridge-port ones. Not in a
// creation: the kernel applies IFLA_INFO_SLAVE_DATA only to a link that is a
// port already, and a second IFLA_LINKINFO would take the place of the kind's.
void putLinkChange(MessageBuilder& msg, uint32_t index, const LinkAttributes& attrs) {
  putLink(msg, index, attrs);
  if (!anyPresent(kBridgePortRows, attrs)) return;
  size_t info = msg.beginNested(IFLA_LINKINFO);
  msg.putString(IFLA_INFO_SLAVE_KIND, "bridge");
  size_t data = msg.beginNested(IFLA_INFO_SLAVE_DATA);
  putRows(msg, kBridgePortRows, attrs);
  msg.endNested(data);
  msg.endNested(info);
}

}  // namespace

Bytes encodeLinkCreate(const LinkCreate& spec) {
  const LinkKindSchema* kind = findLinkKind(spec.kind);
  if (!kind) return {};
  MessageBuilder msg(RTM_NEWLINK, kCreate);
  putLink(msg, 0, spec.attrs);
  putRows(msg, kind->beside, spec);
  size_t info = msg.beginNested(IFLA_LINKINFO);
  msg.putString(IFLA_INFO_KIND, spec.kind);
  if (kind->peer || anyPresent(kind->data, spec)) {
    size_t data = msg.beginNested(IFLA_INFO_DATA);
    if (kind->peer) {
      size_t peer = msg.beginNested(VETH_INFO_PEER);
      putLink(msg, 0, spec.peer);
      msg.endNested(peer);
    }
    putRows(msg, kind->data, spec);
    msg.endNested(data);
  }
  msg.endNested(info);
  return msg.finish();
}

Bytes encodeLinkChange(const LinkChange& change) {
  MessageBuilder msg(RTM_NEWLINK, NLM_F_REQUEST);
  putLinkChange(msg, change.index, change.attrs);
  return msg.finish();
}

Bytes encodeLinkDelete(uint32_t index, const std::string& name) {
  MessageBuilder msg(RTM_DELLINK, NLM_F_REQUEST);
  msg.putHeader(linkHeader(index, {}));
  if (!name.empty()) msg.putString(IFLA_IFNAME, name);
  return msg.finish();
}

Bytes encodeLinkGet(uint32_t index, const std::string& name) {
  MessageBuilder msg(RTM_GETLINK, NLM_F_REQUEST);
  msg.putHeader(linkHeader(index, {}));
  if (!name.empty()) msg.putString(IFLA_IFNAME, name);
  msg.putU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  return msg.finish();
}

Bytes encodeLinkDump(const LinkDumpFilter& filter) {
  MessageBuilder msg(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP);
  msg.putHeader(linkHeader(0, {}));
  msg.putU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
  putRows(msg, kLinkDumpFilterRows, filter);
  return msg.finish();
}

Bytes encodeAddress(bool add, const AddressSpec& spec) {
  MessageBuilder msg(add ? RTM_NEWADDR : RTM_DELADDR, add ? kCreate : NLM_F_REQUEST);
  ifaddrmsg header{};
  header.ifa_family = spec.family;
  header.ifa_prefixlen = spec.prefixLength;
  header.ifa_index = spec.index;
  header.ifa_flags = spec.noDad ? IFA_F_NODAD : 0;
  msg.putHeader(header);
  msg.putBytes(IFA_LOCAL, spec.address);
  msg.putBytes(IFA_ADDRESS, spec.address);
  if (spec.noDad) msg.putU32(IFA_FLAGS, IFA_F_NODAD);
  return msg.finish();
}

Bytes encodeNeighbourDelete(uint8_t family, uint32_t index, const Bytes& address) {
  MessageBuilder msg(RTM_DELNEIGH, NLM_F_REQUEST);
  ndmsg header{};
  header.ndm_family = family;
  header.ndm_ifindex = static_cast<int>(index);
  msg.putHeader(header);
  msg.putBytes(NDA_DST, address);
  return msg.finish();
}

Bytes encodeAddressDump(uint8_t family, uint32_t index) {
  MessageBuilder msg(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP);
  ifaddrmsg header{};
  header.ifa_family = family;
  header.ifa_index = index;  // strict checking makes the kernel filter by it
  msg.putHeader(header);
  return msg.finish();
}

Bytes encodeRoute(RouteOp op, const RouteSpec& spec) {
  uint16_t type = op == RouteOp::Delete ? RTM_DELROUTE : RTM_NEWROUTE;
  uint16_t flags = NLM_F_REQUEST;
  if (op == RouteOp::Add) flags = kCreate;
  if (op == RouteOp::Replace) flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE;
  MessageBuilder msg(type, flags);
  rtmsg header{};
  header.rtm_family = spec.family;
  header.rtm_dst_len = spec.dstLength;
  header.rtm_table = spec.table < 256 ? static_cast<uint8_t>(spec.table) : uint8_t{RT_TABLE_UNSPEC};
  header.rtm_protocol = op == RouteOp::Delete ? 0 : spec.protocol;
  // A delete matches any scope unless one is asked for (as `ip route del` does).
  header.rtm_scope = op == RouteOp::Delete && spec.scope == 0 ? uint8_t{RT_SCOPE_NOWHERE} : spec.scope;
  // Likewise any type: a delete of a blackhole route must match it too.
  header.rtm_type = op == RouteOp::Delete ? uint8_t{RTN_UNSPEC} : spec.type;
  msg.putHeader(header);
  msg.putU32(RTA_TABLE, spec.table);
  if (!spec.dst.empty()) msg.putBytes(RTA_DST, spec.dst);
  if (!spec.gateway.empty()) msg.putBytes(RTA_GATEWAY, spec.gateway);
  if (!spec.prefSrc.empty()) msg.putBytes(RTA_PREFSRC, spec.prefSrc);
  if (spec.oif) msg.putU32(RTA_OIF, spec.oif);
  if (spec.priority) msg.putU32(RTA_PRIORITY, *spec.priority);
  return msg.finish();
}

Bytes encodeRouteDump(const RouteDumpFilter& filter) {
  MessageBuilder msg(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP);
  rtmsg header{};
  header.rtm_family = filter.family;
  if (filter.table) header.rtm_table = *filter.table < 256 ? static_cast<uint8_t>(*filter.table) : 0;
  msg.putHeader(header);
  if (filter.table) msg.putU32(RTA_TABLE, *filter.table);
  if (filter.oif) msg.putU32(RTA_OIF, *filter.oif);
  return msg.finish();
}

}  // namespace nsnet
