// Module entry: namespaces, netlink sockets, rtnetlink encoders and parsers,
// and flock. Everything that may block returns a Promise settled off the JS
// thread; state files, which take microseconds, are read and written on it.
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <napi.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>

#include "js_convert.h"
#include "namespace_move.h"
#include "namespace_pids.h"
#include "neighbour_convert.h"
#include "netlink_events.h"
#include "netlink_handle.h"
#include "netlink_message.h"
#include "netns.h"
#include "nft_encode.h"
#include "promise_worker.h"
#include "rtnl_encode.h"
#include "rtnl_parse.h"
#include "state_files.h"
#include "tc_addon.h"

namespace nsnet {

namespace {

struct AddonData {
  Napi::FunctionReference netlinkHandle;
  Napi::FunctionReference netlinkEvents;
};

std::string stringArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsString()) throw Napi::TypeError::New(info.Env(), "expected a string argument");
  return info[i].As<Napi::String>().Utf8Value();
}

bool optionalBoolArg(const Napi::CallbackInfo& info, size_t i, bool fallback) {
  if (info.Length() <= i || info[i].IsUndefined()) return fallback;
  if (!info[i].IsBoolean()) throw Napi::TypeError::New(info.Env(), "expected a boolean argument");
  return info[i].As<Napi::Boolean>().Value();
}

int32_t intArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "expected a number argument");
  return info[i].As<Napi::Number>().Int32Value();
}

Napi::Object objectArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsObject()) throw Napi::TypeError::New(info.Env(), "expected an object argument");
  return info[i].As<Napi::Object>();
}

// A built message; empty means an attribute was too long for netlink.
Napi::Value bytesValue(Napi::Env env, const Bytes& bytes) {
  if (bytes.empty()) throw Napi::RangeError::New(env, "netlink attribute longer than 65535 bytes");
  return Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
}

// A copy of a Buffer argument: Node's pooled Buffers may be unaligned.
Bytes bufferArg(const Napi::CallbackInfo& info, size_t i) {
  if (!info[i].IsBuffer()) throw Napi::TypeError::New(info.Env(), "expected a Buffer argument");
  auto buffer = info[i].As<Napi::Buffer<uint8_t>>();
  return Bytes(buffer.Data(), buffer.Data() + buffer.Length());
}

[[noreturn]] void throwMalformed(Napi::Env env) {
  throw errnoError(env, {EBADMSG, "malformed netlink message"});
}

