#include "netlink_events.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "promise_worker.h"
#include "rtnl_events.h"

namespace nsnet {

namespace {
constexpr size_t kReceiveBufferSize = 64 * 1024;
}  // namespace

// Shared by the reader thread and the JS thread (under `mutex`, but for the
// fields marked JS thread). The reader waits in poll(): on the socket while
// the queue has room, and always on `wake`, an eventfd that close() writes,
// and take() when it makes room in a full queue. (No condition variable: its
// wait is a newer libstdc++ symbol than the prebuilt binaries may need.)
struct EventQueue {
  int fd = -1;
  int wake = -1;
  std::mutex mutex;
  std::deque<Bytes> entries;  // an entry without bytes marks a loss
  size_t messages = 0;
  int error = 0;  // a failure of the socket other than a loss, for the next next()
  bool closing = false;
  bool waiting = false;  // a next() waits: the reader wakes the JS thread
  std::thread reader;
  Bytes buffer = Bytes(kReceiveBufferSize);  // the reader's only
  // JS thread only.
  Napi::ThreadSafeFunction wakeJs;
  std::optional<Napi::Promise::Deferred> deferred;
  bool closed = false;
  napi_env env = nullptr;  // for the cleanup hook, registered while open

  // When the environment ends (a worker terminated, the process exiting)
  // with the stream open: shut down before Node tears down `wakeJs` (its own
  // hook, registered earlier, runs later), so that neither the reader nor
  // the finalizer uses it after.
  static void cleanup(void* queue) { static_cast<EventQueue*>(queue)->shut(); }

  void read();
  // Reads up to `room` messages into `got`: 0, or the socket's errno.
  int receiveAll(size_t room, std::deque<Bytes>& got);
  bool full() const { return messages >= NetlinkEvents::kQueueLimit || error; }
  bool ready() const { return !entries.empty() || error; }
  Napi::Value take(Napi::Env env);  // under the lock
  void deliver(Napi::Env env);
  void signalReader();
  void shut();
};

void EventQueue::read() {
  for (;;) {
    bool wasFull;
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (closing) return;
      wasFull = full();
    }
    pollfd fds[2] = {{wake, POLLIN, 0}, {fd, POLLIN, 0}};
    if (poll(fds, wasFull ? 1 : 2, -1) < 0) continue;  // EINTR: look again
    if (fds[0].revents) {
      uint64_t count;
      if (::read(wake, &count, sizeof count) < 0) {
        // Already cleared: nothing to do but look again.
      }
      continue;  // closing, or room made: look again
    }
    // Read without the lock, so that next() never waits on a long read (only
    // this thread adds, so the room found can only grow meanwhile), a batch
    // at a time, so that a waiting next() has the first ones soon.
    size_t room;
    {
      std::lock_guard<std::mutex> lock(mutex);
      room = std::min(NetlinkEvents::kQueueLimit - messages, NetlinkEvents::kBatchLimit);
    }
    std::deque<Bytes> got;
    int failure = receiveAll(room, got);
    bool wakeJsThread = false;
    {
      std::lock_guard<std::mutex> lock(mutex);
      for (auto& entry : got) {
        // One mark however many were lost in a row: the reader re-lists once.
        if (entry.empty() && !entries.empty() && entries.back().empty()) continue;
        messages += entry.empty() ? 0 : 1;
        entries.push_back(std::move(entry));
      }
      if (failure) error = failure;
      if (waiting && ready()) {
        waiting = false;
        wakeJsThread = true;
      }
    }
    if (wakeJsThread) wakeJs.NonBlockingCall();
  }
}

int EventQueue::receiveAll(size_t room, std::deque<Bytes>& got) {
  // Everything there, up to the room (non-blocking: EAGAIN ends it); an
  // entry without bytes marks a loss.
  for (size_t count = 0; count < room;) {
    int len = receiveEvents(fd, buffer);
    if (len == -EAGAIN) return 0;
    if (len == -ENOBUFS || len == -EMSGSIZE) {
      if (got.empty() || !got.back().empty()) got.emplace_back();
      continue;
    }
    if (len < 0) return -len;
    if (len == 0) continue;
    got.emplace_back(buffer.begin(), buffer.begin() + len);
    count++;
  }
  return 0;
}

void EventQueue::signalReader() {
  uint64_t one = 1;
  if (write(wake, &one, sizeof one) < 0) {
    // Fails only when the counter would overflow: readable then anyway.
  }
}

