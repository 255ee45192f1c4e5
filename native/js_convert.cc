#include "js_convert.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include <cstdio>

namespace nsnet {

namespace {

bool has(const Napi::Object& object, const char* key) {
  return object.Has(key) && !object.Get(key).IsUndefined() && !object.Get(key).IsNull();
}

std::optional<uint32_t> optionalU32(const Napi::Object& object, const char* key) {
  if (!has(object, key)) return std::nullopt;
  return object.Get(key).As<Napi::Number>().Uint32Value();
}

std::optional<std::string> optionalString(const Napi::Object& object, const char* key) {
  if (!has(object, key)) return std::nullopt;
  return object.Get(key).As<Napi::String>().Utf8Value();
}

std::optional<Bytes> optionalAddress(const Napi::Object& object, const char* key) {
  auto text = optionalString(object, key);
  if (!text) return std::nullopt;
  return addressBytes(object.Env(), *text);
}

Bytes macBytes(Napi::Env env, const std::string& text) {
  unsigned int octets[6];
  char trailing;
  if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &octets[0], &octets[1], &octets[2], &octets[3],
                  &octets[4], &octets[5], &trailing) != 6)
    throw Napi::TypeError::New(env, "invalid MAC address: " + text);
  return Bytes(octets, octets + 6);
}

std::string macText(const Bytes& bytes) {
  std::string text;
  char octet[4];
  for (size_t i = 0; i < bytes.size(); i++) {
    std::snprintf(octet, sizeof octet, i ? ":%02x" : "%02x", bytes[i]);
    text += octet;
  }
  return text;
}

}  // namespace

Bytes addressBytes(Napi::Env env, const std::string& text) {
  uint8_t buffer[16];
  if (inet_pton(AF_INET, text.c_str(), buffer) == 1) return Bytes(buffer, buffer + 4);
  if (inet_pton(AF_INET6, text.c_str(), buffer) == 1) return Bytes(buffer, buffer + 16);
  throw Napi::TypeError::New(env, "invalid IP address: " + text);
}

std::string addressText(const Bytes& bytes) {
  char text[INET6_ADDRSTRLEN] = "";
  if (bytes.size() == 4) inet_ntop(AF_INET, bytes.data(), text, sizeof text);
  if (bytes.size() == 16) inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  return text;
}

LinkAttributes toLinkAttributes(const Napi::Object& object) {
  LinkAttributes attrs;
  attrs.name = optionalString(object, "name");
  attrs.mtu = optionalU32(object, "mtu");
  if (auto mac = optionalString(object, "mac")) attrs.mac = macBytes(object.Env(), *mac);
  attrs.master = optionalU32(object, "master");
  if (has(object, "up")) attrs.up = object.Get("up").ToBoolean().Value();
  attrs.alias = optionalString(object, "alias");
  if (has(object, "netnsFd")) attrs.netnsFd = object.Get("netnsFd").As<Napi::Number>().Int32Value();
  attrs.txQueueLength = optionalU32(object, "txQueueLength");
  if (has(object, "hairpin")) attrs.hairpin = object.Get("hairpin").ToBoolean().Value();
  return attrs;
}

LinkCreate toLinkCreate(const Napi::Object& object) {
  LinkCreate spec;
  spec.kind = object.Get("kind").As<Napi::String>().Utf8Value();
  spec.attrs = toLinkAttributes(object);
  if (has(object, "peer")) spec.peer = toLinkAttributes(object.Get("peer").As<Napi::Object>());
  spec.parentIndex = optionalU32(object, "parentIndex");
  spec.mode = optionalU32(object, "mode");
  spec.vxlanId = optionalU32(object, "vxlanId");
  if (auto port = optionalU32(object, "vxlanPort")) spec.vxlanPort = static_cast<uint16_t>(*port);
  spec.vxlanLocal = optionalAddress(object, "vxlanLocal");
  spec.vxlanGroup = optionalAddress(object, "vxlanGroup");
  return spec;
}

LinkDumpFilter toLinkDumpFilter(const Napi::Object& object) {
  return {optionalU32(object, "master"), optionalString(object, "kind")};
}

AddressSpec toAddressSpec(const Napi::Object& object) {
  AddressSpec spec;
  spec.index = object.Get("index").As<Napi::Number>().Uint32Value();
  spec.address = addressBytes(object.Env(), object.Get("address").As<Napi::String>().Utf8Value());
  spec.family = spec.address.size() == 4 ? AF_INET : AF_INET6;
  spec.prefixLength = static_cast<uint8_t>(object.Get("prefixLength").As<Napi::Number>().Uint32Value());
  spec.noDad = has(object, "noDad") && object.Get("noDad").ToBoolean().Value();
  return spec;
}

RouteSpec toRouteSpec(const Napi::Object& object) {
  RouteSpec spec;
  spec.family = static_cast<uint8_t>(object.Get("family").As<Napi::Number>().Uint32Value());
  spec.dstLength = static_cast<uint8_t>(optionalU32(object, "dstLength").value_or(0));
  if (auto dst = optionalAddress(object, "dst")) spec.dst = *dst;
  if (auto gateway = optionalAddress(object, "gateway")) spec.gateway = *gateway;
  if (auto src = optionalAddress(object, "src")) spec.prefSrc = *src;
  spec.oif = optionalU32(object, "oif").value_or(0);
  spec.priority = optionalU32(object, "metric");
  spec.table = optionalU32(object, "table").value_or(RT_TABLE_MAIN);
  spec.scope = static_cast<uint8_t>(optionalU32(object, "scope").value_or(0));
  return spec;
}

RouteDumpFilter toRouteDumpFilter(const Napi::Object& object) {
  RouteDumpFilter filter;
  filter.family = static_cast<uint8_t>(optionalU32(object, "family").value_or(0));
  filter.table = optionalU32(object, "table");
  filter.oif = optionalU32(object, "oif");
  return filter;
}

Napi::Object fromLinkInfo(Napi::Env env, const LinkInfo& info) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("index", info.index);
  object.Set("name", info.name);
  object.Set("kind", info.kind);
  object.Set("mtu", info.mtu);
  object.Set("mac", macText(info.mac));
  object.Set("flags", info.flags);
  object.Set("operState", info.operState);
  object.Set("master", info.master);
  object.Set("link", info.link);
  if (info.linkNetnsId) object.Set("linkNetnsId", *info.linkNetnsId);
  object.Set("alias", info.alias);
  return object;
}

Napi::Object fromAddressInfo(Napi::Env env, const AddressInfo& info) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("family", info.family);
  object.Set("prefixLength", info.prefixLength);
  object.Set("scope", info.scope);
  object.Set("index", info.index);
  object.Set("flags", info.flags);
  object.Set("address", addressText(info.address));
  object.Set("label", info.label);
  return object;
}

Napi::Object fromRouteInfo(Napi::Env env, const RouteInfo& info) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("family", info.family);
  object.Set("dstLength", info.dstLength);
  object.Set("dst", addressText(info.dst));
  object.Set("gateway", addressText(info.gateway));
  object.Set("src", addressText(info.prefSrc));
  object.Set("oif", info.oif);
  if (info.priority) object.Set("metric", *info.priority);
  object.Set("table", info.table);
  object.Set("scope", info.scope);
  object.Set("protocol", info.protocol);
  object.Set("type", info.type);
  return object;
}

}  // namespace nsnet
