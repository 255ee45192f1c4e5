/*
 * nsnet-cni: the CNI plugin's front end. A CNI runtime starts a plugin for
 * every ADD and DEL; this one hands the request (the CNI_* environment and
 * stdin) to a running CNI service (`nsnet cni serve`) over a unix socket and
 * prints its answer.
 *
 * It does nothing else, and on x86-64 and arm64 it is built without the C
 * library (NSNET_FREESTANDING): glibc's start-up detects the CPU's features,
 * and on a virtual machine each CPUID instruction it runs is a trip to the
 * hypervisor, about 1 ms in all, more than the rest of the call.
 *
 * When no service answers, it executes nsnet-cni-start from its own
 * directory (programs/nsnet_cni_start.c) with the same arguments,
 * environment and stdin: that one starts the service, or runs the plugin in
 * node.
 *
 * Request:  "KEY=VALUE\0" for each CNI_* variable, "\0", then stdin.
 * Response: the exit status in decimal, "\n", then stdout.
 */
#include <stddef.h>

#include "cni_answer.h"
#include "cni_socket.h"

/* Linux's errno value, the same on every architecture nsnet builds for. */
#define INTERRUPTED 4

#ifdef NSNET_FREESTANDING
#include <asm/unistd.h>

static long sys(long number, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long result;
  __asm__ volatile("syscall"
                   : "=a"(result)
                   : "a"(number), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return result;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = number;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory");
  return x0;
#else
#error "NSNET_FREESTANDING is for x86-64 and arm64"
#endif
}

/* The compiler may emit calls to these for copies and zeroing; volatile stores keep it from making them call themselves. */
void *memset(void *to, int value, size_t length) {
  for (size_t i = 0; i < length; i++) ((volatile char *)to)[i] = (char)value;
  return to;
}
void *memcpy(void *to, const void *from, size_t length) {
  for (size_t i = 0; i < length; i++) ((volatile char *)to)[i] = ((const char *)from)[i];
  return to;
}

#define SYSCALL(number, a, b, c, d, e, f, ...) sys(number, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define SYS(name, ...) SYSCALL(__NR_##name, __VA_ARGS__, 0, 0, 0, 0, 0)
#else
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Other architectures: the C library's syscall(), with -errno on failure as the kernel's own. */
static long sys(long number, long a, long b, long c, long d, long e, long f) {
  long result = syscall(number, a, b, c, d, e, f);
  return result < 0 ? -errno : result;
}
#define SYSCALL(number, a, b, c, d, e, f, ...) sys(number, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))
#define SYS(name, ...) SYSCALL(SYS_##name, __VA_ARGS__, 0, 0, 0, 0, 0)
#endif

/* Linux's values, the same on every architecture nsnet builds for. */
#define AF_UNIX 1
#define SOCK_STREAM 1
#define SOCK_CLOEXEC 02000000
#define SHUT_WR 1
#define MSG_NOSIGNAL 0x4000
#define AT_FDCWD (-100)
#define PATH_MAX 4096

#define START_PROGRAM "nsnet-cni-start"

/* At most what one read or send moves; a config is a few kilobytes. */
static char buffer[65536];

static void copy(char *to, const char *from, size_t length) {
  while (length--) *to++ = *from++;
}

static size_t length_of(const char *text) {
  size_t length = 0;
  while (text[length]) length++;
  return length;
}

static int starts_with(const char *text, const char *prefix) {
  while (*prefix)
    if (*text++ != *prefix++) return 0;
  return 1;
}

static long write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    long written = SYS(write, fd, data, length);
    if (written == -INTERRUPTED) continue;
    if (written < 0) return written;
    data += written;
    length -= (size_t)written;
  }
  return 0;
}

static void leave(int status) {
  for (;;) SYS(exit_group, status);
}

/* An error result, as the CNI specification shapes it, and exit status 1. */
static void fail(const char *result) {
  write_all(1, result, length_of(result));
  leave(1);
}

#define GONE_AWAY "{\"cniVersion\": \"1.1.0\", \"code\": 11, \"msg\": \"the nsnet service went away; try again later\"}\n"

static const char *socket_path(char **envp) {
  for (char **entry = envp; *entry; entry++)
    if (starts_with(*entry, "NSNET_CNI_SOCKET=") && (*entry)[17]) return *entry + 17;
  return DEFAULT_CNI_SOCKET;
}

