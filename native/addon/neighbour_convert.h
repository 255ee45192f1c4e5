// Conversions of neighbour entries and of rtnetlink notifications between
// JavaScript values and the plain structs of rtnl_neighbour.h and
// rtnl_events.h. Input has been validated by the TypeScript layer.
#pragma once

#include <napi.h>

#include "rtnl_events.h"
#include "rtnl_neighbour.h"

namespace nsnet {

// { family, index, state, flags, dst?, lladdr?, vlan? }
NeighbourSpec toNeighbourSpec(const Napi::Object& object);
// { family, index, state, flags, type, dst, lladdr, vlan?, master? }
Napi::Object fromNeighbourInfo(Napi::Env env, const NeighbourInfo& info);
// { type: 'link' | 'address' | 'route' | 'neighbour', action: 'new' | 'del', entry }
// where entry is what parseLinks, parseAddresses, parseRoutes or parseNeighbours return.
Napi::Object fromRtnlEvent(Napi::Env env, const RtnlEvent& event);

}  // namespace nsnet
