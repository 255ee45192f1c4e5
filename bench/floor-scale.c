// floor-scale.c: the kernel's own growth with the number of containers on one bridge.
// Per container, the system calls of floor.c and nothing else: a named netns (unshare on a
// short-lived thread, bind mount), a netlink socket inside it, one RTM_NEWLINK veth (host end
// on the bridge, up, with its MTU; peer eth0 made in the netns with its MAC and MTU; the bridge's
// own MAC and MTU pinned, as nsnet makes them), one sendmsg of lo up, eth0 up, address and
// default route. N containers (default 1000) are made one at a time on one /16 bridge, then
// removed last first (umount + unlink: the kernel deletes the namespace in the background).
// Prints the median time of each step in windows of 20: containers 1-20, 481-500 and the last
// 20 (for teardown: how many containers were present). Build: cc -O2 -o floor-scale
// floor-scale.c -lpthread; run inside scripts/sandbox (it refuses when /run/netns is not a tmpfs).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static void die(const char *m) { perror(m); exit(1); }

struct buf { char b[1 << 16]; int len; };
static struct nlmsghdr *msg(struct buf *q, int type, int flags, void *body, int blen) {
  struct nlmsghdr *h = (struct nlmsghdr *)(q->b + q->len);
  memset(h, 0, NLMSG_SPACE(blen));
  h->nlmsg_type = type; h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  h->nlmsg_len = NLMSG_LENGTH(blen); memcpy(NLMSG_DATA(h), body, blen);
  return h;
}
static struct rtattr *attr(struct nlmsghdr *h, int type, const void *d, int len) {
  struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
  a->rta_type = type; a->rta_len = RTA_LENGTH(len); if (len) memcpy(RTA_DATA(a), d, len);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}
static void nest_end(struct nlmsghdr *h, struct rtattr *a) { a->rta_len = (char *)h + h->nlmsg_len - (char *)a; }
static void done(struct buf *q, struct nlmsghdr *h) { q->len += NLMSG_ALIGN(h->nlmsg_len); }

// send the queued messages in one sendmsg, read one ACK per message
static void transact(int fd, struct buf *q, int count) {
  if (send(fd, q->b, q->len, 0) != q->len) die("send");
  q->len = 0;
  char r[8192];
  while (count > 0) {
    int n = recv(fd, r, sizeof r, 0); if (n < 0) die("recv");
    for (struct nlmsghdr *h = (struct nlmsghdr *)r; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type == NLMSG_ERROR) {
        struct nlmsgerr *e = NLMSG_DATA(h);
        if (e->error) { errno = -e->error; die("netlink"); }
        count--;
      }
    }
  }
}
static int nl_open(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE); if (fd < 0) die("socket");
  struct sockaddr_nl a = { .nl_family = AF_NETLINK }; if (bind(fd, (void *)&a, sizeof a)) die("bind");
  return fd;
}

struct nsjob { char path[64]; int nsfd; int sock; };
static void *make_ns(void *p) {
  struct nsjob *j = p;
  if (unshare(CLONE_NEWNET)) die("unshare");
  int f = open(j->path, O_RDONLY | O_CREAT | O_EXCL, 0); if (f < 0) die("create mountpoint"); close(f);
  if (mount("/proc/thread-self/ns/net", j->path, "none", MS_BIND, NULL)) die("bind mount");
  j->nsfd = open(j->path, O_RDONLY | O_CLOEXEC);
  j->sock = nl_open();
  return NULL;
}

