/*
 * The kernel's floor: the least work the kernel must do to give a container
 * what nsnet gives it, with no library, no state and no process start around
 * it. Every nsnet figure in the benchmarks is printed as a ratio to this one,
 * measured in the same run: the machines drift, a ratio much less.
 *
 * Per container, one at a time (`floor N`):
 *   netns      a named namespace: unshare(CLONE_NEWNET) and back with
 *              setns, a bind mount of it under the netns directory, a
 *              netlink socket opened inside it (nsnet keeps such a socket),
 *              and IPv6 off for the links made in it: eth0 of a container
 *              on an IPv4 network has none in nsnet either; with it, every
 *              new eth0 sends neighbour discovery and MLD that the bridge
 *              floods to every port, and with 1,000 containers on a bridge
 *              setup takes several times as long;
 *   veth       one RTM_NEWLINK: host end on the bridge and up, peer eth0
 *              made straight in the namespace; the echoed host end names the
 *              peer's index, as nsnet reads it;
 *   configure  one sendmsg in the namespace: lo up, eth0 up, address,
 *              default route;
 *   port       with --port: one nf_tables transaction adding one element
 *              (tcp . host port : address . 80) to a map that a fixed DNAT
 *              rule looks up, which is what a published port is in nsnet
 *              (its table and rules are made once, untimed, with `nft -f`);
 *   setup      the sum;
 *   teardown   close the sockets, (with --port, one transaction deleting the
 *              element), umount + unlink: deleting the namespace, whose veth
 *              the kernel then removes in the background, as nsnet does.
 * `floor N burst` makes all N namespaces from one thread first, then the
 * veths 32 to a sendmsg, then configures each, then (with --port) adds the
 * elements, a thousand to a transaction, then tears all down: the kernel's
 * work for a burst, printed per container (wall time / N).
 *
 * `floor N routed [ipv6]` makes a routed network's containers instead, all N
 * kept until the end (IPv4 only, with IPv6 off in each namespace as above;
 * with `ipv6`, dual-stack, IPv6 left on): a veth whose host end is on no
 * bridge, the host's /32 (and /128) route through it, and inside lo and eth0
 * up, the addresses, the link-local gateway's permanent neighbour entry, its
 * route and the default route, one sendmsg. It prints, per step, the median
 * of the first and of the last 100 setups: what the kernel's own work does
 * as the containers add up (bench/routed-flatness.mjs sets nsnet beside it).
 * It checks no traffic (the host it runs in forwards nothing): what it
 * measures is the kernel's work for the requests nsnet sends.
 *
 * Afterwards (untimed) it checks traffic with TCP connections from the last
 * container: to the first one across the bridge, to a host address off the
 * subnet (the default route), and with --port to the first container's host
 * port (the DNAT map). No ping or other tool is needed.
 *
 * It changes the network namespace it runs in (a bridge, its addresses, with
 * --port an nf_tables table and ip_forward) and so refuses to run outside
 * scripts/sandbox: NSNET_SANDBOX must be "inside" and the netns directory
 * (NSNET_NETNS_DIR, default /run/netns) a tmpfs. It removes everything it made before it exits.
 *
 * Output, figures in ms (medians one at a time, per container in a burst);
 * one at a time, a first line with the median setup of the first and of the
 * last 20 containers, which shows whether the kernel slows as they add up:
 *   floor one n=1000 setup of the first and last 20: early 1.030 late 2.280
 *   floor one n=1000 port=0 ms: netns 0.795 veth 0.848 configure 0.169 port 0.000 setup 1.945 teardown 0.074
 *
 *   floor routed dual-stack n=2000, medians of the first and last 100 (ms): netns 0.533 -> 0.672 (1.26x)
 *     veth 0.424 -> 0.764 (1.80x) configure 0.170 -> 1.100 (6.45x) setup 1.186 -> 2.542 (2.14x)
 *
 * Build: cc -O2 -o floor floor.c -lpthread   (bench/floor.mjs does it)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
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

#define TMPFS_MAGIC 0x01021994
#define BRIDGE "floorbr0"
#define TABLE "nsfloor"
#define MAP "ports"
#define SUBNET 0x0ac70000u         /* 10.199.0.0/16 */
#define GATEWAY (SUBNET + 1)       /* the bridge's address */
#define OFF_SUBNET 0xc0000201u     /* 192.0.2.1, on the host, reached by the default route */
#define HOST_PORT_BASE 40000
#define CONTAINER_PORT 80
#define BURST_VETHS 32
#define SCALE_WINDOW 20 /* how many of the first and the last containers show whether setup slows as they add up */

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* ---- netlink messages: queued in one buffer, sent in one sendmsg ---- */

