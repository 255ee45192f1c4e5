/*
 * nsnet-cni-start: what the CNI plugin's front end (nsnet-cni,
 * programs/nsnet_cni.c) executes in its place when no CNI service answers,
 * with the runtime's arguments, environment and stdin. A CNI runtime starts a
 * plugin for every ADD and DEL; starting node and loading nsnet costs ~90 ms.
 *
 * When no service runs, it starts one (bin/nsnet-cni.js serve: detached,
 * leaving after ten idle minutes), waits for it to listen and hands the
 * request to it: only the first call pays for node. With
 * NSNET_CNI_NO_SERVICE=1, or when the service cannot start, it executes the
 * plugin in node instead (bin/nsnet-cni.js), once per call.
 *
 * Request:  "KEY=VALUE\0" for each CNI_* variable, "\0", then stdin.
 * Response: the exit status in decimal, "\n", then stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cni_answer.h"
#include "cni_socket.h"

#define SERVICE_IDLE_SECONDS "600"
#define SERVICE_START_TIMEOUT_MS 10000

extern char **environ;

static void fail(int code, const char *message) {
  printf("{\"cniVersion\": \"1.1.0\", \"code\": %d, \"msg\": \"%s\"}\n", code, message);
  exit(1);
}

static int send_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t sent = send(fd, data, length, MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += sent;
    length -= (size_t)sent;
  }
  return 0;
}

static const char *node_program(void) {
  return getenv("NSNET_NODE") ? getenv("NSNET_NODE") : "node";
}

static const char *socket_path(void) {
  /* An empty value is no value, as for the service. */
  const char *chosen = getenv("NSNET_CNI_SOCKET");
  return chosen && *chosen ? chosen : DEFAULT_CNI_SOCKET;
}

/*
 * Node as the plugin needs it. It makes no TLS connection, and node reads
 * the whole NODE_EXTRA_CA_CERTS bundle when it starts (~85 ms on a 2-core VM).
 */
static void exec_node(char *const argv[]) {
  unsetenv("NODE_EXTRA_CA_CERTS");
  execvp(node_program(), argv);
}

/* A file of the package, relative to this binary's real place (build/Release,
 * or build-cmake/Release). */
static void package_file(char *out, size_t size, const char *relative) {
  char self[PATH_MAX];
  if (!realpath("/proc/self/exe", self)) fail(100, "nsnet-cni cannot find itself");
  snprintf(out, size, "%s/../../%s", dirname(self), relative);
}

/* Runs the plugin in node, in this process's place. */
static void run_in_node(void) {
  char script[PATH_MAX + 32];
  package_file(script, sizeof script, "bin/nsnet-cni.js");
  char *argv[] = {(char *)node_program(), script, NULL};
  exec_node(argv);
  fail(100, "no nsnet service is running and node could not be started (set NSNET_NODE)");
}

static int connect_service(void) {
  const char *path = socket_path();
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof address.sun_path) return -1;
  strcpy(address.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/*
 * The CNI service (bin/nsnet-cni.js serve) in a new session, its output in
 * <socket>.log. Returns the read end of a pipe whose write end only the
 * service holds (NSNET_CNI_READY_FD): it writes one byte there once it
 * listens, and a service that fails to start closes it by exiting. -1 when
 * it could not be started.
 */
static int spawn_service(void) {
  char script[PATH_MAX + 32];
  char log[PATH_MAX + 8];
  package_file(script, sizeof script, "bin/nsnet-cni.js");
  snprintf(log, sizeof log, "%s.log", socket_path());
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0) return -1;
  pid_t pid = fork();
  if (pid != 0) {
    close(ready[1]);
    if (pid < 0) {
      close(ready[0]);
      return -1;
    }
    waitpid(pid, NULL, 0);
    return ready[0];
  }
  setsid();
  close(ready[0]);
  char ready_fd[16];
  snprintf(ready_fd, sizeof ready_fd, "%d", ready[1]);
  if (fcntl(ready[1], F_SETFD, 0) < 0 || setenv("NSNET_CNI_READY_FD", ready_fd, 1) < 0) _exit(1);
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (devnull < 0 || logfd < 0) _exit(1);
  dup2(devnull, STDIN_FILENO);
  dup2(logfd, STDOUT_FILENO);
  dup2(logfd, STDERR_FILENO);
  /* A grandchild, so that the service is nobody's child to wait for. */
  if (fork() != 0) _exit(0);
  char *argv[] = {(char *)node_program(), script, "serve", "--socket", (char *)socket_path(), "--idle-exit", SERVICE_IDLE_SECONDS, NULL};
  exec_node(argv);
  _exit(127);
}

/*
 * Connects to the service, starting it when none runs. Front ends that find
 * none at once take turns on <socket>.lock, so that one of them starts it.
 * -1 when it could not be reached.
 */
static int connect_or_start_service(void) {
  int fd = connect_service();
  if (fd >= 0) return fd;
  const char *no_service = getenv("NSNET_CNI_NO_SERVICE");
  if (no_service && strcmp(no_service, "1") == 0) return -1;
  char lock_path[PATH_MAX + 8];
  snprintf(lock_path, sizeof lock_path, "%s.lock", socket_path());
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", socket_path());
  mkdir(dirname(dir), 0755);
  int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) return -1;
  if (flock(lock, LOCK_EX) < 0) {
    close(lock);
    return -1;
  }
  fd = connect_service();
  int ready = fd < 0 ? spawn_service() : -1;
  if (ready >= 0) {
    /* Its byte, or at once its end when it could not start: then node runs the request here. */
    struct pollfd wait = {.fd = ready, .events = POLLIN};
    char byte;
    int polled;
    do polled = poll(&wait, 1, SERVICE_START_TIMEOUT_MS);
    while (polled < 0 && errno == EINTR);
    if (polled > 0 && read(ready, &byte, 1) == 1) fd = connect_service();
    close(ready);
  }
  close(lock);
  return fd;
}

static void send_request(int fd) {
  for (char **entry = environ; *entry; entry++) {
    if (strncmp(*entry, "CNI_", 4) == 0 && send_all(fd, *entry, strlen(*entry) + 1) < 0) fail(11, "the nsnet service went away; try again later");
  }
  if (send_all(fd, "", 1) < 0) fail(11, "the nsnet service went away; try again later");
  char buffer[65536];
  for (;;) {
    ssize_t got = read(STDIN_FILENO, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (send_all(fd, buffer, (size_t)got) < 0) fail(11, "the nsnet service went away; try again later");
  }
  shutdown(fd, SHUT_WR);
}

/* Copies the answer to stdout and returns its exit status. */
static int relay_response(int fd) {
  char buffer[65536];
  int status = -1;
  int in_status = 1;
  for (;;) {
    ssize_t got = read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    char *data = buffer;
    size_t length = (size_t)got;
    while (in_status && length > 0) {
      int step = cni_status_byte(*data++, &status);
      length--;
      if (step < 0) fail(100, "the nsnet service sent a malformed answer");
      in_status = step == 0;
    }
    if (length > 0 && fwrite(data, 1, length, stdout) != length) return 1;
  }
  if (in_status || status < 0) fail(11, "the nsnet service ended without answering; try again later");
  fflush(stdout);
  return status > 255 ? 1 : status;
}

int main(void) {
  int fd = connect_or_start_service();
  if (fd < 0) run_in_node();
  send_request(fd);
  return relay_response(fd);
}
