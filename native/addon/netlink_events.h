// The JavaScript face of an event socket (rtnl_events.h): notifications read
// on the JS thread whenever the socket is readable (a uv_poll handle, so no
// read ever waits), queued here up to kQueueLimit, and handed out in batches
// by next(). The handle keeps the process alive only while a next() waits.
#pragma once

#include <napi.h>
#include <uv.h>

#include <deque>
#include <memory>
#include <optional>

#include "netlink_message.h"

namespace nsnet {

class NetlinkEvents : public Napi::ObjectWrap<NetlinkEvents> {
 public:
  // Notifications held in memory at most. Past it the socket is no longer
  // read, so the kernel's buffer fills and it reports the loss (ENOBUFS):
  // memory stays bounded (some 6 MiB of the largest, link notifications;
  // 1 MiB of addresses or routes) whoever stops reading, and a consumer is
  // told it fell behind. 8192 holds a burst that a busy event loop leaves
  // unread for a while (a few thousand changes), three times the kernel's.
  static constexpr size_t kQueueLimit = 8192;
  // Messages per next() at most: the caller turns the event loop between
  // batches, and the socket is read meanwhile.
  static constexpr size_t kBatchLimit = 512;

  static Napi::Function define(Napi::Env env);
  explicit NetlinkEvents(const Napi::CallbackInfo& info);
  ~NetlinkEvents() override;

 private:
  // next(): Promise<{ messages: Buffer, overrun: boolean, more: boolean } | null>:
  // the notifications queued (at least one, or an overrun; kBatchLimit at
  // most), up to the first loss, which `overrun` reports, and whether `more`
  // are queued; null once closed. One at a time.
  Napi::Value next(const Napi::CallbackInfo& info);
  // close(): stops reading and closes the socket; a waiting next() gets null.
  Napi::Value close(const Napi::CallbackInfo& info);

  static void onReadable(uv_poll_t* poll, int status, int events);
  void readAll();
  void startPolling();
  bool ready() const { return !queue_.empty() || error_; }
  void settle();
  Napi::Value take(Napi::Env env);
  void shut();

  // An entry without bytes marks a loss.
  std::deque<Bytes> queue_;
  size_t messagesQueued_ = 0;
  int error_ = 0;  // a failure of the socket other than a loss, for the next next()
  uv_poll_t* poll_ = nullptr;  // freed by its close callback, which closes the fd
  bool polling_ = false;
  Bytes buffer_;
  std::optional<Napi::Promise::Deferred> waiting_;
  std::unique_ptr<Napi::AsyncContext> context_;
};

}  // namespace nsnet