struct queue {
  char bytes[1 << 17];
  int length;
  int acks; /* messages that will be acknowledged */
};

static struct nlmsghdr *message(struct queue *q, int type, int flags, const void *header, int header_length) {
  struct nlmsghdr *h = (struct nlmsghdr *)(q->bytes + q->length);
  if (q->length + 4096 > (int)sizeof q->bytes) { errno = ENOBUFS; die("queue"); }
  memset(h, 0, NLMSG_SPACE(header_length));
  h->nlmsg_type = type;
  h->nlmsg_flags = NLM_F_REQUEST | flags;
  h->nlmsg_len = NLMSG_LENGTH(header_length);
  memcpy(NLMSG_DATA(h), header, header_length);
  return h;
}

static struct rtattr *attribute(struct nlmsghdr *h, int type, const void *data, int length) {
  struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
  a->rta_type = type;
  a->rta_len = RTA_LENGTH(length);
  if (length) memcpy(RTA_DATA(a), data, length);
  h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
  return a;
}

static struct rtattr *nest(struct nlmsghdr *h, int type) { return attribute(h, type | NLA_F_NESTED, NULL, 0); }
static void nest_end(struct nlmsghdr *h, struct rtattr *a) { a->rta_len = (char *)h + h->nlmsg_len - (char *)a; }

static void queued(struct queue *q, struct nlmsghdr *h) {
  q->length += NLMSG_ALIGN(h->nlmsg_len);
  if (h->nlmsg_flags & NLM_F_ACK) q->acks++;
}

/* Called for every answer that is not an acknowledgement (echoed messages). */
typedef void (*on_answer)(struct nlmsghdr *h, void *context);

/* Sends the queue in one sendmsg and reads until every message is acknowledged; an error ends the program. */
static void transact(int fd, struct queue *q, on_answer answer, void *context) {
  if (send(fd, q->bytes, q->length, 0) != q->length) die("netlink send");
  int waiting = q->acks;
  q->length = 0;
  q->acks = 0;
  char reply[32768];
  while (waiting > 0) {
    int n = recv(fd, reply, sizeof reply, 0);
    if (n < 0) die("netlink recv");
    for (struct nlmsghdr *h = (struct nlmsghdr *)reply; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_type != NLMSG_ERROR) {
        if (answer) answer(h, context);
        continue;
      }
      struct nlmsgerr *e = NLMSG_DATA(h);
      if (e->error) { errno = -e->error; die("netlink request"); }
      waiting--;
    }
  }
}

static int netlink_open(int protocol) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) die("netlink socket");
  struct sockaddr_nl address = { .nl_family = AF_NETLINK };
  if (bind(fd, (struct sockaddr *)&address, sizeof address)) die("netlink bind");
  return fd;
}

/* ---- one container ---- */

/* `routed ipv6`: containers with IPv6 too, whose namespaces keep it on. */
static int dual_stack;
/* A routed network's gateway MAC: its host ends', and the one its containers' neighbour entry names. */
static const unsigned char GATEWAY_MAC[6] = { 0xee, 0xee, 0xee, 0xee, 0xee, 0xee };

struct container {
  char path[256];
  char host_end[IFNAMSIZ];
  unsigned address; /* host byte order */
  int netns;        /* the namespace, open */
  int rtnl;         /* a netlink socket inside it */
  int peer;         /* eth0's index in it */
};

/* In the calling thread's namespace (/proc/sys/net is the opener's); a kernel without IPv6 has nothing to turn off. */
static void disable_ipv6_by_default(void) {
  int fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return;
  if (fd < 0 || write(fd, "1", 1) != 1) die("disable IPv6 in the namespace");
  close(fd);
}

