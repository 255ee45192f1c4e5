#include "namespace_pids.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace nsnet {

int namespacePids(uint64_t inode, std::vector<int>& pids) {
  DIR* proc = opendir("/proc");
  if (!proc) return -errno;
  // readlink names the namespace without resolving it: cheaper than stat.
  const std::string wanted = "net:[" + std::to_string(inode) + "]";
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
    ssize_t length = readlinkat(dirfd(proc), path, target, sizeof target);
    if (length == static_cast<ssize_t>(wanted.size()) && memcmp(target, wanted.data(), wanted.size()) == 0) {
      pids.push_back(static_cast<int>(pid));
    }
  }
  closedir(proc);
  std::sort(pids.begin(), pids.end());
  return error;
}

}  // namespace nsnet