// A private copy of a descriptor argument, of a namespace or of a directory
// inside one (-1 stays -1, "this process's namespace"), taken on the JS thread: the caller may close its own
// descriptor, and the number be reused, before the work runs.
class NamespaceFd {
 public:
  NamespaceFd(const Napi::CallbackInfo& info, size_t i) {
    int fd = intArg(info, i);
    if (fd < 0) return;
    fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (fd_ < 0) throw errnoError(info.Env(), {errno, "namespace descriptor"});
  }
  ~NamespaceFd() {
    if (fd_ >= 0) close(fd_);
  }
  NamespaceFd(const NamespaceFd&) = delete;
  NamespaceFd& operator=(const NamespaceFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

// --- namespaces -----------------------------------------------------------

Napi::Value newNetlinkHandle(Napi::Env env, int fd) {
  return env.GetInstanceData<AddonData>()->netlinkHandle.New({Napi::Number::New(env, fd)});
}

// createNamespace(bindPath: string, sysctlDirs = true): Promise<{ fd, rtnl, ipv4Conf, ipv6Conf }>;
// '' for an unnamed one. `rtnl` is a NetlinkHandle on a rtnetlink socket
// opened inside it; ipv4Conf and ipv6Conf are its sysctl directories (-1:
// none, or not asked for).
Napi::Value createNamespaceJs(const Napi::CallbackInfo& info) {
  auto path = stringArg(info, 0);
  struct Created {
    int fd = -1;
    InsideFds inside;
  };
  auto created = std::make_shared<Created>();
  created->inside.sysctlDirs = optionalBoolArg(info, 1, true);
  return PromiseWorker::start(
      info.Env(),
      [path, created] {
        created->fd = createNamespace(path, NETLINK_ROUTE, &created->inside);
        return NetlinkStatus::ofResult(created->fd);
      },
      [created](Napi::Env env) -> Napi::Value {
        auto result = Napi::Object::New(env);
        result.Set("fd", created->fd);
        result.Set("rtnl", newNetlinkHandle(env, created->inside.netlink));
        result.Set("ipv4Conf", created->inside.ipv4Conf);
        result.Set("ipv6Conf", created->inside.ipv6Conf);
        return result;
      });
}

Napi::Value shareNamespaceDirectoryJs(const Napi::CallbackInfo& info) {
  auto dir = stringArg(info, 0);
  return PromiseWorker::start(info.Env(), [dir] { return NetlinkStatus::ofResult(shareNamespaceDirectory(dir)); }, nullptr);
}

// removeNamespaceMount(path): Promise<void>, off the JS thread: an unmount
// takes microseconds as a rule, but now and then milliseconds (the kernel
// waits for readers of the mount table), more so in a burst.
Napi::Value removeNamespaceMountJs(const Napi::CallbackInfo& info) {
  auto path = stringArg(info, 0);
  return PromiseWorker::start(info.Env(), [path] { return NetlinkStatus::ofResult(removeNamespaceMount(path)); }, nullptr);
}

// bindNamespaceMountSync(from, to): on the JS thread, as the state files: microseconds.
Napi::Value bindNamespaceMountSyncJs(const Napi::CallbackInfo& info) {
  int result = bindNamespaceMount(stringArg(info, 0), stringArg(info, 1));
  if (result < 0) throw errnoError(info.Env(), NetlinkStatus::ofResult(result));
  return info.Env().Undefined();
}

// processNamespaces(): Promise<{ pids: number[], inodes: number[] }>, each
// process and the inode of its network namespace.
Napi::Value processNamespacesJs(const Napi::CallbackInfo& info) {
  auto found = std::make_shared<std::vector<ProcessNamespace>>();
  return PromiseWorker::start(
      info.Env(), [found] { return NetlinkStatus::ofResult(processNamespaces(*found)); },
      [found](Napi::Env env) {
        auto pids = Napi::Array::New(env, found->size());
        auto inodes = Napi::Array::New(env, found->size());
        for (size_t i = 0; i < found->size(); i++) {
          pids.Set(i, Napi::Number::New(env, (*found)[i].pid));
          inodes.Set(i, Napi::Number::New(env, static_cast<double>((*found)[i].inode)));
        }
        auto result = Napi::Object::New(env);
        result.Set("pids", pids);
        result.Set("inodes", inodes);
        return result;
      });
}

// readSysctl(netnsFd, path): Promise<string>
Napi::Value readSysctlJs(const Napi::CallbackInfo& info) {
  auto netns = std::make_shared<NamespaceFd>(info, 0);
  auto path = stringArg(info, 1);
  auto value = std::make_shared<std::string>();
  return PromiseWorker::start(
      info.Env(), [netns, path, value] { return NetlinkStatus::ofResult(readSysctl(netns->get(), path, *value)); },
      [value](Napi::Env env) { return Napi::String::New(env, *value); });
}

// writeSysctl(netnsFd, path, value): Promise<void>
Napi::Value writeSysctlJs(const Napi::CallbackInfo& info) {
  auto netns = std::make_shared<NamespaceFd>(info, 0);
  auto path = stringArg(info, 1);
  auto value = stringArg(info, 2);
  return PromiseWorker::start(
      info.Env(), [netns, path, value] { return NetlinkStatus::ofResult(writeSysctl(netns->get(), path, value)); }, nullptr);
}

// readSysctlAt(dirFd, path): Promise<string>, through a sysctl directory
// opened inside a namespace: no thread of its own, no setns. Off the JS
// thread still: a write may wait for the rtnl lock.
Napi::Value readSysctlAtJs(const Napi::CallbackInfo& info) {
  auto dir = std::make_shared<NamespaceFd>(info, 0);
  auto path = stringArg(info, 1);
  auto value = std::make_shared<std::string>();
  return PromiseWorker::start(
      info.Env(), [dir, path, value] { return NetlinkStatus::ofResult(readSysctlAt(dir->get(), path, *value)); },
      [value](Napi::Env env) { return Napi::String::New(env, *value); });
}

// writeSysctlAt(dirFd, path, value): Promise<void>, likewise.
Napi::Value writeSysctlAtJs(const Napi::CallbackInfo& info) {
  auto dir = std::make_shared<NamespaceFd>(info, 0);
  auto path = stringArg(info, 1);
  auto value = stringArg(info, 2);
  return PromiseWorker::start(
      info.Env(), [dir, path, value] { return NetlinkStatus::ofResult(writeSysctlAt(dir->get(), path, value)); }, nullptr);
}

// openNetlink(netnsFd, protocol): Promise<NetlinkHandle>
Napi::Value openNetlinkJs(const Napi::CallbackInfo& info) {
  auto netns = std::make_shared<NamespaceFd>(info, 0);
  int protocol = intArg(info, 1);
  auto fd = std::make_shared<int>(-1);
  return PromiseWorker::start(
      info.Env(),
      [netns, protocol, fd] {
        *fd = openNetlinkIn(netns->get(), protocol);
        return NetlinkStatus::ofResult(*fd);
      },
      [fd](Napi::Env env) { return newNetlinkHandle(env, *fd); });
}

// openRtnl(netnsFd): Promise<{ rtnl, ipv4Conf, ipv6Conf }>, opened from one
// thread inside the namespace, as createNamespace opens them.
Napi::Value openRtnlJs(const Napi::CallbackInfo& info) {
  auto netns = std::make_shared<NamespaceFd>(info, 0);
  auto inside = std::make_shared<InsideFds>();
  return PromiseWorker::start(
      info.Env(), [netns, inside] { return NetlinkStatus::ofResult(openInside(netns->get(), inside.get())); },
      [inside](Napi::Env env) -> Napi::Value {
        auto result = Napi::Object::New(env);
        result.Set("rtnl", newNetlinkHandle(env, inside->netlink));
        result.Set("ipv4Conf", inside->ipv4Conf);
        result.Set("ipv6Conf", inside->ipv6Conf);
        return result;
      });
}

// openEvents(netnsFd, groups: number[]): Promise<NetlinkEvents>, a socket
// opened inside the namespace that has joined the RTNLGRP_* `groups`.
Napi::Value openEventsJs(const Napi::CallbackInfo& info) {
  auto netns = std::make_shared<NamespaceFd>(info, 0);
  if (!info[1].IsArray()) throw Napi::TypeError::New(info.Env(), "expected an array of groups");
  auto list = info[1].As<Napi::Array>();
  std::vector<uint32_t> groups;
  for (uint32_t i = 0; i < list.Length(); i++) groups.push_back(list.Get(i).As<Napi::Number>().Uint32Value());
  auto fd = std::make_shared<int>(-1);
  return PromiseWorker::start(
      info.Env(),
      [netns, groups, fd] {
        *fd = openEventSocket(netns->get(), groups);
        return NetlinkStatus::ofResult(*fd);
      },
      [fd](Napi::Env env) -> Napi::Value {
        return env.GetInstanceData<AddonData>()->netlinkEvents.New({Napi::Number::New(env, *fd)});
      });
}

// lockFile(path): Promise<fd>, once an exclusive flock on the file is held.
Napi::Value lockFileJs(const Napi::CallbackInfo& info) {
  auto path = stringArg(info, 0);
  auto fd = std::make_shared<int>(-1);
  return PromiseWorker::start(
      info.Env(),
      [path, fd] {
        *fd = lockFile(path, true);
        return NetlinkStatus::ofResult(*fd);
      },
      [fd](Napi::Env env) { return Napi::Number::New(env, *fd); });
}

// State files are read and written on the JS thread: on a local file system
// each takes microseconds, less than a hand-off to a worker thread and back.

// tryLockFile(path): the descriptor holding an exclusive flock on the file, or
// -1 when another holds it (then lockFile waits off the JS thread).
Napi::Value tryLockFileJs(const Napi::CallbackInfo& info) {
  int fd = lockFile(stringArg(info, 0), false);
  if (fd == -EWOULDBLOCK) return Napi::Number::New(info.Env(), -1);
  if (fd < 0) throw errnoError(info.Env(), NetlinkStatus::ofResult(fd));
  return Napi::Number::New(info.Env(), fd);
}

// readFileSync(path): Buffer | null, null when the file does not exist.
Napi::Value readFileSyncJs(const Napi::CallbackInfo& info) {
  Bytes data;
  int result = readWholeFile(stringArg(info, 0), data);
  if (result == -ENOENT) return info.Env().Null();
  if (result < 0) throw errnoError(info.Env(), NetlinkStatus::ofResult(result));
  return Napi::Buffer<uint8_t>::Copy(info.Env(), data.data(), data.size());
}

// readJsonFilesSync(dir): { names, data: Buffer, ends: Float64Array } as
// readJsonFiles makes them; null when the directory cannot be listed (the
// caller lists it on its own to learn why).
Napi::Value readJsonFilesSyncJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  DirectoryFiles files;
  if (readJsonFiles(stringArg(info, 0), files) < 0) return env.Null();
  Napi::Array names = Napi::Array::New(env, files.names.size());
  Napi::Float64Array ends = Napi::Float64Array::New(env, files.ends.size());
  for (size_t i = 0; i < files.names.size(); i++) {
    names.Set(static_cast<uint32_t>(i), Napi::String::New(env, files.names[i]));
    ends[i] = static_cast<double>(files.ends[i]);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("names", names);
  result.Set("data", Napi::Buffer<uint8_t>::Copy(env, files.data.data(), files.data.size()));
  result.Set("ends", ends);
  return result;
}

// createFileSync(path, data: Buffer); EEXIST when the file exists.
Napi::Value createFileSyncJs(const Napi::CallbackInfo& info) {
  int result = createFile(stringArg(info, 0), bufferArg(info, 1));
  if (result < 0) throw errnoError(info.Env(), NetlinkStatus::ofResult(result));
  return info.Env().Undefined();
}

// replaceFileSync(path, data: Buffer), atomically (write + rename).
Napi::Value replaceFileSyncJs(const Napi::CallbackInfo& info) {
  int result = replaceFile(stringArg(info, 0), bufferArg(info, 1));
  if (result < 0) throw errnoError(info.Env(), NetlinkStatus::ofResult(result));
  return info.Env().Undefined();
}

// duplicateFd(fd): a close-on-exec copy, for a descriptor that a queued
// request names (IFLA_NET_NS_FD) and that must outlive its owner's close().
Napi::Value duplicateFdJs(const Napi::CallbackInfo& info) {
  int fd = fcntl(intArg(info, 0), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw errnoError(info.Env(), {errno, "duplicate descriptor"});
  return Napi::Number::New(info.Env(), fd);
}

// isNetNamespace(fd): whether fd refers to a network namespace (no I/O).
Napi::Value isNetNamespaceJs(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), ioctl(intArg(info, 0), NS_GET_NSTYPE) == CLONE_NEWNET);
}

// --- rtnetlink encoders (synchronous, pure) ---------------------------------

Napi::Value encodeLinkCreateJs(const Napi::CallbackInfo& info) {
  return bytesValue(info.Env(), encodeLinkCreate(toLinkCreate(objectArg(info, 0))));
}

Napi::Value encodeLinkChangeJs(const Napi::CallbackInfo& info) {
  LinkChange change{static_cast<uint32_t>(intArg(info, 0)), toLinkAttributes(objectArg(info, 1))};
  return bytesValue(info.Env(), encodeLinkChange(change));
}

// encodeLinkDelete(index, name) and encodeLinkGet(index, name): by index when
// index > 0, else by name.
Napi::Value encodeLinkDeleteJs(const Napi::CallbackInfo& info) {
  return bytesValue(info.Env(), encodeLinkDelete(static_cast<uint32_t>(intArg(info, 0)), stringArg(info, 1)));
}

Napi::Value encodeLinkGetJs(const Napi::CallbackInfo& info) {
  return bytesValue(info.Env(), encodeLinkGet(static_cast<uint32_t>(intArg(info, 0)), stringArg(info, 1)));
}

Napi::Value encodeLinkDumpJs(const Napi::CallbackInfo& info) {
  return bytesValue(info.Env(), encodeLinkDump(toLinkDumpFilter(objectArg(info, 0))));
}

// encodeAddress(add: boolean, spec)
Napi::Value encodeAddressJs(const Napi::CallbackInfo& info) {
  return bytesValue(info.Env(), encodeAddress(info[0].ToBoolean().Value(), toAddressSpec(objectArg(info, 1))));
}

// encodeNeighbourDelete(family, index, address)
Napi::Value encodeNeighbourDeleteJs(const Napi::CallbackInfo& info) {
  Bytes address = addressBytes(info.Env(), stringArg(info, 2));
  return bytesValue(info.Env(), encodeNeighbourDelete(static_cast<uint8_t>(intArg(info, 0)), static_cast<uint32_t>(intArg(info, 1)), address));
}

// encodeNeighbour(op: 'add' | 'replace' | 'append' | 'delete', spec)
Napi::Value encodeNeighbourJs(const Napi::CallbackInfo& info) {
  auto op = stringArg(info, 0);
  const std::pair<const char*, NeighbourOp> ops[] = {
      {"add", NeighbourOp::Add}, {"replace", NeighbourOp::Replace}, {"append", NeighbourOp::Append}, {"delete", NeighbourOp::Delete}};
  for (const auto& [name, neighbourOp] : ops)
    if (op == name) return bytesValue(info.Env(), encodeNeighbour(neighbourOp, toNeighbourSpec(objectArg(info, 1))));
  throw Napi::TypeError::New(info.Env(), "unknown neighbour operation: " + op);
}

// encodeNeighbourDump(family, index)
Napi::Value encodeNeighbourDumpJs(const Napi::CallbackInfo& info) {
  return bytesValue(info.Env(), encodeNeighbourDump(static_cast<uint8_t>(intArg(info, 0)), static_cast<uint32_t>(intArg(info, 1))));
}

// encodeAddressDump(family, index)
Napi::Value encodeAddressDumpJs(const Napi::CallbackInfo& info) {
  return bytesValue(info.Env(), encodeAddressDump(static_cast<uint8_t>(intArg(info, 0)),
                                                  static_cast<uint32_t>(intArg(info, 1))));
}

// encodeRoute(op: 'add' | 'replace' | 'delete', spec)
Napi::Value encodeRouteJs(const Napi::CallbackInfo& info) {
  auto op = stringArg(info, 0);
  RouteOp routeOp = op == "add" ? RouteOp::Add : op == "replace" ? RouteOp::Replace : RouteOp::Delete;
  if (op != "add" && op != "replace" && op != "delete")
    throw Napi::TypeError::New(info.Env(), "unknown route operation: " + op);
  return bytesValue(info.Env(), encodeRoute(routeOp, toRouteSpec(objectArg(info, 1))));
}

Napi::Value encodeRouteDumpJs(const Napi::CallbackInfo& info) {
  return bytesValue(info.Env(), encodeRouteDump(toRouteDumpFilter(objectArg(info, 0))));
}

// encodeTableGet(family, table)
Napi::Value encodeTableGetJs(const Napi::CallbackInfo& info) {
  return bytesValue(info.Env(), encodeTableGet(static_cast<uint8_t>(intArg(info, 0)), stringArg(info, 1)));
}

// encodeSetElements({ add, exclusive?, family, table, set, elements: [{ key, data? }] })
// where key and data are Buffers (concatenated fields padded to 4 bytes).
Napi::Value encodeSetElementsJs(const Napi::CallbackInfo& info) {
  Napi::Object object = objectArg(info, 0);
  SetElementChange change;
  change.add = object.Get("add").ToBoolean().Value();
  change.exclusive = object.Get("exclusive").ToBoolean().Value();
  change.flush = object.Get("flush").ToBoolean().Value();
  change.family = static_cast<uint8_t>(object.Get("family").As<Napi::Number>().Uint32Value());
  change.table = object.Get("table").As<Napi::String>().Utf8Value();
  change.set = object.Get("set").As<Napi::String>().Utf8Value();
  auto elements = object.Get("elements").As<Napi::Array>();
  for (uint32_t i = 0; i < elements.Length(); i++) {
    auto element = elements.Get(i).As<Napi::Object>();
    auto bytes = [](const Napi::Value& value) {
      if (!value.IsBuffer()) return Bytes();
      auto buffer = value.As<Napi::Buffer<uint8_t>>();
      return Bytes(buffer.Data(), buffer.Data() + buffer.Length());
    };
    SetElement item{bytes(element.Get("key")), bytes(element.Get("data"))};
    if (item.key.empty()) throw Napi::TypeError::New(info.Env(), "a set element needs a key Buffer");
    change.elements.push_back(std::move(item));
  }
  return bytesValue(info.Env(), encodeSetElements(change));
}

// --- parsers (synchronous, pure) ------------------------------------------

template <typename Info, typename Parse, typename Convert>
Napi::Value parseWith(const Napi::CallbackInfo& info, Parse parse, Convert convert) {
  Bytes bytes = bufferArg(info, 0);
  std::vector<Info> items;
  if (!parse(bytes.data(), bytes.size(), items)) throwMalformed(info.Env());
  auto out = Napi::Array::New(info.Env(), items.size());
  for (uint32_t i = 0; i < items.size(); i++) out.Set(i, convert(info.Env(), items[i]));
  return out;
}

// parseLinks(buffer, stats?): with each link's counters when stats is true.
Napi::Value parseLinksJs(const Napi::CallbackInfo& info) {
  bool withStats = info[1].ToBoolean().Value();
  auto parse = [withStats](const uint8_t* data, size_t len, std::vector<LinkInfo>& out) { return parseLinks(data, len, out, withStats); };
  return parseWith<LinkInfo>(info, parse, fromLinkInfo);
}

// parseLinkBriefs(buffer): { indexes, flags, masters: Uint32Array, names }, a
// column each rather than an object a link (each property set costs more
// than parsing the link).
Napi::Value parseLinkBriefsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "expected a Buffer argument");
  auto buffer = info[0].As<Napi::Buffer<uint8_t>>();
  std::vector<LinkBrief> briefs;
  if (!parseLinkBriefs(buffer.Data(), buffer.Length(), briefs)) throwMalformed(env);
  size_t count = briefs.size();
  Napi::Uint32Array indexes = Napi::Uint32Array::New(env, count);
  Napi::Uint32Array flags = Napi::Uint32Array::New(env, count);
  Napi::Uint32Array masters = Napi::Uint32Array::New(env, count);
  Napi::Array names = Napi::Array::New(env, count);
  for (size_t i = 0; i < count; i++) {
    indexes[i] = briefs[i].index;
    flags[i] = briefs[i].flags;
    masters[i] = briefs[i].master;
    names.Set(static_cast<uint32_t>(i), Napi::String::New(env, briefs[i].name));
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("indexes", indexes);
  result.Set("flags", flags);
  result.Set("masters", masters);
  result.Set("names", names);
  return result;
}