/*
 * A new namespace, which outlives the calling thread's stay in it through
 * the bind mount: the thread unshares into it, then goes back to its own
 * with setns. (A short-lived thread for the stay would cost two wake-ups
 * more, its start and its join, which on a virtual machine are tens of
 * microseconds each: user space, not the kernel's work. nsnet does the same.)
 */
static void *make_namespace(void *arg) {
  struct container *c = arg;
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) die("open the thread's namespace");
  if (unshare(CLONE_NEWNET)) die("unshare");
  int f = open(c->path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
  if (f < 0) die("create the mount point");
  close(f);
  if (mount("/proc/thread-self/ns/net", c->path, "none", MS_BIND, NULL)) die("bind mount");
  c->netns = open(c->path, O_RDONLY | O_CLOEXEC);
  if (c->netns < 0) die("open the namespace");
  c->rtnl = netlink_open(NETLINK_ROUTE);
  if (!dual_stack) disable_ipv6_by_default();
  if (setns(home, CLONE_NEWNET)) die("setns back");
  close(home);
  return NULL;
}

struct many { struct container *containers; int count; };

static void *make_namespaces(void *arg) {
  struct many *m = arg;
  for (int i = 0; i < m->count; i++) make_namespace(&m->containers[i]);
  return NULL;
}

static void on_thread(void *(*body)(void *), void *arg) {
  pthread_t thread;
  if ((errno = pthread_create(&thread, NULL, body, arg))) die("pthread_create");
  pthread_join(thread, NULL);
}

/* The echoed host end: its IFLA_LINK is the peer's index in the namespace. */
static void read_peer_index(struct nlmsghdr *h, void *context) {
  struct many *m = context;
  if (h->nlmsg_type != RTM_NEWLINK) return;
  struct ifinfomsg *ifi = NLMSG_DATA(h);
  int length = IFLA_PAYLOAD(h), link = 0;
  const char *name = NULL;
  for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, length); a = RTA_NEXT(a, length)) {
    if (a->rta_type == IFLA_LINK) link = *(int *)RTA_DATA(a);
    if (a->rta_type == IFLA_IFNAME) name = RTA_DATA(a);
  }
  for (int i = 0; name && i < m->count; i++) {
    if (!strcmp(m->containers[i].host_end, name)) m->containers[i].peer = link;
  }
}

/* The host end up, on `bridge` (0: none), with `mac` (NULL: the kernel's); its peer eth0 made in the namespace. */
static void queue_veth(struct queue *q, struct container *c, int bridge, const unsigned char *mac) {
  struct ifinfomsg host = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  struct nlmsghdr *h = message(q, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK | NLM_F_ECHO, &host, sizeof host);
  attribute(h, IFLA_IFNAME, c->host_end, strlen(c->host_end) + 1);
  if (bridge) attribute(h, IFLA_MASTER, &bridge, 4);
  if (mac) attribute(h, IFLA_ADDRESS, mac, 6);
  struct rtattr *info = nest(h, IFLA_LINKINFO);
  attribute(h, IFLA_INFO_KIND, "veth", 5);
  struct rtattr *data = nest(h, IFLA_INFO_DATA);
  struct rtattr *peer = nest(h, VETH_INFO_PEER);
  struct ifinfomsg peer_header = { .ifi_family = AF_UNSPEC };
  memcpy((char *)h + h->nlmsg_len, &peer_header, sizeof peer_header);
  h->nlmsg_len += sizeof peer_header;
  attribute(h, IFLA_IFNAME, "eth0", 5);
  attribute(h, IFLA_NET_NS_FD, &c->netns, 4);
  nest_end(h, peer);
  nest_end(h, data);
  nest_end(h, info);
  queued(q, h);
}

