// Neighbour entries: ARP (AF_INET) and NDP (AF_INET6) entries, and bridge
// forwarding database entries (AF_BRIDGE) of a bridge or of a VXLAN device.
// Their requests (RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH) and their reading.
#pragma once

#include <optional>
#include <vector>

#include "netlink_message.h"

namespace nsnet {

struct NeighbourSpec {
  uint8_t family = 0;  // AF_INET, AF_INET6, AF_BRIDGE
  uint32_t index = 0;
  uint16_t state = 0;  // NUD_*
  uint8_t flags = 0;   // NTF_*
  Bytes dst;           // NDA_DST: the IP address (ARP/NDP), the remote (VXLAN FDB); may be empty for FDB
  Bytes lladdr;        // NDA_LLADDR; may be empty (an ARP/NDP delete)
  std::optional<uint16_t> vlan;
};

struct NeighbourInfo {
  uint8_t family = 0;
  uint32_t index = 0;
  uint16_t state = 0;
  uint8_t flags = 0;
  uint8_t type = 0;
  Bytes dst;     // empty, 4 or 16 bytes
  Bytes lladdr;  // empty, or up to 32 bytes (MAX_ADDR_LEN)
  std::optional<uint16_t> vlan;
  std::optional<uint32_t> master;  // NDA_MASTER: the bridge of a port's FDB entry
};

// add: create, failing when the entry exists; replace: create or change;
// append: one more remote for an FDB entry (a VXLAN device's flood list).
enum class NeighbourOp { Add, Replace, Append, Delete };

// Empty when an address is neither empty nor of a length netlink carries.
Bytes encodeNeighbour(NeighbourOp op, const NeighbourSpec& spec);
// A dump of one family's entries (AF_UNSPEC: ARP and NDP), of one link when index > 0.
Bytes encodeNeighbourDump(uint8_t family, uint32_t index);

// One RTM_NEWNEIGH or RTM_DELNEIGH message; false when malformed.
bool parseNeighbourMessage(const Message& message, NeighbourInfo& info);
// Every RTM_NEWNEIGH of a reply; false when one is malformed.
bool parseNeighbours(const uint8_t* data, size_t len, std::vector<NeighbourInfo>& out);

}  // namespace nsnet
