// A named namespace mounted under a second name.
#pragma once

#include <string>

namespace nsnet {

// Bind-mounts the namespace mounted at `from` at `to` too (which must not
// exist: EEXIST otherwise). The same namespace (same inode). A file and a
// bind mount: microseconds, where unmounting the old name (removeNamespaceMount)
// waits for the kernel's RCU readers, about a tenth of a millisecond.
// Returns 0, or -errno with `to` not made.
int bindNamespaceMount(const std::string& from, const std::string& to);

}  // namespace nsnet
