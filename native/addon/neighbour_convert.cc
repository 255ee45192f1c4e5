#include "neighbour_convert.h"

#include <cstdio>

#include "js_convert.h"

namespace nsnet {

namespace {
std::string linkLayerText(const Bytes& bytes) {
  std::string text;
  char octet[4];
  for (size_t i = 0; i < bytes.size(); i++) {
    std::snprintf(octet, sizeof octet, i ? ":%02x" : "%02x", bytes[i]);
    text += octet;
  }
  return text;
}

Bytes linkLayerBytes(Napi::Env env, const std::string& text) {
  Bytes bytes;
  for (size_t i = 0; i < text.size(); i += 3) {
    unsigned int octet;
    if (std::sscanf(text.c_str() + i, "%2x", &octet) != 1 || (i + 2 < text.size() && text[i + 2] != ':'))
      throw Napi::TypeError::New(env, "invalid link-layer address: " + text);
    bytes.push_back(static_cast<uint8_t>(octet));
  }
  return bytes;
}

bool has(const Napi::Object& object, const char* key) {
  return object.Has(key) && !object.Get(key).IsUndefined() && !object.Get(key).IsNull();
}
}  // namespace

NeighbourSpec toNeighbourSpec(const Napi::Object& object) {
  NeighbourSpec spec;
  spec.family = static_cast<uint8_t>(object.Get("family").As<Napi::Number>().Uint32Value());
  spec.index = object.Get("index").As<Napi::Number>().Uint32Value();
  spec.state = static_cast<uint16_t>(object.Get("state").As<Napi::Number>().Uint32Value());
  spec.flags = static_cast<uint8_t>(object.Get("flags").As<Napi::Number>().Uint32Value());
  if (has(object, "dst")) spec.dst = addressBytes(object.Env(), object.Get("dst").As<Napi::String>().Utf8Value());
  if (has(object, "lladdr")) spec.lladdr = linkLayerBytes(object.Env(), object.Get("lladdr").As<Napi::String>().Utf8Value());
  if (has(object, "vlan")) spec.vlan = static_cast<uint16_t>(object.Get("vlan").As<Napi::Number>().Uint32Value());
  return spec;
}

Napi::Object fromNeighbourInfo(Napi::Env env, const NeighbourInfo& info) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("family", info.family);
  object.Set("index", info.index);
  object.Set("state", info.state);
  object.Set("flags", info.flags);
  object.Set("type", info.type);
  object.Set("dst", addressText(info.dst));
  object.Set("lladdr", linkLayerText(info.lladdr));
  if (info.vlan) object.Set("vlan", *info.vlan);
  if (info.master) object.Set("master", *info.master);
  return object;
}

Napi::Object fromRtnlEvent(Napi::Env env, const RtnlEvent& event) {
  Napi::Object object = Napi::Object::New(env);
  object.Set("action", event.removed ? "del" : "new");
  switch (event.kind) {
    case EventKind::Link:
      object.Set("type", "link");
      object.Set("entry", fromLinkInfo(env, event.link));
      break;
    case EventKind::Address:
      object.Set("type", "address");
      object.Set("entry", fromAddressInfo(env, event.address));
      break;
    case EventKind::Route:
      object.Set("type", "route");
      object.Set("entry", fromRouteInfo(env, event.route));
      break;
    case EventKind::Neighbour:
      object.Set("type", "neighbour");
      object.Set("entry", fromNeighbourInfo(env, event.neighbour));
      break;
  }
  return object;
}

}  // namespace nsnet