static void queue_link_up(struct queue *q, int index) {
  struct ifinfomsg up = { .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
  queued(q, message(q, RTM_NEWLINK, NLM_F_ACK, &up, sizeof up));
}

static void queue_address(struct queue *q, int index, unsigned address, int prefix) {
  struct ifaddrmsg header = { .ifa_family = AF_INET, .ifa_prefixlen = prefix, .ifa_index = index };
  unsigned be = htonl(address);
  struct nlmsghdr *h = message(q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, &header, sizeof header);
  attribute(h, IFA_LOCAL, &be, 4);
  attribute(h, IFA_ADDRESS, &be, 4);
  queued(q, h);
}

/* lo up, eth0 up, address, default route: one sendmsg in the namespace. */
static void configure(struct queue *q, struct container *c) {
  queue_link_up(q, 1);
  queue_link_up(q, c->peer);
  queue_address(q, c->peer, c->address, 16);
  struct rtmsg route = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                         .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST };
  struct nlmsghdr *h = message(q, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, &route, sizeof route);
  unsigned gateway = htonl(GATEWAY);
  attribute(h, RTA_GATEWAY, &gateway, 4);
  attribute(h, RTA_OIF, &c->peer, 4);
  queued(q, h);
  transact(c->rtnl, q, NULL, NULL);
}

/* ---- published ports: elements of an nf_tables map, in one transaction ---- */

static void queue_batch_mark(struct queue *q, int type) {
  struct nfgenmsg header = { .nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0, .res_id = htons(NFNL_SUBSYS_NFTABLES) };
  queued(q, message(q, type, 0, &header, sizeof header));
}

/* Elements for containers first..first+count-1, in one message: tcp . host port -> address . 80, each field in a 4-byte register. */
static void queue_port_elements(struct queue *q, int first, int count, int add) {
  struct nfgenmsg header = { .nfgen_family = NFPROTO_INET, .version = NFNETLINK_V0 };
  int type = (NFNL_SUBSYS_NFTABLES << 8) | (add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
  struct nlmsghdr *h = message(q, type, NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0), &header, sizeof header);
  attribute(h, NFTA_SET_ELEM_LIST_TABLE, TABLE, sizeof TABLE);
  attribute(h, NFTA_SET_ELEM_LIST_SET, MAP, sizeof MAP);
  struct rtattr *list = nest(h, NFTA_SET_ELEM_LIST_ELEMENTS);
  for (int i = first; i < first + count; i++) {
    struct rtattr *element = nest(h, NFTA_LIST_ELEM);
    unsigned char key[8] = { IPPROTO_TCP, 0, 0, 0, (HOST_PORT_BASE + i) >> 8, (HOST_PORT_BASE + i) & 255, 0, 0 };
    struct rtattr *k = nest(h, NFTA_SET_ELEM_KEY);
    attribute(h, NFTA_DATA_VALUE, key, sizeof key);
    nest_end(h, k);
    if (add) {
      unsigned address = htonl(SUBNET + 2 + i);
      unsigned char data[8] = { 0, 0, 0, 0, CONTAINER_PORT >> 8, CONTAINER_PORT & 255, 0, 0 };
      memcpy(data, &address, 4);
      struct rtattr *d = nest(h, NFTA_SET_ELEM_DATA);
      attribute(h, NFTA_DATA_VALUE, data, sizeof data);
      nest_end(h, d);
    }
    nest_end(h, element);
  }
  nest_end(h, list);
  queued(q, h);
}

/* One transaction for containers first..first+count-1 (a message holds at most 500 elements: attribute lengths are 16 bits). */
static void port_transaction(int nft, struct queue *q, int first, int count, int add) {
  queue_batch_mark(q, NFNL_MSG_BATCH_BEGIN);
  for (int i = first; i < first + count; i += 500) queue_port_elements(q, i, first + count - i < 500 ? first + count - i : 500, add);
  queue_batch_mark(q, NFNL_MSG_BATCH_END);
  transact(nft, q, NULL, NULL);
}

/* The fixed part, made once and untimed, as nsnet installs its ruleset once. */
static void run_nft(const char *script) {
  FILE *nft = popen("nft -f -", "w");
  if (!nft) die("nft");
  fputs(script, nft);
  if (pclose(nft) != 0) { fprintf(stderr, "floor: nft -f failed on:\n%s\n", script); exit(1); }
}

static const char RULESET[] =
  "table inet " TABLE " {\n"
  "  map " MAP " { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
  "  chain prerouting { type nat hook prerouting priority dstnat; policy accept;\n"
  "    meta nfproto ipv4 dnat ip to meta l4proto . th dport map @" MAP "\n  }\n"
  "  # the check connects from a container on the same bridge: its answer must come back through the host\n"
  "  chain postrouting { type nat hook postrouting priority srcnat; policy accept;\n"
  "    ct status dnat oifname " BRIDGE " masquerade\n  }\n"
  "}\n";

