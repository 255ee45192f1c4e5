#include "netlink_handle.h"

#include <errno.h>

#include "nft_encode.h"
#include "promise_worker.h"

namespace nsnet {

namespace {
std::vector<uint8_t> bufferBytes(const Napi::Value& value) {
  if (!value.IsBuffer()) throw Napi::TypeError::New(value.Env(), "expected a Buffer");
  auto buffer = value.As<Napi::Buffer<uint8_t>>();
  if (buffer.Length() < 16) throw Napi::TypeError::New(value.Env(), "netlink request too short");
  return std::vector<uint8_t>(buffer.Data(), buffer.Data() + buffer.Length());
}
}  // namespace

Napi::Function NetlinkHandle::define(Napi::Env env) {
  return DefineClass(env, "NetlinkHandle",
                     {InstanceMethod<&NetlinkHandle::transact>("transact"),
                      InstanceMethod<&NetlinkHandle::batch>("batch"),
                      InstanceMethod<&NetlinkHandle::query>("query"),
                      InstanceMethod<&NetlinkHandle::close>("close")});
}

NetlinkHandle::NetlinkHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NetlinkHandle>(info) {
  socket_ = std::make_shared<NetlinkSocket>(info[0].As<Napi::Number>().Int32Value());
}

Napi::Value NetlinkHandle::transact(const Napi::CallbackInfo& info) {
  return sendAll(info, false);
}

Napi::Value NetlinkHandle::batch(const Napi::CallbackInfo& info) {
  return sendAll(info, true);
}

Napi::Value NetlinkHandle::sendAll(const Napi::CallbackInfo& info, bool asBatch) {
  if (!info[0].IsArray()) throw Napi::TypeError::New(info.Env(), "expected an array of Buffers");
  auto array = info[0].As<Napi::Array>();
  auto requests = std::make_shared<std::vector<std::vector<uint8_t>>>();
  for (uint32_t i = 0; i < array.Length(); i++) requests->push_back(bufferBytes(array.Get(i)));
  auto results = std::make_shared<std::vector<NetlinkStatus>>();
  auto socket = requireSocket(info.Env());
  return PromiseWorker::start(
      info.Env(),
      [socket, requests, results, asBatch] {
        *results = asBatch ? socket->transactBatch(encodeBatchBegin(), *requests, encodeBatchEnd())
                           : socket->transact(*requests);
        return NetlinkStatus{};
      },
      [results](Napi::Env env) -> Napi::Value {
        auto out = Napi::Array::New(env, results->size());
        for (uint32_t i = 0; i < results->size(); i++) out.Set(i, statusValue(env, (*results)[i]));
        return out;
      });
}

Napi::Value NetlinkHandle::query(const Napi::CallbackInfo& info) {
  auto request = std::make_shared<std::vector<uint8_t>>(bufferBytes(info[0]));
  auto replies = std::make_shared<std::vector<uint8_t>>();
  auto socket = requireSocket(info.Env());
  return PromiseWorker::start(
      info.Env(), [socket, request, replies] { return socket->query(*request, *replies); },
      [replies](Napi::Env env) -> Napi::Value {
        return Napi::Buffer<uint8_t>::Copy(env, replies->data(), replies->size());
      });
}

Napi::Value NetlinkHandle::close(const Napi::CallbackInfo& info) {
  // The fd closes when the last in-flight request lets go of the socket;
  // waiting for it here would block the event loop.
  socket_.reset();
  return info.Env().Undefined();
}

std::shared_ptr<NetlinkSocket> NetlinkHandle::requireSocket(Napi::Env env) const {
  if (!socket_) throw errnoError(env, {EBADF, "netlink socket is closed"});
  return socket_;
}

}  // namespace nsnet
