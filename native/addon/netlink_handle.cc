#include "netlink_handle.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "netns.h"
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
                      InstanceMethod<&NetlinkHandle::transactChains>("transactChains"),
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

namespace {
// A stage of a chain (transactChains): requests on a socket, or a sysctl written through
// a directory opened inside a namespace.
struct Stage {
  std::shared_ptr<NetlinkSocket> socket;
  std::vector<std::vector<uint8_t>> requests;
  // Requests for which "not there" (ENOENT, ESRCH), or "there already"
  // (EEXIST), is done, not a failure.
  std::vector<bool> goneIsDone, existsIsDone;
  int sysctlDir = -1;  // a private copy, closed with the stage
  std::string sysctlPath, sysctlValue;
  Stage() = default;
  Stage(const Stage&) = delete;  // it owns its descriptor
  Stage& operator=(const Stage&) = delete;
  ~Stage() {
    if (sysctlDir >= 0) ::close(sysctlDir);
  }
};

struct Chain {
  std::unique_ptr<Stage> own = std::make_unique<Stage>();  // the chain's first requests, on the handle's socket
  std::vector<std::unique_ptr<Stage>> stages;
};

// Reads a boolean per request from object[key] (false where absent).
std::vector<bool> flags(const Napi::Object& object, const char* key, size_t count) {
  std::vector<bool> out(count, false);
  if (!object.Has(key)) return out;
  auto given = object.Get(key).As<Napi::Array>();
  for (uint32_t j = 0; j < given.Length() && j < count; j++) out[j] = given.Get(j).ToBoolean().Value();
  return out;
}

// Reads { requests: Buffer[], goneIsDone?: boolean[], existsIsDone?: boolean[] } into `stage`.
void readRequests(const Napi::Object& object, Stage& stage) {
  auto list = object.Get("requests").As<Napi::Array>();
  for (uint32_t j = 0; j < list.Length(); j++) stage.requests.push_back(bufferBytes(list.Get(j)));
  stage.goneIsDone = flags(object, "goneIsDone", stage.requests.size());
  stage.existsIsDone = flags(object, "existsIsDone", stage.requests.size());
}

// Whether a stage's statuses stop the chain: a failure other than one its request counts as done.
bool stops(const Stage& stage, const std::vector<NetlinkStatus>& statuses) {
  for (size_t i = 0; i < statuses.size(); i++) {
    int error = statuses[i].error;
    bool gone = i < stage.goneIsDone.size() && stage.goneIsDone[i] && (error == ENOENT || error == ESRCH);
    bool exists = i < stage.existsIsDone.size() && stage.existsIsDone[i] && error == EEXIST;
    if (error && !gone && !exists) return true;
  }
  return false;
}

std::unique_ptr<Stage> toStage(Napi::Env env, const Napi::Object& object) {
  auto stage = std::make_unique<Stage>();
  if (object.Has("handle")) {
    stage->socket = Napi::ObjectWrap<NetlinkHandle>::Unwrap(object.Get("handle").As<Napi::Object>())->requireSocket(env);
    readRequests(object, *stage);
  } else {
    stage->sysctlDir = fcntl(object.Get("sysctlDir").As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 0);
    if (stage->sysctlDir < 0) throw errnoError(env, {errno, "sysctl directory"});
    stage->sysctlPath = object.Get("path").As<Napi::String>().Utf8Value();
    stage->sysctlValue = object.Get("value").As<Napi::String>().Utf8Value();
  }
  return stage;
}

// Runs a chain's stages after its own requests (whose statuses are given),
// each only while every request before it succeeded.
std::vector<std::vector<NetlinkStatus>> runStages(Chain& chain, std::vector<NetlinkStatus> first) {
  std::vector<std::vector<NetlinkStatus>> results{std::move(first)};
  bool failed = stops(*chain.own, results.back());
  for (auto& stage : chain.stages) {
    size_t count = stage->socket ? stage->requests.size() : 1;
    if (failed) {
      results.emplace_back(count, NetlinkStatus{ECANCELED});
      continue;
    }
    if (stage->socket) {
      results.push_back(stage->socket->transact(stage->requests));
    } else {
      results.push_back({NetlinkStatus::ofResult(writeSysctlAt(stage->sysctlDir, stage->sysctlPath, stage->sysctlValue))});
    }
    failed = stops(*stage, results.back());
  }
  return results;
}
}  // namespace

// transactChains(chains: { requests: Buffer[], stages: Stage[] }[]): the
// requests of every chain as one transact() (as few sendmsg calls as fit),
// then each chain's stages in order, each only while every request of that
// chain before it succeeded (an answer that the object is not there counts
// as success for a request marked in `goneIsDone`, EEXIST for one marked in
// `existsIsDone`): a stage not sent reports ECANCELED for each of its
// requests. A chain is { requests, goneIsDone?, existsIsDone? }, a stage
// { handle: NetlinkHandle, requests: Buffer[], goneIsDone?, existsIsDone? } or
// { sysctlDir: fd, path, value } (one status). All in one job, with no turn
// of the event loop in between: the namespace side of a veth is configured
// the moment it exists. Resolves to statuses[chain][stage][request], the
// chain's own requests being stage 0.
Napi::Value NetlinkHandle::transactChains(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) throw Napi::TypeError::New(env, "expected an array of chains");
  auto socket = requireSocket(env);
  auto chains = std::make_shared<std::vector<Chain>>();
  auto described = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < described.Length(); i++) {
    auto object = described.Get(i).As<Napi::Object>();
    Chain chain;
    readRequests(object, *chain.own);
    auto stages = object.Get("stages").As<Napi::Array>();
    for (uint32_t j = 0; j < stages.Length(); j++) chain.stages.push_back(toStage(env, stages.Get(j).As<Napi::Object>()));
    chains->push_back(std::move(chain));
  }
  auto results = std::make_shared<std::vector<std::vector<std::vector<NetlinkStatus>>>>();
  return PromiseWorker::start(
      env,
      [socket, chains, results] {
        std::vector<std::vector<uint8_t>> all;
        for (auto& chain : *chains) all.insert(all.end(), chain.own->requests.begin(), chain.own->requests.end());
        std::vector<NetlinkStatus> statuses = socket->transact(all);
        size_t next = 0;
        for (auto& chain : *chains) {
          std::vector<NetlinkStatus> own(statuses.begin() + next, statuses.begin() + next + chain.own->requests.size());
          next += chain.own->requests.size();
          results->push_back(runStages(chain, std::move(own)));
        }
        return NetlinkStatus{};
      },
      [results](Napi::Env env) -> Napi::Value {
        auto out = Napi::Array::New(env, results->size());
        for (uint32_t i = 0; i < results->size(); i++) {
          auto stages = Napi::Array::New(env, (*results)[i].size());
          for (uint32_t j = 0; j < (*results)[i].size(); j++) {
            auto statuses = Napi::Array::New(env, (*results)[i][j].size());
            for (uint32_t k = 0; k < (*results)[i][j].size(); k++) statuses.Set(k, statusValue(env, (*results)[i][j][k]));
            stages.Set(j, statuses);
          }
          out.Set(i, stages);
        }
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
