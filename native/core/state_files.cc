#include "state_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>

namespace nsnet {

namespace {
// Appends what is left of `fd` to `data`, and closes it.
int readToEnd(int fd, std::vector<uint8_t>& data) {
  uint8_t buffer[16384];
  ssize_t got;
  int error = 0;
  while ((got = read(fd, buffer, sizeof buffer)) != 0) {
    if (got < 0) {
      if (errno == EINTR) continue;
      error = -errno;
      break;
    }
    data.insert(data.end(), buffer, buffer + got);
  }
  close(fd);
  return error;
}
}  // namespace

int readWholeFile(const std::string& path, std::vector<uint8_t>& data) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  return readToEnd(fd, data);
}

int readJsonFiles(const std::string& dir, DirectoryFiles& files) {
  int dirFd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd < 0) return -errno;
  DIR* listing = fdopendir(dirFd);
  if (!listing) {
    int error = -errno;
    close(dirFd);
    return error;
  }
  static const char SUFFIX[] = ".json";
  const size_t suffixLength = sizeof SUFFIX - 1;
  std::vector<std::string> entries;
  errno = 0;
  while (struct dirent* entry = readdir(listing)) {
    size_t length = strlen(entry->d_name);
    if (length >= suffixLength && memcmp(entry->d_name + length - suffixLength, SUFFIX, suffixLength) == 0) entries.emplace_back(entry->d_name, length);
    errno = 0;
  }
  int error = -errno;
  if (!error) {
    std::sort(entries.begin(), entries.end());
    for (const std::string& entry : entries) {
      int fd = openat(dirfd(listing), entry.c_str(), O_RDONLY | O_CLOEXEC);
      size_t start = files.data.size();
      bool read = fd >= 0 && readToEnd(fd, files.data) == 0;
      if (!read) files.data.resize(start);
      files.names.push_back(entry.substr(0, entry.size() - suffixLength));
      files.ends.push_back(read ? static_cast<int64_t>(files.data.size()) : -1);
    }
  }
  closedir(listing);
  return error;
}

namespace {
// Writes `data` to a new file; -EEXIST if it exists. Removes it on failure.
int writeNewFile(const std::string& path, const std::vector<uint8_t>& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  int error = 0;
  for (size_t done = 0; done < data.size() && !error;) {
    ssize_t put = write(fd, data.data() + done, data.size() - done);
    if (put < 0 && errno != EINTR) error = -errno;
    if (put > 0) done += static_cast<size_t>(put);
  }
  if (close(fd) < 0 && !error) error = -errno;
  if (error) unlink(path.c_str());
  return error;
}
}  // namespace

int createFile(const std::string& path, const std::vector<uint8_t>& data) {
  // Written aside and linked into place, so a reader never sees it half-written.
  static std::atomic<unsigned> counter{0};
  std::string temporary = path + "." + std::to_string(getpid()) + ".new" + std::to_string(counter++);
  int error = writeNewFile(temporary, data);
  if (error) return error;
  if (link(temporary.c_str(), path.c_str()) < 0) error = -errno;
  unlink(temporary.c_str());
  return error;
}

int replaceFile(const std::string& path, const std::vector<uint8_t>& data) {
  static std::atomic<unsigned> counter{0};
  std::string temporary = path + "." + std::to_string(getpid()) + "." + std::to_string(counter++) + ".tmp";
  int error = writeNewFile(temporary, data);
  if (!error && rename(temporary.c_str(), path.c_str()) < 0) error = -errno;
  if (error) unlink(temporary.c_str());
  return error;
}

int lockFile(const std::string& path, bool wait) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  int result;
  do result = flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB);
  while (result < 0 && errno == EINTR);
  if (result < 0) {
    int error = errno;
    close(fd);
    return -error;
  }
  return fd;
}

}  // namespace nsnet
