// The JavaScript face of a NetlinkSocket: batched ACK requests and queries,
// both answered through Promises from libuv's pool.
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "netlink_socket.h"

namespace nsnet {

class NetlinkHandle : public Napi::ObjectWrap<NetlinkHandle> {
 public:
  static Napi::Function define(Napi::Env env);
  explicit NetlinkHandle(const Napi::CallbackInfo& info);
  // The socket, for a request about to be queued (also a stage of another
  // handle's chain); throws EBADF once closed.
  std::shared_ptr<NetlinkSocket> requireSocket(Napi::Env env) const;

 private:
  // transact(requests: Buffer[]): Promise<(null | {errno, code, extack})[]>
  Napi::Value transact(const Napi::CallbackInfo& info);
  // batch(requests: Buffer[]): like transact, as one nfnetlink transaction
  Napi::Value batch(const Napi::CallbackInfo& info);
  // transactChains(chains): Promise<statuses[][][]>, see netlink_handle.cc
  Napi::Value transactChains(const Napi::CallbackInfo& info);
  // query(request: Buffer): Promise<Buffer> with every reply message
  Napi::Value query(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);

  Napi::Value sendAll(const Napi::CallbackInfo& info, bool asBatch);

  // Shared with in-flight workers, so close() never frees a socket in use.
  std::shared_ptr<NetlinkSocket> socket_;
};

}  // namespace nsnet
