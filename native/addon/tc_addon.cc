// encodeTbfQdisc({ index, rate, burst, limit, buffer, replace? }),
// encodeIngressQdisc(index), encodeQdiscDelete(index, parent),
// encodeRedirectFilter(index, target), encodeQdiscDump(),
// encodeIngressFilterDump(index): synchronous and pure, as the other encoders.
#include "tc_addon.h"

#include <cmath>

#include "tc_encode.h"

namespace nsnet {

namespace {

// A whole number in [0, max]; the TypeScript layer has checked it, so anything else is a TypeError.
uint64_t wholeNumber(Napi::Env env, const Napi::Value& value, double max) {
  if (!value.IsNumber()) throw Napi::TypeError::New(env, "expected a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= 0 && number <= max) || std::floor(number) != number) throw Napi::TypeError::New(env, "expected a whole number in range");
  return static_cast<uint64_t>(number);
}

uint32_t u32Arg(const Napi::CallbackInfo& info, size_t i) {
  return static_cast<uint32_t>(wholeNumber(info.Env(), info[i], 4294967295.0));
}

uint32_t u32Field(const Napi::Object& object, const char* name) {
  return static_cast<uint32_t>(wholeNumber(object.Env(), object.Get(name), 4294967295.0));
}

Napi::Value bytes(Napi::Env env, const Bytes& message) {
  if (message.empty()) throw Napi::RangeError::New(env, "netlink attribute longer than 65535 bytes");
  return Napi::Buffer<uint8_t>::Copy(env, message.data(), message.size());
}

Napi::Value encodeTbfQdiscJs(const Napi::CallbackInfo& info) {
  if (!info[0].IsObject()) throw Napi::TypeError::New(info.Env(), "expected an object argument");
  auto object = info[0].As<Napi::Object>();
  TbfSpec spec;
  spec.index = u32Field(object, "index");
  spec.rate = wholeNumber(info.Env(), object.Get("rate"), 9007199254740991.0);
  spec.burst = u32Field(object, "burst");
  spec.limit = u32Field(object, "limit");
  spec.buffer = u32Field(object, "buffer");
  spec.replace = object.Get("replace").ToBoolean().Value();
  return bytes(info.Env(), encodeTbfQdisc(spec));
}

Napi::Value encodeIngressQdiscJs(const Napi::CallbackInfo& info) {
  return bytes(info.Env(), encodeIngressQdisc(u32Arg(info, 0)));
}

Napi::Value encodeQdiscDeleteJs(const Napi::CallbackInfo& info) {
  return bytes(info.Env(), encodeQdiscDelete(u32Arg(info, 0), u32Arg(info, 1)));
}

Napi::Value encodeRedirectFilterJs(const Napi::CallbackInfo& info) {
  return bytes(info.Env(), encodeRedirectFilter(u32Arg(info, 0), u32Arg(info, 1)));
}

Napi::Value encodeQdiscDumpJs(const Napi::CallbackInfo& info) { return bytes(info.Env(), encodeQdiscDump()); }

Napi::Value encodeIngressFilterDumpJs(const Napi::CallbackInfo& info) {
  return bytes(info.Env(), encodeIngressFilterDump(u32Arg(info, 0)));
}

}  // namespace

void addTrafficControl(Napi::Env env, Napi::Object exports) {
  const std::pair<const char*, Napi::Function::Callback> functions[] = {
      {"encodeTbfQdisc", encodeTbfQdiscJs},
      {"encodeIngressQdisc", encodeIngressQdiscJs},
      {"encodeQdiscDelete", encodeQdiscDeleteJs},
      {"encodeRedirectFilter", encodeRedirectFilterJs},
      {"encodeQdiscDump", encodeQdiscDumpJs},
      {"encodeIngressFilterDump", encodeIngressFilterDumpJs},
  };
  for (const auto& [name, callback] : functions) exports.Set(name, Napi::Function::New(env, callback, name));
}

}  // namespace nsnet
