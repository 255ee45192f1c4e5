#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <linux/netlink.h>

#include <pthread.h>

#include "netlink_socket.h"

namespace nsnet {

namespace {
// Runs `fn` on a thread of its own and waits for it: 0, or -errno when no
// thread could be made. The work is a few system calls, so a small stack
// does (the default 8 MiB is mapped and given back for every thread).
int onOwnThread(const std::function<void()>& fn) {
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, 256 * 1024);
  pthread_t thread;
  auto run = [](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  int error = pthread_create(&thread, &attributes, run, const_cast<std::function<void()>*>(&fn));
  pthread_attr_destroy(&attributes);
  if (error) return -error;
  pthread_join(thread, nullptr);
  return 0;
}
}  // namespace

int runInNamespace(int netnsFd, const std::function<int()>& work) {
  int result = 0;
  int error = onOwnThread([&] {
    if (netnsFd >= 0 && setns(netnsFd, CLONE_NEWNET) < 0) {
      result = -errno;
      return;
    }
    result = work();
  });
  return error ? error : result;
}

namespace {
// On a thread inside the namespace: its socket and sysctl directories.
// Returns 0 or -errno, with nothing left open.
int openFromInside(int protocol, InsideFds* inside) {
  inside->netlink = NetlinkSocket::open(protocol);
  if (inside->netlink < 0) {
    int error = inside->netlink;
    inside->netlink = -1;
    return error;
  }
  if (!inside->sysctlDirs) return 0;
  // Missing (no IPv6) stays -1: writes there take the thread path and fail as they would.
  inside->ipv4Conf = open("/proc/sys/net/ipv4/conf", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  inside->ipv6Conf = open("/proc/sys/net/ipv6/conf", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return 0;
}

void closeInside(InsideFds* inside) {
  for (int* owned : {&inside->netlink, &inside->ipv4Conf, &inside->ipv6Conf}) {
    if (*owned >= 0) close(*owned);
    *owned = -1;
  }
}
}  // namespace

int createNamespace(const std::string& bindPath, int netlinkProtocol, InsideFds* inside) {
  bool named = !bindPath.empty();
  if (named) {
    // The mount point; O_EXCL makes a taken name fail before anything is made.
    int file = open(bindPath.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (file < 0) return -errno;
    close(file);
  }
  int fd = -1;
  int error = 0;
  int started = onOwnThread([&] {
    if (unshare(CLONE_NEWNET) < 0) {
      error = errno;
      return;
    }
    const char* self = "/proc/thread-self/ns/net";
    if (named && mount(self, bindPath.c_str(), "none", MS_BIND, nullptr) < 0) {
      error = errno;
      return;
    }
    fd = open(self, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      error = errno;
      return;
    }
    if (netlinkProtocol >= 0) error = -openFromInside(netlinkProtocol, inside);
  });
  if (started) error = -started;
  if (!error) return fd;
  if (fd >= 0) close(fd);
  closeInside(inside);
  if (named) removeNamespaceMount(bindPath);
  return -error;
}

int shareNamespaceDirectory(const std::string& dir) {
  const char* path = dir.c_str();
  if (mount("", path, "none", MS_SHARED | MS_REC, nullptr) == 0) return 0;
  if (errno != EINVAL) return -errno;
  // Not a mount point yet: bind it onto itself first.
  if (mount(path, path, "none", MS_BIND | MS_REC, nullptr) < 0) return -errno;
  return mount("", path, "none", MS_SHARED | MS_REC, nullptr) == 0 ? 0 : -errno;
}

int removeNamespaceMount(const std::string& path) {
  // EINVAL: not mounted (half-created); still remove the file.
  if (umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) return -errno;
  if (unlink(path.c_str()) < 0) return -errno;
  return 0;
}

int readSysctlAt(int dirFd, const std::string& path, std::string& value) {
  int fd = openat(dirFd, path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  char buffer[4096];
  ssize_t got;
  int error = 0;
  while ((got = read(fd, buffer, sizeof buffer)) > 0) value.append(buffer, static_cast<size_t>(got));
  if (got < 0) error = -errno;
  close(fd);
  return error;
}

int writeSysctlAt(int dirFd, const std::string& path, const std::string& value) {
  int fd = openat(dirFd, path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  int error = 0;
  if (write(fd, value.data(), value.size()) < 0) error = -errno;
  if (close(fd) < 0 && !error) error = -errno;
  return error;
}

int readSysctl(int netnsFd, const std::string& path, std::string& value) {
  // /proc/sys/net shows the namespace of the task that opens it.
  return runInNamespace(netnsFd, [&] { return readSysctlAt(AT_FDCWD, path, value); });
}

int writeSysctl(int netnsFd, const std::string& path, const std::string& value) {
  return runInNamespace(netnsFd, [&] { return writeSysctlAt(AT_FDCWD, path, value); });
}

int openInside(int netnsFd, InsideFds* inside) {
  int error = runInNamespace(netnsFd, [&] { return openFromInside(NETLINK_ROUTE, inside); });
  if (error) closeInside(inside);
  return error;
}

int openNetlinkIn(int netnsFd, int protocol) {
  int fd = -1;
  int error = runInNamespace(netnsFd, [&] {
    fd = NetlinkSocket::open(protocol);
    return fd < 0 ? fd : 0;
  });
  return error ? error : fd;
}

}  // namespace nsnet
