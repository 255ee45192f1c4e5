/*
 * Starts programs the way a Go runtime does (containerd and CRI-O execute CNI
 * plugins through Go's os/exec, which forks with vfork): with posix_spawn,
 * whose glibc implementation is a vfork-style clone. Node's child_process
 * forks its whole process instead, which costs about 1.5 ms more per program
 * on these machines; a benchmark that runs plugins through node would count
 * that against every plugin call.
 *
 * One request at a time on stdin, one answer on stdout, until stdin ends:
 *   request: u32 path length, u32 environment length, u32 input length
 *            (little-endian, as on the hosts nsnet runs on), then the path, the environment ("KEY=VALUE\0"
 *            entries) and the input for the program's stdin;
 *   answer:  i32 status (the exit status, or 128 + the signal that ended it),
 *            u32 stdout length, u32 stderr length, then stdout and stderr.
 * A program that cannot be started answers 127 with the reason on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct buffer {
  char *data;
  size_t length, capacity;
};

static void append(struct buffer *buffer, const char *data, size_t length) {
  if (buffer->length + length > buffer->capacity) {
    buffer->capacity = (buffer->length + length) * 2;
    buffer->data = realloc(buffer->data, buffer->capacity);
    if (!buffer->data) abort();
  }
  memcpy(buffer->data + buffer->length, data, length);
  buffer->length += length;
}

static int read_full(int fd, void *data, size_t length) {
  for (size_t done = 0; done < length;) {
    ssize_t n = read(fd, (char *)data + done, length - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

static int write_full(int fd, const void *data, size_t length) {
  for (size_t done = 0; done < length;) {
    ssize_t n = write(fd, (const char *)data + done, length - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    done += (size_t)n;
  }
  return 0;
}

/* "KEY=VALUE\0..." into a NULL-terminated array pointing into the block. */
static char **split_environment(char *block, size_t length) {
  size_t count = 0;
  for (size_t i = 0; i < length; i++) count += block[i] == '\0';
  char **entries = calloc(count + 1, sizeof(char *));
  if (!entries) abort();
  size_t n = 0;
  for (size_t start = 0; start < length && n < count; start += strlen(block + start) + 1) entries[n++] = block + start;
  return entries;
}

/* Feeds the input and collects both outputs until the program closes them. */
static void exchange(int in, int out, int err, const char *input, size_t input_length, struct buffer *stdout_data,
                     struct buffer *stderr_data) {
  size_t written = 0;
  if (input_length == 0) close(in), in = -1;
  while (in >= 0 || out >= 0 || err >= 0) {
    struct pollfd fds[3] = {{in, POLLOUT, 0}, {out, POLLIN, 0}, {err, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      abort();
    }
    if (in >= 0 && fds[0].revents) {
      ssize_t n = write(in, input + written, input_length - written);
      if (n > 0) written += (size_t)n;
      if (n < 0 && errno != EAGAIN && errno != EINTR) written = input_length; /* it stopped reading */
      if (written == input_length) close(in), in = -1;
    }
    int *readers[2] = {&out, &err};
    struct buffer *targets[2] = {stdout_data, stderr_data};
    for (int r = 0; r < 2; r++) {
      if (*readers[r] < 0 || !fds[r + 1].revents) continue;
      char chunk[16384];
      ssize_t n = read(*readers[r], chunk, sizeof chunk);
      if (n > 0) append(targets[r], chunk, (size_t)n);
      else if (n == 0 || (errno != EAGAIN && errno != EINTR)) close(*readers[r]), *readers[r] = -1;
    }
  }
}

static int run(const char *path, char **environment, const char *input, size_t input_length, struct buffer *stdout_data,
               struct buffer *stderr_data) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) abort();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in[0], 0);
  posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err[1], 2);
  /* This server ignores SIGPIPE; the program gets the default back. */
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF);
  char *argv[] = {(char *)path, NULL};
  pid_t pid;
  int failed = posix_spawn(&pid, path, &actions, &attributes, argv, environment);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(in[0]), close(out[1]), close(err[1]);
  if (failed) {
    close(in[1]), close(out[0]), close(err[0]);
    char message[512];
    int length = snprintf(message, sizeof message, "cannot start %s: %s\n", path, strerror(failed));
    append(stderr_data, message, (size_t)length);
    return 127;
  }
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  exchange(in[1], out[0], err[0], input, input_length, stdout_data, stderr_data);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  for (;;) {
    uint32_t lengths[3];
    if (read_full(0, lengths, sizeof lengths)) return 0;
    size_t total = (size_t)lengths[0] + lengths[1] + lengths[2];
    char *request = malloc(total + 1);
    if (!request || read_full(0, request, total)) return 1;
    request[total] = '\0'; /* the last environment entry ends even if the client's does not */
    char *path = strndup(request, lengths[0]);
    char **environment = split_environment(request + lengths[0], lengths[1]);
    struct buffer stdout_data = {0}, stderr_data = {0};
    int32_t status = run(path, environment, request + lengths[0] + lengths[1], lengths[2], &stdout_data, &stderr_data);
    uint32_t answer[3] = {(uint32_t)status, (uint32_t)stdout_data.length, (uint32_t)stderr_data.length};
    if (write_full(1, answer, sizeof answer) || write_full(1, stdout_data.data, stdout_data.length) ||
        write_full(1, stderr_data.data, stderr_data.length))
      return 1;
    free(stdout_data.data), free(stderr_data.data), free(environment), free(path), free(request);
  }
}
