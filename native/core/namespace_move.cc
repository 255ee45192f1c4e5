#include "namespace_move.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

namespace nsnet {

int bindNamespaceMount(const std::string& from, const std::string& to) {
  // The mount point; O_EXCL makes a taken name fail before anything is made.
  int file = open(to.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (file < 0) return -errno;
  close(file);
  if (mount(from.c_str(), to.c_str(), "none", MS_BIND, nullptr) < 0) {
    int error = errno;
    unlink(to.c_str());
    return -error;
  }
  return 0;
}

}  // namespace nsnet