static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
static double median(const double *v, int len) {
  double c[64]; memcpy(c, v, len * sizeof(double)); qsort(c, len, sizeof(double), cmp); return c[len / 2];
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1000;
  if (n < 20) { fprintf(stderr, "floor-scale: N must be at least 20\n"); return 2; }
  struct statfs sf; if (statfs("/run/netns", &sf) || sf.f_type != 0x01021994) { fprintf(stderr, "floor-scale: /run/netns is not a tmpfs: run in the sandbox\n"); return 2; }
  int host = nl_open();
  struct buf q = { .len = 0 };
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
  // bridge br0 10.88.0.1/16 up
  struct nlmsghdr *h = msg(&q, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
  attr(h, IFLA_IFNAME, "fsbr0", 6);
  // As nsnet makes a bridge: its MAC and MTU pinned, so that a port joining does not make the
  // kernel choose them again from every port.
  unsigned char brmac[6] = { 0x02, 0x42, 0x0a, 0x58, 0x00, 0x01 };
  unsigned mtu = 1500;
  attr(h, IFLA_ADDRESS, brmac, 6); attr(h, IFLA_MTU, &mtu, 4);
  struct rtattr *li = attr(h, IFLA_LINKINFO, NULL, 0); attr(h, IFLA_INFO_KIND, "bridge", 7); nest_end(h, li);
  done(&q, h); transact(host, &q, 1);
  int br = if_nametoindex("fsbr0");
  struct ifinfomsg up = { .ifi_family = AF_UNSPEC, .ifi_index = br, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  h = msg(&q, RTM_NEWLINK, 0, &up, sizeof up); done(&q, h);
  struct ifaddrmsg ia = { .ifa_family = AF_INET, .ifa_prefixlen = 16, .ifa_index = br };
  unsigned gw = htonl(0x0a580001);
  h = msg(&q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ia, sizeof ia); attr(h, IFA_LOCAL, &gw, 4); attr(h, IFA_ADDRESS, &gw, 4); done(&q, h);
  transact(host, &q, 2);

  double *tns = calloc(n, sizeof(double)), *tveth = calloc(n, sizeof(double)), *tcfg = calloc(n, sizeof(double)), *tall = calloc(n, sizeof(double)), *tdown = calloc(n, sizeof(double));
  struct nsjob *jobs = calloc(n, sizeof *jobs);
  for (int i = 0; i < n; i++) {
    struct nsjob *j = &jobs[i];
    snprintf(j->path, sizeof j->path, "/run/netns/fs%d", i);
    double t0 = now_ms();
    pthread_t th; pthread_create(&th, NULL, make_ns, j); pthread_join(th, NULL);
    double t1 = now_ms();
    char name[16]; snprintf(name, sizeof name, "vfs%d", i);
    struct ifinfomsg v = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
    h = msg(&q, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &v, sizeof v);
    attr(h, IFLA_IFNAME, name, strlen(name) + 1);
    attr(h, IFLA_MTU, &mtu, 4);
    attr(h, IFLA_MASTER, &br, 4);
    li = attr(h, IFLA_LINKINFO, NULL, 0); attr(h, IFLA_INFO_KIND, "veth", 5);
    struct rtattr *data = attr(h, IFLA_INFO_DATA, NULL, 0);
    struct rtattr *peer = attr(h, VETH_INFO_PEER, NULL, 0);
    struct ifinfomsg pi = { .ifi_family = AF_UNSPEC };
    memcpy((char *)h + h->nlmsg_len, &pi, sizeof pi); h->nlmsg_len += sizeof pi;
    unsigned char mac[6] = { 0x02, 0x42, 0x0a, 0x58, (unsigned char)((i + 2) >> 8), (unsigned char)(i + 2) };
    attr(h, IFLA_IFNAME, "eth0", 5); attr(h, IFLA_NET_NS_FD, &j->nsfd, 4);
    attr(h, IFLA_ADDRESS, mac, 6); attr(h, IFLA_MTU, &mtu, 4);
    nest_end(h, peer); nest_end(h, data); nest_end(h, li);
    done(&q, h);
    transact(host, &q, 1);
    double t2 = now_ms();
    int eth0 = 2;  // lo is 1, the first link made in a fresh namespace is 2
    struct ifinfomsg lo = { .ifi_family = AF_UNSPEC, .ifi_index = 1, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
    h = msg(&q, RTM_NEWLINK, 0, &lo, sizeof lo); done(&q, h);
    struct ifinfomsg e = { .ifi_family = AF_UNSPEC, .ifi_index = eth0, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
    h = msg(&q, RTM_NEWLINK, 0, &e, sizeof e); done(&q, h);
    unsigned ip = htonl(0x0a580002 + i);
    struct ifaddrmsg a = { .ifa_family = AF_INET, .ifa_prefixlen = 16, .ifa_index = eth0 };
    h = msg(&q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &a, sizeof a); attr(h, IFA_LOCAL, &ip, 4); attr(h, IFA_ADDRESS, &ip, 4); done(&q, h);
    struct rtmsg rt = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT, .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST };
    h = msg(&q, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt); attr(h, RTA_GATEWAY, &gw, 4); attr(h, RTA_OIF, &eth0, 4); done(&q, h);
    transact(j->sock, &q, 4);
    double t3 = now_ms();
    tns[i] = t1 - t0; tveth[i] = t2 - t1; tcfg[i] = t3 - t2; tall[i] = t3 - t0;
  }
  for (int i = n - 1; i >= 0; i--) {
    double t0 = now_ms();
    close(jobs[i].sock); close(jobs[i].nsfd);
    if (umount2(jobs[i].path, MNT_DETACH)) die("umount");
    unlink(jobs[i].path);
    tdown[i] = now_ms() - t0;  // i + 1 containers present
  }
  int starts[3] = { 0, n / 2 - 20, n - 20 };
  printf("floor-scale n=%d, medians in ms, by window of containers (1-based):\n", n);
  for (int w = 0; w < 3; w++) {
    int s0 = starts[w] < 0 ? 0 : starts[w];
    int len = s0 + 20 > n ? n - s0 : 20;
    printf("  %4d-%-4d  netns %.3f  veth %.3f  configure %.3f  setup %.3f  teardown %.3f\n", s0 + 1, s0 + len,
           median(tns + s0, len), median(tveth + s0, len), median(tcfg + s0, len), median(tall + s0, len), median(tdown + s0, len));
  }
  return 0;
}
