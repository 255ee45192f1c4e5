// Network namespace operations. Anything that must run inside a namespace
// runs on the calling thread (a thread of libuv's pool), which enters it
// with setns(2) (or unshare(2), for a new one) and goes back to its own
// namespace before the job ends; it aborts the process rather than run on
// in another. Failures are -errno (result.h).
#pragma once

#include <functional>
#include <string>

namespace nsnet {

// Runs `work` with the calling thread in the namespace `netnsFd`, then back
// in its own (no switch when netnsFd < 0). Returns what `work` returns, or
// -errno of setns.
int runInNamespace(int netnsFd, const std::function<int()>& work);

// What a namespace's creating thread opens inside it, for use from any
// thread: a netlink socket, and the per-interface sysctl directories
// (/proc/sys/net/ipv4/conf, /proc/sys/net/ipv6/conf), whose entries, even of
// interfaces made later, are the namespace's own (-1: none, such as
// ipv6/conf on a kernel without IPv6).
struct InsideFds {
  int netlink = -1;
  int ipv4Conf = -1;
  int ipv6Conf = -1;
  // Whether to open ipv4Conf and ipv6Conf: a namespace's first lookup under
  // /proc/sys costs more the more namespaces there are, so one that writes
  // no sysctl inside is spared it.
  bool sysctlDirs = true;
};

// Creates a namespace. With a non-empty `bindPath` (which must not exist:
// EEXIST otherwise) it is bind-mounted there. Returns an O_RDONLY fd on it,
// or -errno with nothing left behind. With `netlinkProtocol` >= 0, also
// opens, from inside it, a netlink socket and the sysctl directories into
// *inside.
int createNamespace(const std::string& bindPath, int netlinkProtocol, InsideFds* inside);

// Makes the netns directory a shared mount point, as `ip netns` does, so
// namespaces mounted in it are seen from other mount namespaces.
int shareNamespaceDirectory(const std::string& dir);

// Unmounts and removes a named namespace file.
int removeNamespaceMount(const std::string& path);

// Reads or writes a /proc/sys file inside a namespace.
int readSysctl(int netnsFd, const std::string& path, std::string& value);
int writeSysctl(int netnsFd, const std::string& path, const std::string& value);

// The same through a sysctl directory opened inside it (InsideFds), from
// the calling thread: `path` is relative to it.
int readSysctlAt(int dirFd, const std::string& path, std::string& value);
int writeSysctlAt(int dirFd, const std::string& path, const std::string& value);

// Opens a netlink socket of `protocol` inside a namespace: fd or -errno.
int openNetlinkIn(int netnsFd, int protocol);

// Opens, from one thread inside a namespace, an rtnetlink socket and its
// sysctl directories (as createNamespace does) into *inside: 0 or -errno,
// with nothing left open.
int openInside(int netnsFd, InsideFds* inside);

}  // namespace nsnet
