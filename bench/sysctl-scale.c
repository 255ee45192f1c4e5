// The kernel's cost of the first sysctl write inside the Nth live network
// namespace, against N, with nothing of nsnet around it: each namespace
// stays alive (an open descriptor), and in each the program opens and writes
// net.ipv6.conf.lo.disable_ipv6, then the same once more. The first lookup
// of /proc/sys/net from a new namespace compares the name with every other
// namespace's copy of it, so its cost grows with the namespaces there are;
// the second write, with that lookup done, does not grow.
//
//   cc -O2 -o sysctl-scale bench/sysctl-scale.c
//   scripts/sandbox bash -c 'ulimit -n 8192; ./sysctl-scale 2000'
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define EVERY 250

static double micros(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

int main(int argc, char **argv) {
  int count = argc > 1 ? atoi(argv[1]) : 2000;
  double unshared = 0, written = 0, again = 0;
  for (int i = 1; i <= count; i++) {
    double start = micros();
    if (unshare(CLONE_NEWNET) != 0) return perror("unshare"), 1;
    double made = micros();
    if (open("/proc/self/ns/net", O_RDONLY) < 0) return perror("keeping the namespace"), 1;
    double first = 0;
    for (int pass = 0; pass < 2; pass++) {
      int fd = open("/proc/sys/net/ipv6/conf/lo/disable_ipv6", O_WRONLY);
      if (fd < 0 || write(fd, "1", 1) != 1) return perror("sysctl"), 1;
      close(fd);
      if (pass == 0) first = micros();
    }
    unshared += made - start;
    written += first - made;
    again += micros() - first;
    if (i % EVERY == 0) {
      printf("namespaces %5d: unshare %6.1f us, first sysctl open+write %6.1f us, the second %5.1f us (means of the last %d)\n", i, unshared / EVERY, written / EVERY, again / EVERY, EVERY);
      unshared = written = again = 0;
    }
  }
  return 0;
}