/* Routing between the bridge's ports for the DNAT check; returns the previous value to restore. */
static char set_ip_forward(char value) {
  const char *path = "/proc/sys/net/ipv4/ip_forward";
  char previous = '0';
  int fd = open(path, O_RDWR | O_CLOEXEC);
  if (fd < 0 || read(fd, &previous, 1) != 1 || pwrite(fd, &value, 1, 0) != 1) die(path);
  close(fd);
  return previous;
}

/* ---- the host's side: the bridge ---- */

static int make_bridge(int rtnl, struct queue *q) {
  struct ifinfomsg header = { .ifi_family = AF_UNSPEC };
  struct nlmsghdr *h = message(q, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, &header, sizeof header);
  attribute(h, IFLA_IFNAME, BRIDGE, sizeof BRIDGE);
  struct rtattr *info = nest(h, IFLA_LINKINFO);
  attribute(h, IFLA_INFO_KIND, "bridge", 7);
  nest_end(h, info);
  queued(q, h);
  transact(rtnl, q, NULL, NULL);
  int bridge = if_nametoindex(BRIDGE);
  if (!bridge) die("find the bridge");
  queue_link_up(q, bridge);
  queue_address(q, bridge, GATEWAY, 16);
  queue_address(q, bridge, OFF_SUBNET, 32);
  transact(rtnl, q, NULL, NULL);
  return bridge;
}

static void delete_bridge(int rtnl, struct queue *q, int bridge) {
  struct ifinfomsg header = { .ifi_family = AF_UNSPEC, .ifi_index = bridge };
  queued(q, message(q, RTM_DELLINK, NLM_F_ACK, &header, sizeof header));
  transact(rtnl, q, NULL, NULL);
}

/* ---- the traffic check ---- */

static int tcp_socket(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("tcp socket");
  struct timeval timeout = { .tv_sec = 3 };
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  return fd;
}

struct socket_in { int netns; int fd; };

/* A socket belongs to the namespace it was made in: make it on a thread that entered `netns`. */
static void *socket_in_namespace(void *arg) {
  struct socket_in *s = arg;
  if (setns(s->netns, CLONE_NEWNET)) die("setns");
  s->fd = tcp_socket();
  return NULL;
}

static int socket_in(int netns) {
  struct socket_in s = { .netns = netns };
  on_thread(socket_in_namespace, &s);
  return s.fd;
}

static void listen_on(int fd, unsigned address, int port) {
  int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(address) };
  if (bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 8)) die("listen");
}

static void expect_connection(int from_netns, unsigned address, int port, const char *what) {
  int fd = socket_in(from_netns);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(address) };
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
    fprintf(stderr, "floor: no traffic %s: %s\n", what, strerror(errno));
    exit(1);
  }
  close(fd);
}

/* The last container reaches the first across the bridge, the host by the default route, and the first by its published port. */
static void check_traffic(struct container *containers, int n, int with_port) {
  int listener = socket_in(containers[0].netns);
  listen_on(listener, INADDR_ANY, CONTAINER_PORT);
  int host = tcp_socket();
  listen_on(host, OFF_SUBNET, CONTAINER_PORT);
  struct container *last = &containers[n - 1];
  expect_connection(last->netns, containers[0].address, CONTAINER_PORT, "from the last container to the first");
  expect_connection(last->netns, OFF_SUBNET, CONTAINER_PORT, "from the last container to the host off its subnet");
  if (with_port) expect_connection(last->netns, GATEWAY, HOST_PORT_BASE, "from the last container to the first's published port");
  close(listener);
  close(host);
}

/* ---- teardown ---- */

static void delete_namespace(struct container *c) {
  close(c->rtnl);
  close(c->netns);
  if (umount2(c->path, MNT_DETACH)) die("umount");
  if (unlink(c->path)) die("unlink");
}

