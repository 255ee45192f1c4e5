// The network namespace of every process, read as `ip netns pids` reads it:
// the inode each /proc/<pid>/ns/net names. No namespace switch, so it may
// run on any thread.
#pragma once

#include <cstdint>
#include <vector>

namespace nsnet {

struct ProcessNamespace {
  int pid;
  uint64_t inode;
};

// Fills `found` (by ascending pid) with each process and the inode of its
// network namespace. A process that ends meanwhile, or that this one may not
// look into, is skipped. Returns 0 or -errno of reading /proc.
int processNamespaces(std::vector<ProcessNamespace>& found);

}  // namespace nsnet
