// Plain descriptions of rtnetlink objects: filled from JavaScript on the JS
// thread, encoded to messages, and filled back from kernel replies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nsnet {

using Bytes = std::vector<uint8_t>;

// Attributes shared by link creation and link changes.
struct LinkAttributes {
  std::optional<std::string> name;
  std::optional<uint32_t> mtu;
  std::optional<Bytes> mac;
  std::optional<uint32_t> master;  // 0 releases the link from its master
  std::optional<bool> up;
  std::optional<std::string> alias;
  std::optional<int> netnsFd;
  std::optional<uint32_t> txQueueLength;
  std::optional<bool> hairpin;  // as a bridge port: reflect frames back out
};

struct LinkCreate {
  std::string kind;  // veth, bridge, dummy, vxlan, macvlan, ipvlan
  LinkAttributes attrs;
  LinkAttributes peer;                   // veth
  std::optional<uint32_t> parentIndex;   // macvlan, ipvlan, vxlan device
  std::optional<uint32_t> mode;          // macvlan / ipvlan mode
  std::optional<uint32_t> vxlanId;
  std::optional<uint16_t> vxlanPort;
  std::optional<Bytes> vxlanLocal;       // 4 or 16 bytes
  std::optional<Bytes> vxlanGroup;       // remote or multicast group
};

struct LinkChange {
  uint32_t index = 0;
  LinkAttributes attrs;
};

struct LinkDumpFilter {
  std::optional<uint32_t> master;
  std::optional<std::string> kind;
};

struct LinkInfo {
  uint32_t index = 0;
  std::string name;
  std::string kind;
  uint32_t mtu = 0;
  Bytes mac;
  uint32_t flags = 0;
  uint8_t operState = 0;
  uint32_t master = 0;
  uint32_t link = 0;  // IFLA_LINK: a veth's peer index (in the peer's namespace)
  std::optional<int32_t> linkNetnsId;
  std::string alias;
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
