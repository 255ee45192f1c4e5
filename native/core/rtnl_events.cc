#include "rtnl_events.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include "netns.h"
#include "rtnl_parse.h"

namespace nsnet {

int openEventSocket(int netnsFd, const std::vector<uint32_t>& groups) {
  int fd = openNetlinkIn(netnsFd, NETLINK_ROUTE);
  if (fd < 0) return fd;
  int error = 0;
  for (uint32_t group : groups)
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) error = -errno;
  // The socket opener asks for a large buffer: this one stays small, so that
  // a reader that falls behind learns it (ENOBUFS) while it is still soon.
  if (!error && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kEventSocketBufferBytes, sizeof kEventSocketBufferBytes) < 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kEventSocketBufferBytes, sizeof kEventSocketBufferBytes);
  int flags = fcntl(fd, F_GETFL);
  if (!error && (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)) error = -errno;
  if (!error) return fd;
  close(fd);
  return error;
}

int receiveEvents(int fd, Bytes& buffer) {
  ssize_t got;
  do got = recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC);
  while (got < 0 && errno == EINTR);
  if (got < 0) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  if (static_cast<size_t>(got) > buffer.size()) return -EMSGSIZE;
  return static_cast<int>(got);
}

namespace {
bool parseEvent(const Message& message, RtnlEvent& event) {
  uint16_t type = message.header->nlmsg_type;
  event.removed = type == RTM_DELLINK || type == RTM_DELADDR || type == RTM_DELROUTE || type == RTM_DELNEIGH;
  switch (type) {
    case RTM_NEWLINK:
    case RTM_DELLINK: event.kind = EventKind::Link; return parseLinkMessage(message, event.link);
    case RTM_NEWADDR:
    case RTM_DELADDR: event.kind = EventKind::Address; return parseAddressMessage(message, event.address);
    case RTM_NEWROUTE:
    case RTM_DELROUTE: event.kind = EventKind::Route; return parseRouteMessage(message, event.route);
    default: event.kind = EventKind::Neighbour; return parseNeighbourMessage(message, event.neighbour);
  }
}

bool isEvent(const Message& message) {
  switch (message.header->nlmsg_type) {
    case RTM_NEWLINK:
    case RTM_DELLINK:
      // A bridge port's own notification (its STP state) repeats the link in another shape.
      return !(message.payloadLen > 0 && message.payload[0] == AF_BRIDGE);
    case RTM_NEWADDR:
    case RTM_DELADDR:
    case RTM_NEWROUTE:
    case RTM_DELROUTE:
    case RTM_NEWNEIGH:
    case RTM_DELNEIGH: return true;
    default: return false;
  }
}
}  // namespace

bool parseEvents(const uint8_t* data, size_t len, std::vector<RtnlEvent>& out) {
  std::vector<Message> messages;
  if (!splitMessages(data, len, messages)) return false;
  for (const auto& message : messages) {
    if (!isEvent(message)) continue;
    RtnlEvent event;
    if (!parseEvent(message, event)) return false;
    out.push_back(std::move(event));
  }
  return true;
}

}  // namespace nsnet
