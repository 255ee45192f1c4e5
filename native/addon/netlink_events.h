// The JavaScript face of an event socket (rtnl_events.h). A reader thread of
// its own waits on the socket and queues every notification in native
// memory, up to kQueueLimit; next() hands them out in batches on the JS
// thread, woken through a thread-safe function, which keeps the process
// alive only while a next() waits. Node-API only: no libuv.
#pragma once

#include <napi.h>

#include <memory>

namespace nsnet {

struct EventQueue;

class NetlinkEvents : public Napi::ObjectWrap<NetlinkEvents> {
 public:
  // Notifications held in memory at most. Past it the socket is no longer
  // read, so the kernel's buffer fills and it reports the loss (ENOBUFS):
  // memory stays bounded whoever stops reading (some 15 MiB of the largest,
  // link notifications, about 1.9 kB each; under 1 MiB of address, route or
  // neighbour ones, 60 to 90 bytes), and a consumer is told it fell behind. 8192 holds a burst of a few thousand changes a
  // slow consumer leaves unread for a while, three times the kernel's buffer.
  static constexpr size_t kQueueLimit = 8192;
  // Messages per next() at most: one Buffer, one parse, bounded.
  static constexpr size_t kBatchLimit = 512;

  static Napi::Function define(Napi::Env env);
  // new NetlinkEvents(fd): takes the socket, starts its reader thread.
  explicit NetlinkEvents(const Napi::CallbackInfo& info);
  ~NetlinkEvents() override;

 private:
  // next(): Promise<{ messages: Buffer, overrun: boolean } | null>: the
  // notifications queued (at least one, or an overrun; kBatchLimit at most),
  // up to the first loss, which `overrun` reports; null once closed. One at a time.
  Napi::Value next(const Napi::CallbackInfo& info);
  // close(): stops the reader and closes the socket; a waiting next() gets null.
  Napi::Value close(const Napi::CallbackInfo& info);

  std::shared_ptr<EventQueue> queue_;
};

}  // namespace nsnet
