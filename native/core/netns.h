// Network namespace operations. Anything that must run inside a namespace
// happens on a fresh thread that switches with setns(2) and then exits, so
// no long-lived thread (the JS thread, libuv's pool) ever changes namespace.
// Failures are -errno (result.h).
#pragma once

#include <functional>
#include <string>

namespace nsnet {

// Runs `work` on a new thread that first joins the namespace `netnsFd`
// (no switch when netnsFd < 0). Returns what `work` returns, or -errno of setns.
int runInNamespace(int netnsFd, const std::function<int()>& work);

// Creates a namespace. With a non-empty `bindPath` (which must not exist:
// EEXIST otherwise) it is bind-mounted there. Returns an O_RDONLY fd on it,
// or -errno with nothing left behind. With `netlinkProtocol` >= 0, also
// opens a netlink socket inside it, from the same thread, into *netlinkFd.
int createNamespace(const std::string& bindPath, int netlinkProtocol, int* netlinkFd);

// Makes the netns directory a shared mount point, as `ip netns` does, so
// namespaces mounted in it are seen from other mount namespaces.
int shareNamespaceDirectory(const std::string& dir);

// Unmounts and removes a named namespace file.
int removeNamespaceMount(const std::string& path);

// Reads or writes a /proc/sys file inside a namespace.
int readSysctl(int netnsFd, const std::string& path, std::string& value);
int writeSysctl(int netnsFd, const std::string& path, const std::string& value);

// Opens a netlink socket of `protocol` inside a namespace: fd or -errno.
int openNetlinkIn(int netnsFd, int protocol);

}  // namespace nsnet
