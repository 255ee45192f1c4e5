#include "neighbour_convert.h"

#include "js_convert.h"

namespace nsnet {

NeighbourSpec toNeighbourSpec(const Napi::Object& object) {
  NeighbourSpec spec;
  spec.family = static_cast<uint8_t>(object.Get("family").As<Napi::Number>().Uint32Value());
  spec.index = object.Get("index").As<Napi::Number>().Uint32Value();
  spec.state = static_cast<uint16_t>(object.Get("state").As<Napi::Number>().Uint32Value());
  spec.flags = static_cast<uint8_t>(object.Get("flags").As<Napi::Number>().Uint32Value());
  if (has(object, "dst")) spec.dst = addressBytes(object.Env(), object.Get("dst").As<Napi::String>().Utf8Value());
  if (has(object, "lladdr")) spec.lladdr = macBytes(object.Env(), object.Get("lladdr").As<Napi::String>().Utf8Value());
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
  object.Set("lladdr", macText(info.lladdr));
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
