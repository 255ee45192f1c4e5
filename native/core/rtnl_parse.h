// Parses rtnetlink replies into plain structs. Messages of other types are
// skipped; a malformed message makes the whole parse fail (never a crash).
#pragma once

#include <vector>

#include "rtnl_types.h"

namespace nsnet {

// The kernel sends every link's counters (IFLA_STATS64) whatever a request
// asks; they are read only withStats.
bool parseLinks(const uint8_t* data, size_t len, std::vector<LinkInfo>& out, bool withStats = false);
// Each link's index, flags, name and master only.
bool parseLinkBriefs(const uint8_t* data, size_t len, std::vector<LinkBrief>& out);
bool parseAddresses(const uint8_t* data, size_t len, std::vector<AddressInfo>& out);
bool parseRoutes(const uint8_t* data, size_t len, std::vector<RouteInfo>& out);

// One message of each, whatever its type (a notification of a deletion
// reads as its creation does): false when malformed.
bool parseLinkMessage(const Message& message, LinkInfo& info);
bool parseAddressMessage(const Message& message, AddressInfo& info);
bool parseRouteMessage(const Message& message, RouteInfo& info);

}  // namespace nsnet
