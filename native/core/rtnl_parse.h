// Parses rtnetlink replies into plain structs. Messages of other types are
// skipped; a malformed message makes the whole parse fail (never a crash).
#pragma once

#include <vector>

#include "rtnl_types.h"

namespace nsnet {

bool parseLinks(const uint8_t* data, size_t len, std::vector<LinkInfo>& out);
bool parseAddresses(const uint8_t* data, size_t len, std::vector<AddressInfo>& out);
bool parseRoutes(const uint8_t* data, size_t len, std::vector<RouteInfo>& out);

}  // namespace nsnet