/* A connected socket, or -1 when no service answers there. */
static int connect_service(const char *path) {
  struct {
    unsigned short family;
    char path[108];
  } address;
  size_t length = length_of(path);
  if (length >= sizeof address.path) return -1;
  address.family = AF_UNIX;
  copy(address.path, path, length + 1);
  int fd = (int)SYS(socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  long connected;
  do connected = SYS(connect, fd, &address, sizeof address);
  while (connected == -INTERRUPTED);
  if (connected < 0) {
    SYS(close, fd);
    return -1;
  }
  return fd;
}

/* No service: nsnet-cni-start from this program's own directory takes the call over. */
static void hand_over(char **argv, char **envp) {
  static char program[PATH_MAX + sizeof START_PROGRAM];
  long length = SYS(readlinkat, AT_FDCWD, "/proc/self/exe", program, PATH_MAX - 1);
  while (length > 0 && program[length - 1] != '/') length--;
  if (length > 0) {
    copy(program + length, START_PROGRAM, sizeof START_PROGRAM);
    SYS(execve, program, argv, envp);
  }
  fail("{\"cniVersion\": \"1.1.0\", \"code\": 100, \"msg\": \"nsnet-cni cannot start " START_PROGRAM " from its own directory\"}\n");
}

static void send_or_fail(int fd, const char *data, size_t length) {
  while (length > 0) {
    long sent = SYS(sendto, fd, data, length, MSG_NOSIGNAL);
    if (sent == -INTERRUPTED) continue;
    if (sent < 0) fail(GONE_AWAY);
    data += sent;
    length -= (size_t)sent;
  }
}

/* The CNI_* entries and stdin, in as few sends as the buffer allows. */
static void send_request(int fd, char **envp) {
  size_t used = 0;
  for (char **entry = envp; *entry; entry++) {
    if (!starts_with(*entry, "CNI_")) continue;
    size_t length = length_of(*entry) + 1;
    if (used + length > sizeof buffer) {
      send_or_fail(fd, buffer, used);
      used = 0;
    }
    if (length > sizeof buffer) send_or_fail(fd, *entry, length);
    else copy(buffer + used, *entry, length), used += length;
  }
  if (used == sizeof buffer) send_or_fail(fd, buffer, used), used = 0;
  buffer[used++] = '\0';
  for (;;) {
    if (used == sizeof buffer) send_or_fail(fd, buffer, used), used = 0;
    long got = SYS(read, 0, buffer + used, sizeof buffer - used);
    if (got == -INTERRUPTED) continue;
    if (got <= 0) break;
    used += (size_t)got;
  }
  send_or_fail(fd, buffer, used);
  SYS(shutdown, fd, SHUT_WR, 0);
}

/* Copies the answer to stdout; returns its exit status. */
static int relay_response(int fd) {
  int status = -1;
  int in_status = 1;
  for (;;) {
    long got = SYS(read, fd, buffer, sizeof buffer);
    if (got == -INTERRUPTED) continue;
    if (got <= 0) break;
    char *data = buffer;
    size_t length = (size_t)got;
    while (in_status && length > 0) {
      int step = cni_status_byte(*data++, &status);
      length--;
      if (step < 0) fail("{\"cniVersion\": \"1.1.0\", \"code\": 100, \"msg\": \"the nsnet service sent a malformed answer\"}\n");
      in_status = step == 0;
    }
    if (length > 0 && write_all(1, data, length) < 0) return 1;
  }
  if (in_status || status < 0) fail("{\"cniVersion\": \"1.1.0\", \"code\": 11, \"msg\": \"the nsnet service ended without answering; try again later\"}\n");
  return status > 255 ? 1 : status;
}

static int front_end(char **argv, char **envp) {
  int fd = connect_service(socket_path(envp));
  if (fd < 0) hand_over(argv, envp);
  send_request(fd, envp);
  return relay_response(fd);
}

#ifdef NSNET_FREESTANDING
/* The kernel's initial stack: argc, argv[], NULL, envp[], NULL. */
__attribute__((used)) void nsnet_cni_start(long *stack) {
  char **argv = (char **)(stack + 1);
  leave(front_end(argv, argv + stack[0] + 1));
}

#if defined(__x86_64__)
__asm__(".text\n.globl _start\n_start:\n xor %rbp, %rbp\n mov %rsp, %rdi\n and $-16, %rsp\n call nsnet_cni_start\n hlt\n");
#elif defined(__aarch64__)
__asm__(".text\n.globl _start\n_start:\n mov x29, #0\n mov x30, #0\n mov x0, sp\n bl nsnet_cni_start\n");
#endif
#else
int main(int argc, char **argv, char **envp) {
  (void)argc;
  return front_end(argv, envp);
}
#endif
