#include "state_files.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>

namespace nsnet {

int readWholeFile(const std::string& path, std::vector<uint8_t>& data) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
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
