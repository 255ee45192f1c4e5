// Giving a named namespace another name: its mount moved to another file.
#pragma once

#include <string>

namespace nsnet {

// Bind-mounts the namespace mounted at `from` at `to` (which must not exist:
// EEXIST otherwise), then unmounts and removes `from`. The namespace is the
// same (same inode); a few system calls, no thread switches namespace.
// Returns 0, or -errno with `from` as it was and `to` not made.
int moveNamespaceMount(const std::string& from, const std::string& to);

}  // namespace nsnet