/* Untimed: the kernel removes the veths of deleted namespaces in the background; wait, so the next measurement starts even. */
static void wait_for_cleanup(struct container *containers, int n) {
  double deadline = now_ms() + 60000;
  for (int i = 0; i < n; i++) {
    while (if_nametoindex(containers[i].host_end) && now_ms() < deadline) usleep(2000);
  }
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *values, int n) {
  qsort(values, n, sizeof *values, compare);
  return values[n / 2];
}

enum { NETNS, VETH, CONFIGURE, PORT, SETUP, TEARDOWN, STEPS };
static const char *STEP_NAMES[STEPS] = { "netns", "veth", "configure", "port", "setup", "teardown" };

static void one_at_a_time(struct container *c, int n, int bridge, int rtnl, int nft, struct queue *q, int with_port, double *times[STEPS]) {
  for (int i = 0; i < n; i++) {
    struct many one = { &c[i], 1 };
    double t0 = now_ms();
    make_namespace(&c[i]);
    double t1 = now_ms();
    queue_veth(q, &c[i], bridge, NULL);
    transact(rtnl, q, read_peer_index, &one);
    if (!c[i].peer) { errno = ENODEV; die("the kernel did not echo the veth's peer index"); }
    double t2 = now_ms();
    configure(q, &c[i]);
    double t3 = now_ms();
    if (with_port) port_transaction(nft, q, i, 1, 1);
    double t4 = now_ms();
    times[NETNS][i] = t1 - t0;
    times[VETH][i] = t2 - t1;
    times[CONFIGURE][i] = t3 - t2;
    times[PORT][i] = t4 - t3;
    times[SETUP][i] = t4 - t0;
  }
  check_traffic(c, n, with_port);
  for (int i = 0; i < n; i++) {
    double t0 = now_ms();
    if (with_port) port_transaction(nft, q, i, 1, 0);
    delete_namespace(&c[i]);
    times[TEARDOWN][i] = now_ms() - t0;
  }
  int window = n < SCALE_WINDOW ? n : SCALE_WINDOW;
  double early = median(times[SETUP], window), late = median(times[SETUP] + n - window, window);
  for (int s = 0; s < STEPS; s++) times[s][0] = median(times[s], n);
  printf("floor one n=%d setup of the first and last %d: early %.3f late %.3f\n", n, window, early, late);
}

static void burst(struct container *c, int n, int bridge, int rtnl, int nft, struct queue *q, int with_port, double *times[STEPS]) {
  struct many all = { c, n };
  double t0 = now_ms();
  make_namespaces(&all);
  double t1 = now_ms();
  for (int first = 0; first < n; first += BURST_VETHS) {
    for (int i = first; i < n && i < first + BURST_VETHS; i++) queue_veth(q, &c[i], bridge, NULL);
    transact(rtnl, q, read_peer_index, &all);
  }
  for (int i = 0; i < n; i++) {
    if (!c[i].peer) { errno = ENODEV; die("the kernel did not echo a veth's peer index"); }
  }
  double t2 = now_ms();
  for (int i = 0; i < n; i++) configure(q, &c[i]);
  double t3 = now_ms();
  for (int first = 0; with_port && first < n; first += 1000) port_transaction(nft, q, first, n - first < 1000 ? n - first : 1000, 1);
  double t4 = now_ms();
  check_traffic(c, n, with_port);
  double t5 = now_ms();
  for (int first = 0; with_port && first < n; first += 1000) port_transaction(nft, q, first, n - first < 1000 ? n - first : 1000, 0);
  for (int i = 0; i < n; i++) delete_namespace(&c[i]);
  double t6 = now_ms();
  double totals[STEPS] = { t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0, t6 - t5 };
  for (int s = 0; s < STEPS; s++) times[s][0] = totals[s] / n;
}

/* Refuses to run where it would change the machine's own network. */
static const char *netns_directory(void) {
  const char *dir = getenv("NSNET_NETNS_DIR");
  if (!dir || !*dir) dir = "/run/netns";
  const char *sandbox = getenv("NSNET_SANDBOX");
  struct statfs fs;
  if (!sandbox || strcmp(sandbox, "inside") || statfs(dir, &fs) || fs.f_type != TMPFS_MAGIC) {
    fprintf(stderr, "floor: run it inside scripts/sandbox (NSNET_SANDBOX=inside, %s a tmpfs)\n", dir);
    exit(2);
  }
  return dir;
}

