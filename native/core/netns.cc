#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "netlink_socket.h"

namespace nsnet {

namespace {
// Runs `work` with the calling thread moved into another network namespace
// by `enter` (setns or unshare: 0 or -errno), then moves it back into its
// own. Done on the thread the job already runs on, with nothing else run on
// it meanwhile: a thread of its own for the step would cost two wake-ups
// more (its start, its join), tens of microseconds each on a virtual
// machine. A thread that could not get back would go on to run later jobs
// (of nsnet, or of node's file system) in the wrong namespace, so then the
// process aborts; getting back into a namespace the thread was in a moment
// ago does not fail short of the kernel running out of memory.
int awayFromHome(const std::function<int()>& enter, const std::function<int()>& work) {
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) return -errno;
  int entered = enter();
  if (entered) {
    close(home);
    return entered;
  }
  // Back on every way out of `work`, an exception's too.
  struct GoBack {
    int home;
    ~GoBack() {
      if (setns(home, CLONE_NEWNET) < 0) abort();
      close(home);
    }
  } back{home};
  return work();
}
}  // namespace

int runInNamespace(int netnsFd, const std::function<int()>& work) {
  if (netnsFd < 0) return work();
  return awayFromHome([netnsFd] { return setns(netnsFd, CLONE_NEWNET) < 0 ? -errno : 0; }, work);
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
  int error = -awayFromHome([] { return unshare(CLONE_NEWNET) < 0 ? -errno : 0; }, [&] {
    const char* self = "/proc/thread-self/ns/net";
    if (named && mount(self, bindPath.c_str(), "none", MS_BIND, nullptr) < 0) return -errno;
    fd = open(self, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    return netlinkProtocol >= 0 ? openFromInside(netlinkProtocol, inside) : 0;
  });
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
