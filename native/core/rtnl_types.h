// Plain descriptions of rtnetlink objects: filled from JavaScript on the JS
// thread, encoded to messages, and filled back from kernel replies.
#pragma once

#include <linux/if_link.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "netlink_message.h"

namespace nsnet {

// Link structs hold their attributes as optionals, in the shapes of
// attribute_rows.h; which attribute each field is lives in link_schema.cc.

// Attributes shared by link creation and link changes.
struct LinkAttributes {
  std::optional<bool> up;  // ifi_flags in the header, not an attribute
  std::optional<std::string> name;
  std::optional<uint32_t> mtu;
  std::optional<Bytes> mac;
  std::optional<uint32_t> master;  // 0 releases the link from its master
  std::optional<std::string> alias;
  std::optional<uint32_t> group;  // the link's interface group (kept at creation, unlike the alias)
  std::optional<uint32_t> netnsFd;
  std::optional<bool> hairpin;  // as a bridge port (a change only): reflect frames back out
};

struct LinkCreate {
  std::string kind;  // a kind of link_schema.h's table
  LinkAttributes attrs;
  LinkAttributes peer;                  // veth
  std::optional<uint32_t> parentIndex;  // macvlan, ipvlan, vlan, vxlan device
  std::optional<uint32_t> mode;         // macvlan / ipvlan mode
  std::optional<uint32_t> ipvlanFlags;  // IPVLAN_F_PRIVATE, IPVLAN_F_VEPA (0: bridge)
  std::optional<uint32_t> vlanId;       // 802.1q sub-interface
  std::optional<uint32_t> vxlanId;
  std::optional<uint32_t> vxlanPort;
  std::optional<Bytes> vxlanLocal;  // 4 or 16 bytes
  std::optional<Bytes> vxlanGroup;  // remote or multicast group
  std::optional<bool> vxlanLearning;  // absent: the kernel learns
  std::optional<bool> vxlanProxy;     // answer ARP and NDP from the device's own neighbour table
};

struct LinkChange {
  uint32_t index = 0;
  LinkAttributes attrs;
};

struct LinkDumpFilter {
  std::optional<uint32_t> master;
  std::optional<std::string> kind;
};

// What a listing of links by name reads of each: a dump of a thousand links
// is 1.5 MB, most of it attributes such a listing never looks at.
struct LinkBrief {
  uint32_t index = 0;
  uint32_t flags = 0;
  std::string name;
  uint32_t master = 0;  // 0: none
};

struct LinkInfo {
  uint32_t index = 0;  // from the ifinfomsg header, as flags
  uint32_t flags = 0;
  std::optional<std::string> name;
  std::optional<std::string> kind;
  std::optional<uint32_t> mtu;
  std::optional<Bytes> mac;
  std::optional<uint32_t> operState;
  std::optional<uint32_t> master;
  std::optional<uint32_t> link;  // IFLA_LINK: a veth's peer index (in the peer's namespace)
  std::optional<uint32_t> linkNetnsId;  // the peer's namespace, as this one numbers it (signed)
  std::optional<std::string> alias;
  std::optional<uint32_t> group;
  std::optional<std::string> slaveKind;  // the kind of its master, for a port: "bridge"
  std::optional<bool> hairpin;           // a bridge port's hairpin mode (only then)
  std::optional<rtnl_link_stats64> stats;  // IFLA_STATS64, when the parse was asked for it (link_stats.h)
};

struct AddressSpec {
  uint8_t family = 0;
  uint8_t prefixLength = 0;
  uint32_t index = 0;
  Bytes address;
  bool noDad = false;
};

struct AddressInfo {
  uint8_t family = 0;
  uint8_t prefixLength = 0;
  uint8_t scope = 0;
  uint32_t index = 0;
  uint32_t flags = 0;
  Bytes address;
  std::string label;
};

struct RouteSpec {
  uint8_t family = 0;
  uint8_t dstLength = 0;
  Bytes dst;  // empty for default
  Bytes gateway;
  Bytes prefSrc;
  uint32_t oif = 0;
  std::optional<uint32_t> priority;
  uint32_t table = 254;  // RT_TABLE_MAIN
  uint8_t scope = 0;     // RT_SCOPE_UNIVERSE
  uint8_t protocol = 4;  // RTPROT_STATIC
  uint8_t type = 1;      // RTN_UNICAST
};

struct RouteDumpFilter {
  uint8_t family = 0;
  std::optional<uint32_t> table;
  std::optional<uint32_t> oif;
};

using RouteInfo = RouteSpec;

}  // namespace nsnet