Napi::Value parseAddressesJs(const Napi::CallbackInfo& info) {
  return parseWith<AddressInfo>(info, parseAddresses, fromAddressInfo);
}

Napi::Value parseRoutesJs(const Napi::CallbackInfo& info) {
  return parseWith<RouteInfo>(info, parseRoutes, fromRouteInfo);
}

Napi::Value parseNeighboursJs(const Napi::CallbackInfo& info) {
  return parseWith<NeighbourInfo>(info, parseNeighbours, fromNeighbourInfo);
}

Napi::Value parseEventsJs(const Napi::CallbackInfo& info) {
  return parseWith<RtnlEvent>(info, parseEvents, fromRtnlEvent);
}

// parseMessages(buffer): [{ type, flags, seq, payload }], for inspection and tests.
Napi::Value parseMessagesJs(const Napi::CallbackInfo& info) {
  Bytes bytes = bufferArg(info, 0);
  std::vector<Message> messages;
  if (!splitMessages(bytes.data(), bytes.size(), messages)) throwMalformed(info.Env());
  auto out = Napi::Array::New(info.Env(), messages.size());
  for (uint32_t i = 0; i < messages.size(); i++) {
    auto object = Napi::Object::New(info.Env());
    object.Set("type", messages[i].header->nlmsg_type);
    object.Set("flags", messages[i].header->nlmsg_flags);
    object.Set("seq", messages[i].header->nlmsg_seq);
    object.Set("payload", Napi::Buffer<uint8_t>::Copy(info.Env(), messages[i].payload, messages[i].payloadLen));
    out.Set(i, object);
  }
  return out;
}

