// Encodes rtnetlink requests (links, addresses, routes) from plain structs.
#pragma once

#include "rtnl_types.h"

namespace nsnet {

// Empty when the kind is not one of link_schema.h's, or an attribute
// outgrew netlink's 16-bit lengths (as every encoder here).
Bytes encodeLinkCreate(const LinkCreate& spec);
// A link is named by its index, or by name when the index is 0 (for a change,
// attrs.name is then the name that identifies it, not a new one).
Bytes encodeLinkChange(const LinkChange& change);
Bytes encodeLinkDelete(uint32_t index, const std::string& name);
Bytes encodeLinkGet(uint32_t index, const std::string& name);
Bytes encodeLinkDump(const LinkDumpFilter& filter);

Bytes encodeAddress(bool add, const AddressSpec& spec);
Bytes encodeAddressDump(uint8_t family, uint32_t index);
// RTM_DELNEIGH of the entry for `address` (4 or 16 bytes) on link `index`.
Bytes encodeNeighbourDelete(uint8_t family, uint32_t index, const Bytes& address);

enum class RouteOp { Add, Replace, Delete };
Bytes encodeRoute(RouteOp op, const RouteSpec& spec);
Bytes encodeRouteDump(const RouteDumpFilter& filter);

}  // namespace nsnet