Napi::Value EventQueue::take(Napi::Env env) {
  if (entries.empty()) throw errnoError(env, {error});
  size_t total = 0;
  size_t count = 0;
  while (count < entries.size() && count < NetlinkEvents::kBatchLimit && !entries[count].empty())
    total += NLMSG_ALIGN(entries[count++].size());
  auto batch = Napi::Buffer<uint8_t>::New(env, total);
  uint8_t* out = batch.Data();
  for (size_t i = 0; i < count; i++) {
    const Bytes& entry = entries.front();
    std::copy(entry.begin(), entry.end(), out);
    std::fill(out + entry.size(), out + NLMSG_ALIGN(entry.size()), 0);
    out += NLMSG_ALIGN(entry.size());
    entries.pop_front();
  }
  bool wasFull = full();
  messages -= count;
  if (wasFull && !full()) signalReader();
  bool overrun = count < NetlinkEvents::kBatchLimit && !entries.empty() && entries.front().empty();
  if (overrun) entries.pop_front();
  auto result = Napi::Object::New(env);
  result.Set("messages", batch);
  result.Set("overrun", overrun);
  return result;
}

void EventQueue::deliver(Napi::Env env) {
  if (!deferred) return;
  Napi::Promise::Deferred settling = *deferred;
  deferred.reset();
  wakeJs.Unref(env);
  try {
    std::lock_guard<std::mutex> lock(mutex);
    settling.Resolve(take(env));
  } catch (const Napi::Error& error) {
    settling.Reject(error.Value());
  }
}

void EventQueue::shut() {
  if (closed) return;
  closed = true;
  {
    std::lock_guard<std::mutex> lock(mutex);
    closing = true;
    entries.clear();
    messages = 0;
  }
  signalReader();
  // The reader is in poll() (woken now) or reading without blocking: it ends at once.
  if (reader.joinable()) reader.join();
  ::close(fd);
  ::close(wake);
  wakeJs.Release();
  napi_remove_env_cleanup_hook(env, cleanup, this);
}

Napi::Function NetlinkEvents::define(Napi::Env env) {
  return DefineClass(env, "NetlinkEvents",
                     {InstanceMethod<&NetlinkEvents::next>("next"), InstanceMethod<&NetlinkEvents::close>("close")});
}

NetlinkEvents::NetlinkEvents(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<NetlinkEvents>(info), queue_(std::make_shared<EventQueue>()) {
  Napi::Env env = info.Env();
  queue_->fd = info[0].As<Napi::Number>().Int32Value();
  queue_->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (queue_->wake < 0) {
    int error = errno;
    ::close(queue_->fd);
    queue_->closed = true;
    throw errnoError(env, {error});
  }
  std::weak_ptr<EventQueue> weak = queue_;
  queue_->wakeJs = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [weak](const Napi::CallbackInfo& info) {
                                                   if (auto queue = weak.lock()) queue->deliver(info.Env());
                                                 }),
                                                 "nsnet:events", 0, 1);
  queue_->wakeJs.Unref(env);
  queue_->env = env;
  NAPI_THROW_IF_FAILED_VOID(env, napi_add_env_cleanup_hook(env, EventQueue::cleanup, queue_.get()));
  EventQueue* queue = queue_.get();
  queue_->reader = std::thread([queue] { queue->read(); });
}

NetlinkEvents::~NetlinkEvents() { queue_->shut(); }

Napi::Value NetlinkEvents::next(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (queue_->closed) {
    deferred.Resolve(env.Null());
    return deferred.Promise();
  }
  if (queue_->deferred) throw Napi::Error::New(env, "next() is already waiting");
  std::unique_lock<std::mutex> lock(queue_->mutex);
  if (queue_->ready()) {
    try {
      deferred.Resolve(queue_->take(env));
    } catch (const Napi::Error& error) {
      deferred.Reject(error.Value());
    }
    return deferred.Promise();
  }
  queue_->waiting = true;
  lock.unlock();
  queue_->deferred = deferred;
  queue_->wakeJs.Ref(env);
  return deferred.Promise();
}

Napi::Value NetlinkEvents::close(const Napi::CallbackInfo& info) {
  queue_->shut();
  if (queue_->deferred) {
    queue_->deferred->Resolve(info.Env().Null());
    queue_->deferred.reset();
  }
  return info.Env().Undefined();
}

}  // namespace nsnet
