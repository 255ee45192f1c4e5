// The kernel's cost of one sysctl write inside the Nth live network
// namespace, against N, with nothing of nsnet around it: each namespace
// stays alive (an open descriptor), and in each the program opens and writes
// net.ipv6.conf.lo.disable_ipv6 as a connect writes a namespace's sysctls.
// The path lookup compares each name below /proc/sys/net with every
// namespace's copy of it, so its cost grows with the namespaces there are.
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
  double unshared = 0, written = 0;
  for (int i = 1; i <= count; i++) {
    double start = micros();
    if (unshare(CLONE_NEWNET) != 0) return perror("unshare"), 1;
    double made = micros();
    if (open("/proc/self/ns/net", O_RDONLY) < 0) return perror("keeping the namespace"), 1;
    int fd = open("/proc/sys/net/ipv6/conf/lo/disable_ipv6", O_WRONLY);
    if (fd < 0 || write(fd, "1", 1) != 1) return perror("sysctl"), 1;
    close(fd);
    unshared += made - start;
    written += micros() - made;
    if (i % EVERY == 0) {
      printf("namespaces %5d: unshare %6.1f us, one sysctl open+write %6.1f us (means of the last %d)\n", i, unshared / EVERY, written / EVERY, EVERY);
      unshared = written = 0;
    }
  }
  return 0;
}
