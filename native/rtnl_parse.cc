#include "rtnl_parse.h"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <cstring>

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

// Fixed-size values must be at least that long; addresses exactly 4 or 16 bytes.
bool longEnough(const Attribute& attr, size_t size) { return attr.len >= size; }
bool isAddress(const Attribute& attr) { return attr.len == 4 || attr.len == 16; }

bool parseLinkInfo(const Attribute& linkInfo, LinkInfo& info) {
  AttributeList nested;
  if (!parseAttributes(linkInfo.data, linkInfo.len, nested)) return false;
  if (const Attribute* kind = findAttribute(nested, IFLA_INFO_KIND)) info.kind = kind->str();
  return true;
}

bool parseLink(const Message& message, LinkInfo& info) {
  ifinfomsg header;
  AttributeList attrs;
  if (!splitFamilyMessage(message, header, attrs)) return false;
  info.index = static_cast<uint32_t>(header.ifi_index);
  info.flags = header.ifi_flags;
  for (const auto& attr : attrs) {
    bool u32Field = attr.type == IFLA_MTU || attr.type == IFLA_MASTER || attr.type == IFLA_LINK ||
                    attr.type == IFLA_LINK_NETNSID;
    if ((u32Field && !longEnough(attr, 4)) || (attr.type == IFLA_OPERSTATE && !longEnough(attr, 1))) return false;
    switch (attr.type) {
      case IFLA_IFNAME: info.name = attr.str(); break;
      case IFLA_MTU: info.mtu = attr.u32(); break;
      case IFLA_ADDRESS: info.mac = attr.bytes(); break;
      case IFLA_OPERSTATE: info.operState = attr.u8(); break;
      case IFLA_MASTER: info.master = attr.u32(); break;
      case IFLA_LINK: info.link = attr.u32(); break;
      case IFLA_LINK_NETNSID: info.linkNetnsId = static_cast<int32_t>(attr.u32()); break;
      case IFLA_IFALIAS: info.alias = attr.str(); break;
      case IFLA_LINKINFO:
        if (!parseLinkInfo(attr, info)) return false;
        break;
      default: break;  // kept by the attribute parser, not needed here
    }
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
  if (address && !isAddress(*address)) return false;
  if (address) info.address = address->bytes();
  if (const Attribute* flags = findAttribute(attrs, IFA_FLAGS)) {
    if (!longEnough(*flags, 4)) return false;
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
    if ((addressField && !isAddress(attr)) || (u32Field && !longEnough(attr, 4))) return false;
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

bool parseLinks(const uint8_t* data, size_t len, std::vector<LinkInfo>& out) {
  return parseAll(data, len, RTM_NEWLINK, out, parseLink);
}

bool parseAddresses(const uint8_t* data, size_t len, std::vector<AddressInfo>& out) {
  return parseAll(data, len, RTM_NEWADDR, out, parseAddress);
}

bool parseRoutes(const uint8_t* data, size_t len, std::vector<RouteInfo>& out) {
  return parseAll(data, len, RTM_NEWROUTE, out, parseRoute);
}

}  // namespace nsnet
