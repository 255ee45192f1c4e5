// Conversions between JavaScript values and the plain rtnetlink structs, the
// one path between them: links through the rows of link_schema.h, so that a
// link attribute's JavaScript property is named where its attribute is.
// Runs on the JS thread; input has been validated by the TypeScript layer,
// and anything still malformed throws a TypeError here.
#pragma once

#include <napi.h>

#include "rtnl_types.h"

namespace nsnet {

LinkAttributes toLinkAttributes(const Napi::Object& object);
LinkCreate toLinkCreate(const Napi::Object& object);
LinkDumpFilter toLinkDumpFilter(const Napi::Object& object);
AddressSpec toAddressSpec(const Napi::Object& object);
RouteSpec toRouteSpec(const Napi::Object& object);
RouteDumpFilter toRouteDumpFilter(const Napi::Object& object);

Napi::Object fromLinkInfo(Napi::Env env, const LinkInfo& info);
Napi::Object fromAddressInfo(Napi::Env env, const AddressInfo& info);
Napi::Object fromRouteInfo(Napi::Env env, const RouteInfo& info);

// Whether `object` has `key` set to something other than undefined or null.
bool has(const Napi::Object& object, const char* key);

// Bytes of an address in text form ("10.0.0.1", "fd00::1"); throws if invalid.
Bytes addressBytes(Napi::Env env, const std::string& text);
std::string addressText(const Bytes& bytes);
// A link-layer address: "aa:bb:cc:dd:ee:ff" as 6 bytes (throws if invalid),
// and any bytes as colon-separated hex.
Bytes macBytes(Napi::Env env, const std::string& text);
std::string macText(const Bytes& bytes);

}  // namespace nsnet
