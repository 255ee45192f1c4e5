#include "js_convert.h"

#include <arpa/inet.h>
#include <linux/rtnetlink.h>

#include <cstdio>

#include "link_schema.h"
#include "link_stats.h"

namespace nsnet {

bool has(const Napi::Object& object, const char* key) {
  return object.Has(key) && !object.Get(key).IsUndefined() && !object.Get(key).IsNull();
}

namespace {

uint32_t numberField(const Napi::Value& value, const char* field, ValueKind kind) {
  if (!value.IsNumber()) throw Napi::TypeError::New(value.Env(), std::string(field) + " must be a number");
  auto number = value.As<Napi::Number>();
  return kind == ValueKind::S32 ? static_cast<uint32_t>(number.Int32Value()) : number.Uint32Value();
}

std::string stringField(const Napi::Value& value, const char* field) {
  if (!value.IsString()) throw Napi::TypeError::New(value.Env(), std::string(field) + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

std::optional<uint32_t> optionalU32(const Napi::Object& object, const char* key) {
  if (!has(object, key)) return std::nullopt;
  return numberField(object.Get(key), key, ValueKind::U32);
}

std::optional<std::string> optionalString(const Napi::Object& object, const char* key) {
  if (!has(object, key)) return std::nullopt;
  return stringField(object.Get(key), key);
}

std::optional<Bytes> optionalAddress(const Napi::Object& object, const char* key) {
  auto text = optionalString(object, key);
  if (!text) return std::nullopt;
  return addressBytes(object.Env(), *text);
}

}  // namespace

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

namespace {

// Fills the fields of `s` that `object` has, as the rows name them.
template <typename Struct>
void readObject(const Napi::Object& object, const AttributeRows<Struct>& rows, Struct& s) {
  for (const auto& row : rows) {
    if (row.kind == ValueKind::Nested) {
      readObject(object, *row.nested, s);
      continue;
    }
    if (!has(object, row.field)) continue;
    Napi::Value value = object.Get(row.field);
    switch (row.kind) {
      case ValueKind::Flag: row.template value<bool>(s) = value.ToBoolean().Value(); break;
      case ValueKind::String: row.template value<std::string>(s) = stringField(value, row.field); break;
      case ValueKind::Mac: row.template value<Bytes>(s) = macBytes(object.Env(), stringField(value, row.field)); break;
      case ValueKind::Ip: row.template value<Bytes>(s) = addressBytes(object.Env(), stringField(value, row.field)); break;
      default: row.template value<uint32_t>(s) = numberField(value, row.field, row.kind); break;
    }
  }
}

// Sets every row's property on `object`: an absent value reads as 0 or ''
// unless its row says to leave it out.
template <typename Struct>
void writeObject(Napi::Object& object, const AttributeRows<Struct>& rows, const Struct& s) {
  Napi::Env env = object.Env();
  for (const auto& row : rows) {
    switch (row.kind) {
      case ValueKind::Nested: writeObject(object, *row.nested, s); continue;
      case ValueKind::Flag: {
        const auto& v = row.template value<bool>(s);
        if (v || !row.omitWhenAbsent) object.Set(row.field, v.value_or(false));
        continue;
      }
      case ValueKind::String: {
        const auto& v = row.template value<std::string>(s);
        if (v || !row.omitWhenAbsent) object.Set(row.field, v.value_or(std::string()));
        continue;
      }
      case ValueKind::Mac:
      case ValueKind::Ip: {
        const auto& v = row.template value<Bytes>(s);
        if (!v && row.omitWhenAbsent) continue;
        Bytes bytes = v.value_or(Bytes());
        object.Set(row.field, row.kind == ValueKind::Mac ? macText(bytes) : addressText(bytes));
        continue;
      }
      default: {
        const auto& v = row.template value<uint32_t>(s);
        if (!v && row.omitWhenAbsent) continue;
        uint32_t number = v.value_or(0);
        if (row.kind == ValueKind::S32) object.Set(row.field, Napi::Number::New(env, static_cast<int32_t>(number)));
        else object.Set(row.field, Napi::Number::New(env, number));
      }
    }
  }
}

// Counters as JavaScript numbers: exact up to 2^53 (9 PB, 9e15 packets).
Napi::Object fromLinkStats(Napi::Env env, const rtnl_link_stats64& stats) {
  Napi::Object object = Napi::Object::New(env);
  for (const auto& [field, member] : kLinkStatsFields) object.Set(field, Napi::Number::New(env, static_cast<double>(stats.*member)));
  return object;
}

}  // namespace

LinkAttributes toLinkAttributes(const Napi::Object& object) {
  LinkAttributes attrs;
  if (has(object, "up")) attrs.up = object.Get("up").ToBoolean().Value();
  readObject(object, kLinkAttributeRows, attrs);
  readObject(object, kBridgePortRows, attrs);
  return attrs;
}

LinkCreate toLinkCreate(const Napi::Object& object) {
  LinkCreate spec;
  spec.kind = stringField(object.Get("kind"), "kind");
  const LinkKindSchema* kind = findLinkKind(spec.kind);
  if (!kind) throw Napi::TypeError::New(object.Env(), "unknown link kind: " + spec.kind);
  spec.attrs = toLinkAttributes(object);
  if (kind->peer && has(object, "peer")) spec.peer = toLinkAttributes(object.Get("peer").As<Napi::Object>());
  readObject(object, kind->beside, spec);
  readObject(object, kind->data, spec);
  return spec;
}

LinkDumpFilter toLinkDumpFilter(const Napi::Object& object) {
  LinkDumpFilter filter;
  readObject(object, kLinkDumpFilterRows, filter);
  return filter;
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
  object.Set("flags", info.flags);
  writeObject(object, kLinkInfoRows, info);
  if (info.stats) object.Set("stats", fromLinkStats(env, *info.stats));
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
