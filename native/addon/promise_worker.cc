#include "promise_worker.h"

#include <cstring>

namespace nsnet {

namespace {
std::string errnoName(int error) {
  const char* name = strerrorname_np(error);
  return name ? name : "E" + std::to_string(error);
}
}  // namespace

Napi::Promise PromiseWorker::start(Napi::Env env, Work work, Finish finish) {
  auto* worker = new PromiseWorker(env, std::move(work), std::move(finish));
  Napi::Promise promise = worker->deferred_.Promise();
  worker->Queue();  // deletes itself once settled
  return promise;
}

PromiseWorker::PromiseWorker(Napi::Env env, Work work, Finish finish)
    : Napi::AsyncWorker(env, "nsnet"),
      deferred_(Napi::Promise::Deferred::New(env)),
      work_(std::move(work)),
      finish_(std::move(finish)) {}

void PromiseWorker::OnOK() {
  Napi::Env env = Env();
  if (status_.error) {
    deferred_.Reject(errnoError(env, status_).Value());
    return;
  }
  try {
    deferred_.Resolve(finish_ ? finish_(env) : env.Undefined());
  } catch (const Napi::Error& error) {
    deferred_.Reject(error.Value());
  }
}

Napi::Error errnoError(Napi::Env env, const NetlinkStatus& status) {
  std::string message = std::strerror(status.error);
  if (!status.extack.empty()) message += ": " + status.extack;
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, status.error));
  error.Set("code", Napi::String::New(env, errnoName(status.error)));
  if (!status.extack.empty()) error.Set("extack", Napi::String::New(env, status.extack));
  return error;
}

Napi::Value statusValue(Napi::Env env, const NetlinkStatus& status) {
  if (!status.error && status.echo.empty()) return env.Null();
  if (!status.error) return Napi::Buffer<uint8_t>::Copy(env, status.echo.data(), status.echo.size());
  Napi::Object object = Napi::Object::New(env);
  object.Set("errno", status.error);
  object.Set("code", errnoName(status.error));
  object.Set("message", std::strerror(status.error));
  if (!status.extack.empty()) object.Set("extack", status.extack);
  return object;
}

}  // namespace nsnet