// parseAttributes(buffer): [{ type, data }], every attribute, known or not.
Napi::Value parseAttributesJs(const Napi::CallbackInfo& info) {
  Bytes bytes = bufferArg(info, 0);
  AttributeList attrs;
  if (!parseAttributes(bytes.data(), bytes.size(), attrs)) throwMalformed(info.Env());
  auto out = Napi::Array::New(info.Env(), attrs.size());
  for (uint32_t i = 0; i < attrs.size(); i++) {
    auto object = Napi::Object::New(info.Env());
    object.Set("type", attrs[i].type);
    object.Set("data", Napi::Buffer<uint8_t>::Copy(info.Env(), attrs[i].data, attrs[i].len));
    out.Set(i, object);
  }
  return out;
}

}  // namespace

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  Napi::Function handle = NetlinkHandle::define(env);
  data->netlinkHandle = Napi::Persistent(handle);
  data->netlinkEvents = Napi::Persistent(NetlinkEvents::define(env));
  env.SetInstanceData(data);

  exports.Set("NETLINK_ROUTE", NETLINK_ROUTE);
  exports.Set("NETLINK_NETFILTER", NETLINK_NETFILTER);
  auto groups = Napi::Object::New(env);
  for (const auto& [name, group] : std::initializer_list<std::pair<const char*, uint32_t>>{
           {"link", RTNLGRP_LINK}, {"neighbour", RTNLGRP_NEIGH}, {"ipv4Address", RTNLGRP_IPV4_IFADDR},
           {"ipv6Address", RTNLGRP_IPV6_IFADDR}, {"ipv4Route", RTNLGRP_IPV4_ROUTE}, {"ipv6Route", RTNLGRP_IPV6_ROUTE}})
    groups.Set(name, group);
  exports.Set("RTNLGRP", groups);
  const std::pair<const char*, Napi::Function::Callback> functions[] = {
      {"createNamespace", createNamespaceJs},
      {"shareNamespaceDirectory", shareNamespaceDirectoryJs},
      {"removeNamespaceMount", removeNamespaceMountJs},
      {"bindNamespaceMountSync", bindNamespaceMountSyncJs},
      {"processNamespaces", processNamespacesJs},
      {"readSysctl", readSysctlJs},
      {"writeSysctl", writeSysctlJs},
      {"readSysctlAt", readSysctlAtJs},
      {"writeSysctlAt", writeSysctlAtJs},
      {"openNetlink", openNetlinkJs},
      {"openRtnl", openRtnlJs},
      {"openEvents", openEventsJs},
      {"lockFile", lockFileJs},
      {"tryLockFile", tryLockFileJs},
      {"readFileSync", readFileSyncJs},
      {"readJsonFilesSync", readJsonFilesSyncJs},
      {"replaceFileSync", replaceFileSyncJs},
      {"createFileSync", createFileSyncJs},
      {"isNetNamespace", isNetNamespaceJs},
      {"duplicateFd", duplicateFdJs},
      {"encodeLinkCreate", encodeLinkCreateJs},
      {"encodeLinkChange", encodeLinkChangeJs},
      {"encodeLinkDelete", encodeLinkDeleteJs},
      {"encodeLinkGet", encodeLinkGetJs},
      {"encodeLinkDump", encodeLinkDumpJs},
      {"encodeAddress", encodeAddressJs},
      {"encodeAddressDump", encodeAddressDumpJs},
      {"encodeNeighbourDelete", encodeNeighbourDeleteJs},
      {"encodeNeighbour", encodeNeighbourJs},
      {"encodeNeighbourDump", encodeNeighbourDumpJs},
      {"encodeRoute", encodeRouteJs},
      {"encodeRouteDump", encodeRouteDumpJs},
      {"encodeTableGet", encodeTableGetJs},
      {"encodeSetElements", encodeSetElementsJs},
      {"parseLinks", parseLinksJs},
      {"parseLinkBriefs", parseLinkBriefsJs},
      {"parseAddresses", parseAddressesJs},
      {"parseRoutes", parseRoutesJs},
      {"parseNeighbours", parseNeighboursJs},
      {"parseEvents", parseEventsJs},
      {"parseMessages", parseMessagesJs},
      {"parseAttributes", parseAttributesJs},
  };
  for (const auto& [name, callback] : functions) exports.Set(name, Napi::Function::New(env, callback, name));
  addTrafficControl(env, exports);
  return exports;
}

}  // namespace nsnet

static Napi::Object initModule(Napi::Env env, Napi::Object exports) { return nsnet::init(env, exports); }

NODE_API_MODULE(nsnet, initModule)