/* ---- a routed network's containers (`floor N routed [ipv6]`) ---- */

#define ROUTED_GATEWAY 0xa9fe0101u /* 169.254.1.1 */

static void queue_route(struct queue *q, int family, const void *dst, int prefix, const void *gateway, int oif, int scope, int metric) {
  struct rtmsg route = { .rtm_family = family, .rtm_dst_len = prefix, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT, .rtm_scope = scope, .rtm_type = RTN_UNICAST };
  int size = family == AF_INET ? 4 : 16;
  struct nlmsghdr *h = message(q, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, &route, sizeof route);
  if (prefix) attribute(h, RTA_DST, dst, size);
  if (gateway) attribute(h, RTA_GATEWAY, gateway, size);
  attribute(h, RTA_OIF, &oif, 4);
  if (metric) attribute(h, RTA_PRIORITY, &metric, 4);
  queued(q, h);
}

static void queue_neighbour(struct queue *q, int family, const void *address, int index) {
  struct ndmsg header = { .ndm_family = family, .ndm_ifindex = index, .ndm_state = NUD_PERMANENT };
  struct nlmsghdr *h = message(q, RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK, &header, sizeof header);
  attribute(h, NDA_DST, address, family == AF_INET ? 4 : 16);
  attribute(h, NDA_LLADDR, GATEWAY_MAC, 6);
  queued(q, h);
}

static void address6(unsigned char out[16], int i) {
  static const unsigned char prefix[8] = { 0xfd, 0x00, 0x01, 0x55, 0, 0, 0, 0 }; /* fd00:155::/64 */
  memcpy(out, prefix, 8);
  memset(out + 8, 0, 8);
  out[14] = (i + 2) >> 8;
  out[15] = (i + 2) & 0xff;
}

/*
 * What a routed network's container is in nsnet: a veth whose host end is on
 * no bridge and has the gateway's MAC, the host's /32 (and /128) route to the
 * container through it; inside, lo and eth0 up, the /32 (and /128, nodad),
 * the gateway's permanent neighbour entry, its route on eth0, and the default
 * route through it. All N stay until the end: the setup of the last against
 * the first shows what the kernel's own work does with N.
 */
static void routed(struct container *c, int n, int rtnl, struct queue *q, double *times[STEPS]) {
  for (int i = 0; i < n; i++) {
    struct many one = { &c[i], 1 };
    double t0 = now_ms();
    make_namespace(&c[i]);
    double t1 = now_ms();
    queue_veth(q, &c[i], 0, GATEWAY_MAC);
    transact(rtnl, q, read_peer_index, &one);
    if (!c[i].peer) { errno = ENODEV; die("the kernel did not echo the veth's peer index"); }
    int host_index = if_nametoindex(c[i].host_end);
    unsigned be = htonl(c[i].address), gateway = htonl(ROUTED_GATEWAY);
    unsigned char six[16], gateway6[16] = { 0xfe, 0x80, [15] = 1 };
    address6(six, i);
    queue_route(q, AF_INET, &be, 32, NULL, host_index, RT_SCOPE_LINK, 0);
    if (dual_stack) queue_route(q, AF_INET6, six, 128, NULL, host_index, RT_SCOPE_UNIVERSE, 0);
    transact(rtnl, q, NULL, NULL);
    double t2 = now_ms();
    queue_link_up(q, 1);
    queue_link_up(q, c[i].peer);
    queue_address(q, c[i].peer, c[i].address, 32);
    queue_neighbour(q, AF_INET, &gateway, c[i].peer);
    queue_route(q, AF_INET, &gateway, 32, NULL, c[i].peer, RT_SCOPE_LINK, c[i].peer);
    queue_route(q, AF_INET, NULL, 0, &gateway, c[i].peer, RT_SCOPE_UNIVERSE, 0);
    if (dual_stack) {
      struct ifaddrmsg header = { .ifa_family = AF_INET6, .ifa_prefixlen = 128, .ifa_flags = IFA_F_NODAD, .ifa_index = c[i].peer };
      struct nlmsghdr *a = message(q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, &header, sizeof header);
      attribute(a, IFA_LOCAL, six, 16);
      attribute(a, IFA_ADDRESS, six, 16);
      queued(q, a);
      queue_neighbour(q, AF_INET6, gateway6, c[i].peer);
      queue_route(q, AF_INET6, NULL, 0, gateway6, c[i].peer, RT_SCOPE_UNIVERSE, 0);
    }
    transact(c[i].rtnl, q, NULL, NULL);
    double t3 = now_ms();
    times[NETNS][i] = t1 - t0;
    times[VETH][i] = t2 - t1;
    times[CONFIGURE][i] = t3 - t2;
    times[SETUP][i] = t3 - t0;
  }
  int window = n < 100 ? n : 100;
  printf("floor routed%s n=%d, medians of the first and last %d (ms):", dual_stack ? " dual-stack" : " IPv4", n, window);
  for (int s = NETNS; s <= SETUP; s++) {
    if (s == PORT) continue;
    double early = median(times[s], window), late = median(times[s] + n - window, window);
    printf(" %s %.3f -> %.3f (%.2fx)", STEP_NAMES[s], early, late, late / early);
  }
  printf("\n");
  for (int i = 0; i < n; i++) delete_namespace(&c[i]);
}

