// Runs blocking work on libuv's pool and settles a Promise on the JS thread.
// The work must not change the thread's namespace (see netns.h for that).
#pragma once

#include <napi.h>

#include <functional>
#include <string>

#include "result.h"

namespace nsnet {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<NetlinkStatus()>;
  using Finish = std::function<Napi::Value(Napi::Env)>;

  static Napi::Promise start(Napi::Env env, Work work, Finish finish);

 private:
  PromiseWorker(Napi::Env env, Work work, Finish finish);
  void Execute() override { status_ = work_(); }
  void OnOK() override;

  Napi::Promise::Deferred deferred_;
  Work work_;
  Finish finish_;
  NetlinkStatus status_;
};

// A JS Error for a kernel errno: { errno, code: 'EEXIST', extack? }.
Napi::Error errnoError(Napi::Env env, const NetlinkStatus& status);

// The same as a plain object (for per-request results of a batch); a success
// is null, or a Buffer with what the kernel echoed.
Napi::Value statusValue(Napi::Env env, const NetlinkStatus& status);

}  // namespace nsnet
