// Small-file primitives for the state directory: read a whole file, replace
// a file atomically, take an exclusive lock.
// Failures are -errno (result.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nsnet {

// Reads `path` into `data`; -ENOENT when it does not exist.
int readWholeFile(const std::string& path, std::vector<uint8_t>& data);

// Writes `data` to a temporary file beside `path`, then renames it over
// `path`: readers see the old or the new content, never a mix.
int replaceFile(const std::string& path, const std::vector<uint8_t>& data);

// Creates `path` with `data`, failing with -EEXIST if it exists.
int createFile(const std::string& path, const std::vector<uint8_t>& data);

// Opens (creating) `path` and takes an exclusive flock on it, waiting for it
// or (`wait` false) failing with -EWOULDBLOCK while another holds it.
// Returns the locked fd (closing it releases the lock).
int lockFile(const std::string& path, bool wait);

}  // namespace nsnet
