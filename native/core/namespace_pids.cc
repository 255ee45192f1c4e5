#include "namespace_pids.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace nsnet {

int processNamespaces(std::vector<ProcessNamespace>& found) {
  DIR* proc = opendir("/proc");
  if (!proc) return -errno;
  char path[64];
  char target[64];
  int error = 0;
  for (;;) {
    errno = 0;
    struct dirent* entry = readdir(proc);
    if (!entry) {
      error = errno ? -errno : 0;
      break;
    }
    char* end;
    long pid = strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    snprintf(path, sizeof path, "%ld/ns/net", pid);
    // readlink names the namespace, "net:[<inode>]", without resolving it: cheaper than stat.
    ssize_t length = readlinkat(dirfd(proc), path, target, sizeof target - 1);
    if (length <= 0) continue;
    target[length] = '\0';
    unsigned long long inode;
    if (sscanf(target, "net:[%llu]", &inode) == 1) found.push_back({static_cast<int>(pid), inode});
  }
  closedir(proc);
  std::sort(found.begin(), found.end(), [](const ProcessNamespace& a, const ProcessNamespace& b) { return a.pid < b.pid; });
  return error;
}

}  // namespace nsnet