/* N containers to make: their mount points in `dir`, host ends `<prefix><i>`, addresses from SUBNET + 2. */
static struct container *new_containers(int n, const char *dir, const char *prefix) {
  struct container *containers = calloc(n, sizeof *containers);
  if (!containers) die("calloc");
  for (int i = 0; i < n; i++) {
    snprintf(containers[i].path, sizeof containers[i].path, "%s/floor%d", dir, i);
    snprintf(containers[i].host_end, sizeof containers[i].host_end, "%s%d", prefix, i);
    containers[i].address = SUBNET + 2 + i;
  }
  return containers;
}

/* A column of n times for each step. */
static void new_times(double *times[STEPS], int n) {
  for (int s = 0; s < STEPS; s++)
    if (!(times[s] = calloc(n, sizeof(double)))) die("calloc");
}

int main(int argc, char **argv) {
  int n = 200, bursting = 0, with_port = 0, routed_network = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "burst")) bursting = 1;
    else if (!strcmp(argv[i], "--port")) with_port = 1;
    else if (!strcmp(argv[i], "routed")) routed_network = 1;
    else if (!strcmp(argv[i], "ipv6")) dual_stack = 1;
    else if (atoi(argv[i]) > 0 && atoi(argv[i]) < 60000) n = atoi(argv[i]);
    else { fprintf(stderr, "usage: floor [N] [burst] [--port] | floor [N] routed [ipv6]\n"); return 2; }
  }
  const char *dir = netns_directory();
  if (routed_network) {
    static struct queue rq;
    int rtnl = netlink_open(NETLINK_ROUTE);
    struct container *containers = new_containers(n, dir, "flr");
    double *times[STEPS];
    new_times(times, n);
    routed(containers, n, rtnl, &rq, times);
    wait_for_cleanup(containers, n);
    return 0;
  }
  static struct queue q;
  int rtnl = netlink_open(NETLINK_ROUTE);
  int nft = -1;
  char ip_forward = 0;
  if (with_port) {
    ip_forward = set_ip_forward('1');
    run_nft(RULESET);
    nft = netlink_open(NETLINK_NETFILTER);
  }
  int bridge = make_bridge(rtnl, &q);
  struct container *containers = new_containers(n, dir, "flv");
  double *times[STEPS];
  new_times(times, n);
  (bursting ? burst : one_at_a_time)(containers, n, bridge, rtnl, nft, &q, with_port, times);
  printf("floor %s n=%d port=%d ms:", bursting ? "burst" : "one", n, with_port);
  for (int s = 0; s < STEPS; s++) printf(" %s %.3f", STEP_NAMES[s], times[s][0]);
  printf("\n");
  wait_for_cleanup(containers, n);
  delete_bridge(rtnl, &q, bridge);
  if (with_port) {
    run_nft("delete table inet " TABLE "\n");
    set_ip_forward(ip_forward);
  }
  return 0;
}
