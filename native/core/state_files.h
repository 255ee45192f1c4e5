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

// The files of a directory whose names end in ".json", in strcmp order of
// their names, read into one buffer: names[i] (without ".json") holds
// data[ends[i - 1], ends[i]), or could not be read (ends[i] = -1: the
// caller reads it again on its own to learn why; one gone since the listing
// too). -errno when the directory cannot be listed.
struct DirectoryFiles {
  std::vector<std::string> names;
  std::vector<uint8_t> data;
  std::vector<int64_t> ends;
};
int readJsonFiles(const std::string& dir, DirectoryFiles& files);

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
