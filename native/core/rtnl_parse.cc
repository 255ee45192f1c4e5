#include "rtnl_parse.h"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "link_schema.h"
#include "link_stats.h"
#include "netlink_message.h"

namespace nsnet {

namespace {

// Copies the family header, accepting a longer one (newer kernels) and
// refusing a shorter one. Returns the attributes that follow it.
template <typename Header>
bool splitFamilyMessage(const Message& message, Header& header, AttributeList& attrs) {
  if (message.payloadLen < sizeof header) return false;
  std::memcpy(&header, message.payload, sizeof header);
  size_t offset = NLMSG_ALIGN(sizeof header);
  if (offset >= message.payloadLen) return true;
  return parseAttributes(message.payload + offset, message.payloadLen - offset, attrs);
}

template <typename Info, typename ParseOne>
bool parseAll(const uint8_t* data, size_t len, uint16_t type, std::vector<Info>& out, ParseOne parseOne) {
  std::vector<Message> messages;
  if (!splitMessages(data, len, messages)) return false;
  for (const auto& message : messages) {
    if (message.header->nlmsg_type != type) continue;
    Info info;
    if (!parseOne(message, info)) return false;
    out.push_back(std::move(info));
  }
  return true;
}

bool parseLink(const Message& message, LinkInfo& info, bool withStats) {
  ifinfomsg header;
  AttributeList attrs;
  if (!splitFamilyMessage(message, header, attrs)) return false;
  info.index = static_cast<uint32_t>(header.ifi_index);
  info.flags = header.ifi_flags;
  if (!readRows(attrs, kLinkInfoRows, info)) return false;
  // Another master kind (a bond) numbers its port attributes otherwise.
  if (info.slaveKind != "bridge") info.hairpin.reset();
  if (!withStats) return true;
  if (const Attribute* stats = findAttribute(attrs, IFLA_STATS64)) {
    if (!readLinkStats(*stats, info.stats.emplace())) return false;
  }
  return true;
}

bool parseAddress(const Message& message, AddressInfo& info) {
  ifaddrmsg header;
  AttributeList attrs;
  if (!splitFamilyMessage(message, header, attrs)) return false;
  info.family = header.ifa_family;
  info.prefixLength = header.ifa_prefixlen;
  info.scope = header.ifa_scope;
  info.index = header.ifa_index;
  info.flags = header.ifa_flags;
  // IFA_LOCAL is the interface's own address; IFA_ADDRESS the peer on p2p links.
  const Attribute* local = findAttribute(attrs, IFA_LOCAL);
  const Attribute* address = local ? local : findAttribute(attrs, IFA_ADDRESS);
  if (address && !fitsKind(*address, ValueKind::Ip)) return false;
  if (address) info.address = address->bytes();
  if (const Attribute* flags = findAttribute(attrs, IFA_FLAGS)) {
    if (!fitsKind(*flags, ValueKind::U32)) return false;
    info.flags = flags->u32();
  }
  if (const Attribute* label = findAttribute(attrs, IFA_LABEL)) info.label = label->str();
  return true;
}

bool parseRoute(const Message& message, RouteInfo& info) {
  rtmsg header;
  AttributeList attrs;
  if (!splitFamilyMessage(message, header, attrs)) return false;
  info.family = header.rtm_family;
  info.dstLength = header.rtm_dst_len;
  info.table = header.rtm_table;
  info.scope = header.rtm_scope;
  info.protocol = header.rtm_protocol;
  info.type = header.rtm_type;
  for (const auto& attr : attrs) {
    bool addressField = attr.type == RTA_DST || attr.type == RTA_GATEWAY || attr.type == RTA_PREFSRC;
    bool u32Field = attr.type == RTA_OIF || attr.type == RTA_PRIORITY || attr.type == RTA_TABLE;
    if ((addressField && !fitsKind(attr, ValueKind::Ip)) || (u32Field && !fitsKind(attr, ValueKind::U32))) return false;
    switch (attr.type) {
      case RTA_DST: info.dst = attr.bytes(); break;
      case RTA_GATEWAY: info.gateway = attr.bytes(); break;
      case RTA_PREFSRC: info.prefSrc = attr.bytes(); break;
      case RTA_OIF: info.oif = attr.u32(); break;
      case RTA_PRIORITY: info.priority = attr.u32(); break;
      case RTA_TABLE: info.table = attr.u32(); break;
      default: break;
    }
  }
  return true;
}

}  // namespace

bool parseLinks(const uint8_t* data, size_t len, std::vector<LinkInfo>& out, bool withStats) {
  return parseAll(data, len, RTM_NEWLINK, out, [withStats](const Message& message, LinkInfo& info) { return parseLink(message, info, withStats); });
}

bool parseLinkBriefs(const uint8_t* data, size_t len, std::vector<LinkBrief>& out) {
  return parseAll(data, len, RTM_NEWLINK, out, [](const Message& message, LinkBrief& brief) {
    ifinfomsg header;
    AttributeList attrs;
    if (!splitFamilyMessage(message, header, attrs)) return false;
    brief.index = static_cast<uint32_t>(header.ifi_index);
    brief.flags = header.ifi_flags;
    if (const Attribute* name = findAttribute(attrs, IFLA_IFNAME)) brief.name = name->str();
    if (const Attribute* master = findAttribute(attrs, IFLA_MASTER)) brief.master = master->u32();
    return true;
  });
}

bool parseAddresses(const uint8_t* data, size_t len, std::vector<AddressInfo>& out) {
  return parseAll(data, len, RTM_NEWADDR, out, parseAddress);
}

bool parseRoutes(const uint8_t* data, size_t len, std::vector<RouteInfo>& out) {
  return parseAll(data, len, RTM_NEWROUTE, out, parseRoute);
}

bool parseLinkMessage(const Message& message, LinkInfo& info) { return parseLink(message, info, false); }
bool parseAddressMessage(const Message& message, AddressInfo& info) { return parseAddress(message, info); }
bool parseRouteMessage(const Message& message, RouteInfo& info) { return parseRoute(message, info); }

}  // namespace nsnet
