#include "rtnl_encode.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sys/socket.h>

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

void putLinkAttributes(MessageBuilder& msg, const LinkAttributes& attrs) {
  if (attrs.name) msg.putString(IFLA_IFNAME, *attrs.name);
  if (attrs.mtu) msg.putU32(IFLA_MTU, *attrs.mtu);
  if (attrs.mac) msg.putBytes(IFLA_ADDRESS, *attrs.mac);
  if (attrs.master) msg.putU32(IFLA_MASTER, *attrs.master);
  if (attrs.alias) msg.putString(IFLA_IFALIAS, *attrs.alias);
  if (attrs.netnsFd) msg.putU32(IFLA_NET_NS_FD, static_cast<uint32_t>(*attrs.netnsFd));
  if (attrs.txQueueLength) msg.putU32(IFLA_TXQLEN, *attrs.txQueueLength);
  if (attrs.hairpin) {
    size_t info = msg.beginNested(IFLA_LINKINFO);
    msg.putString(IFLA_INFO_SLAVE_KIND, "bridge");
    size_t data = msg.beginNested(IFLA_INFO_SLAVE_DATA);
    msg.putU8(IFLA_BRPORT_MODE, *attrs.hairpin ? 1 : 0);
    msg.endNested(data);
    msg.endNested(info);
  }
}

void putLinkInfoData(MessageBuilder& msg, const LinkCreate& spec) {
  if (spec.kind == "veth") {
    size_t data = msg.beginNested(IFLA_INFO_DATA);
    size_t peer = msg.beginNested(VETH_INFO_PEER);
    msg.putHeader(linkHeader(0, spec.peer));
    putLinkAttributes(msg, spec.peer);
    msg.endNested(peer);
    msg.endNested(data);
  } else if (spec.kind == "macvlan" && spec.mode) {
    size_t data = msg.beginNested(IFLA_INFO_DATA);
    msg.putU32(IFLA_MACVLAN_MODE, *spec.mode);
    msg.endNested(data);
  } else if (spec.kind == "ipvlan" && spec.mode) {
    size_t data = msg.beginNested(IFLA_INFO_DATA);
    msg.putU16(IFLA_IPVLAN_MODE, static_cast<uint16_t>(*spec.mode));
    msg.endNested(data);
  } else if (spec.kind == "vxlan") {
    size_t data = msg.beginNested(IFLA_INFO_DATA);
    if (spec.vxlanId) msg.putU32(IFLA_VXLAN_ID, *spec.vxlanId);
    if (spec.parentIndex) msg.putU32(IFLA_VXLAN_LINK, *spec.parentIndex);
    if (spec.vxlanPort) {
      uint16_t port = htons(*spec.vxlanPort);
      msg.putU16(IFLA_VXLAN_PORT, port);
    }
    auto putAddress = [&](const std::optional<Bytes>& address, uint16_t v4, uint16_t v6) {
      if (address) msg.putBytes(address->size() == 4 ? v4 : v6, *address);
    };
    putAddress(spec.vxlanLocal, IFLA_VXLAN_LOCAL, IFLA_VXLAN_LOCAL6);
    putAddress(spec.vxlanGroup, IFLA_VXLAN_GROUP, IFLA_VXLAN_GROUP6);
    msg.endNested(data);
  }
}

}  // namespace

Bytes encodeLinkCreate(const LinkCreate& spec) {
  MessageBuilder msg(RTM_NEWLINK, kCreate);
  msg.putHeader(linkHeader(0, spec.attrs));
  putLinkAttributes(msg, spec.attrs);
  // macvlan / ipvlan hang off their parent through IFLA_LINK.
  if (spec.parentIndex && spec.kind != "vxlan") msg.putU32(IFLA_LINK, *spec.parentIndex);
  size_t info = msg.beginNested(IFLA_LINKINFO);
  msg.putString(IFLA_INFO_KIND, spec.kind);
  putLinkInfoData(msg, spec);
  msg.endNested(info);
  return msg.finish();
}

Bytes encodeLinkChange(const LinkChange& change) {
  MessageBuilder msg(RTM_NEWLINK, NLM_F_REQUEST);
  msg.putHeader(linkHeader(change.index, change.attrs));
  putLinkAttributes(msg, change.attrs);
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
  if (filter.master) msg.putU32(IFLA_MASTER, *filter.master);
  if (filter.kind) {
    size_t info = msg.beginNested(IFLA_LINKINFO);
    msg.putString(IFLA_INFO_KIND, *filter.kind);
    msg.endNested(info);
  }
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
