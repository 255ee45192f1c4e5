// rtnetlink notifications: a socket of a namespace that has joined the
// multicast groups of links, addresses, routes and neighbours, and the
// reading of what it receives.
#pragma once

#include <cstdint>
#include <vector>

#include "rtnl_neighbour.h"
#include "rtnl_types.h"

namespace nsnet {

// What the kernel may hold for a socket that is not read: a burst larger
// than this (with what the reader queues) makes it drop notifications and
// report ENOBUFS. 1 MiB, counted by the kernel as 2: some 2,500 address or
// route notifications (each takes about 800 bytes of buffer), 1,000 links.
constexpr int kEventSocketBufferBytes = 1024 * 1024;

// Opens, from a thread inside the namespace `netnsFd` (-1: this thread's),
// a non-blocking rtnetlink socket that has joined `groups` (RTNLGRP_*).
// Returns the fd or -errno, with nothing left open.
int openEventSocket(int netnsFd, const std::vector<uint32_t>& groups);

// Reads one datagram without waiting into `buffer`: its length, or -errno
// (-EAGAIN: nothing there; -ENOBUFS: the kernel dropped notifications;
// -EMSGSIZE: one did not fit the buffer and was lost).
int receiveEvents(int fd, Bytes& buffer);

enum class EventKind { Link, Address, Route, Neighbour };

struct RtnlEvent {
  EventKind kind = EventKind::Link;
  bool removed = false;  // RTM_DEL*
  LinkInfo link;
  AddressInfo address;
  RouteInfo route;
  NeighbourInfo neighbour;
};

// The notifications of a buffer, in order. A link's bridge-port messages
// (AF_BRIDGE) and messages of other types are skipped; false when one is
// malformed.
bool parseEvents(const uint8_t* data, size_t len, std::vector<RtnlEvent>& out);

}  // namespace nsnet
