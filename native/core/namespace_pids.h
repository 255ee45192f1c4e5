// The processes running in a network namespace, found as `ip netns pids`
// finds them: by the namespace each /proc/<pid>/ns/net names. No namespace
// switch, so it may run on any thread.
#pragma once

#include <cstdint>
#include <vector>

namespace nsnet {

// Fills `pids` (ascending) with the processes whose network namespace has
// inode `inode`. A process that ends meanwhile, or that this one may not
// look into, is skipped. Returns 0 or -errno of reading /proc.
int namespacePids(uint64_t inode, std::vector<int>& pids);

}  // namespace nsnet
