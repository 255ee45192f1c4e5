#include "netlink_events.h"

#include <errno.h>
#include <unistd.h>

#include "promise_worker.h"
#include "rtnl_events.h"

namespace nsnet {

namespace {
constexpr size_t kReceiveBufferSize = 64 * 1024;

// The poll handle and the descriptor it watches.
struct PollHandle {
  uv_poll_t poll;
  int fd;
};

// Closing a poll handle takes the descriptor out of the event loop at once
// (only the memory waits for the callback), so the descriptor closes now:
// the socket is gone when close() returns.
void closePoll(uv_poll_t* poll) {
  poll->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(poll), [](uv_handle_t* handle) { delete reinterpret_cast<PollHandle*>(handle); });
  ::close(reinterpret_cast<PollHandle*>(poll)->fd);
}
}  // namespace

Napi::Function NetlinkEvents::define(Napi::Env env) {
  return DefineClass(env, "NetlinkEvents",
                     {InstanceMethod<&NetlinkEvents::next>("next"), InstanceMethod<&NetlinkEvents::close>("close")});
}

NetlinkEvents::NetlinkEvents(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<NetlinkEvents>(info), buffer_(kReceiveBufferSize) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    ::close(fd);
    throw Napi::Error::New(env, "no event loop");
  }
  auto* handle = new PollHandle{{}, fd};
  if (int error = uv_poll_init(loop, &handle->poll, fd)) {
    ::close(fd);
    delete handle;
    throw errnoError(env, {-error});
  }
  poll_ = &handle->poll;
  poll_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  context_ = std::make_unique<Napi::AsyncContext>(env, "nsnet:events");
  startPolling();
}

NetlinkEvents::~NetlinkEvents() { shut(); }

void NetlinkEvents::startPolling() {
  if (polling_ || !poll_ || error_) return;
  if (int error = uv_poll_start(poll_, UV_READABLE, onReadable)) {
    error_ = -error;  // libuv's errors are -errno
    return;
  }
  polling_ = true;
}

void NetlinkEvents::onReadable(uv_poll_t* poll, int status, int) {
  auto* self = static_cast<NetlinkEvents*>(poll->data);
  if (!self) return;
  // libuv reports a pending socket error (POLLERR: the kernel's ENOBUFS) as
  // UV_EBADF and stops the handle; reading takes the error, then goes on.
  if (status < 0) self->polling_ = false;
  self->readAll();
  self->settle();
}

void NetlinkEvents::readAll() {
  int fd = reinterpret_cast<PollHandle*>(poll_)->fd;
  while (messagesQueued_ < kQueueLimit && !error_) {
    int got = receiveEvents(fd, buffer_);
    if (got == -EAGAIN) break;
    if (got == -ENOBUFS || got == -EMSGSIZE) {
      // One mark however many were lost in a row: the reader re-lists once.
      if (queue_.empty() || !queue_.back().empty()) queue_.emplace_back();
      continue;
    }
    if (got < 0) error_ = -got;
    if (got <= 0) continue;
    queue_.emplace_back(buffer_.begin(), buffer_.begin() + got);
    messagesQueued_++;
  }
  if (messagesQueued_ < kQueueLimit && !error_) {
    startPolling();
    return;
  }
  // Full, or failed: the kernel's buffer takes what comes until next() makes room.
  uv_poll_stop(poll_);
  polling_ = false;
}

void NetlinkEvents::settle() {
  if (!waiting_ || !ready()) return;
  Napi::Env env = Env();
  Napi::HandleScope scope(env);
  // Promise reactions run as this scope closes, as after any callback from libuv.
  Napi::CallbackScope callbackScope(env, *context_);
  Napi::Promise::Deferred deferred = *waiting_;
  waiting_.reset();
  uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  try {
    deferred.Resolve(take(env));
  } catch (const Napi::Error& error) {
    deferred.Reject(error.Value());
  }
}

Napi::Value NetlinkEvents::take(Napi::Env env) {
  if (queue_.empty()) {
    int error = error_;
    throw errnoError(env, {error});
  }
  size_t total = 0;
  size_t count = 0;
  while (count < queue_.size() && count < kBatchLimit && !queue_[count].empty()) total += NLMSG_ALIGN(queue_[count++].size());
  auto messages = Napi::Buffer<uint8_t>::New(env, total);
  size_t offset = 0;
  for (size_t i = 0; i < count; i++) {
    std::copy(queue_.front().begin(), queue_.front().end(), messages.Data() + offset);
    std::fill(messages.Data() + offset + queue_.front().size(), messages.Data() + offset + NLMSG_ALIGN(queue_.front().size()), 0);
    offset += NLMSG_ALIGN(queue_.front().size());
    queue_.pop_front();
  }
  messagesQueued_ -= count;
  bool overrun = count < kBatchLimit && !queue_.empty() && queue_.front().empty();
  if (overrun) queue_.pop_front();
  startPolling();
  auto result = Napi::Object::New(env);
  result.Set("messages", messages);
  result.Set("overrun", overrun);
  result.Set("more", !queue_.empty());
  return result;
}

Napi::Value NetlinkEvents::next(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (!poll_) {
    deferred.Resolve(env.Null());
  } else if (waiting_) {
    throw Napi::Error::New(env, "next() is already waiting");
  } else if (ready()) {
    try {
      deferred.Resolve(take(env));
    } catch (const Napi::Error& error) {
      deferred.Reject(error.Value());
    }
  } else {
    waiting_ = deferred;
    uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
  }
  return deferred.Promise();
}

Napi::Value NetlinkEvents::close(const Napi::CallbackInfo& info) {
  shut();
  if (waiting_) {
    waiting_->Resolve(info.Env().Null());
    waiting_.reset();
  }
  return info.Env().Undefined();
}

void NetlinkEvents::shut() {
  if (!poll_) return;
  closePoll(poll_);
  poll_ = nullptr;
  polling_ = false;
  queue_.clear();
  messagesQueued_ = 0;
}

}  // namespace nsnet
