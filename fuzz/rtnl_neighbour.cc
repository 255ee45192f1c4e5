// The neighbour parser and the notification parser (rtnl_neighbour.h,
// rtnl_events.h) on any bytes, as a dump reply or a run of notifications the
// kernel could send: a malformed one must be refused, never read out of
// bounds, and what is read holds addresses of the lengths netlink carries.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "check.h"
#include "netlink_message.h"
#include "rtnl_events.h"
#include "rtnl_neighbour.h"

using namespace nsnet;

namespace {

bool isAddress(const Bytes& address) { return address.empty() || address.size() == 4 || address.size() == 16; }

void checkNeighbour(const NeighbourInfo& neighbour) {
  FUZZ_CHECK(isAddress(neighbour.dst));
  FUZZ_CHECK(neighbour.lladdr.size() <= 32);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<Message> messages;
  bool split = splitMessages(data, size, messages);

  std::vector<NeighbourInfo> neighbours;
  std::vector<RtnlEvent> events;
  bool neighboursParsed = parseNeighbours(data, size, neighbours);
  bool eventsParsed = parseEvents(data, size, events);
  // Both split the messages first: a buffer that does not split is refused by both.
  if (!split) FUZZ_CHECK(!neighboursParsed && !eventsParsed);
  if (!split) return 0;
  for (const auto& neighbour : neighbours) checkNeighbour(neighbour);
  FUZZ_CHECK(neighbours.size() <= messages.size());
  FUZZ_CHECK(events.size() <= messages.size());
  for (const auto& event : events) {
    switch (event.kind) {
      case EventKind::Neighbour: checkNeighbour(event.neighbour); break;
      case EventKind::Address: FUZZ_CHECK(isAddress(event.address.address)); break;
      case EventKind::Route:
        FUZZ_CHECK(isAddress(event.route.dst) && isAddress(event.route.gateway) && isAddress(event.route.prefSrc));
        break;
      case EventKind::Link: FUZZ_CHECK(!event.link.name || event.link.name->size() < size); break;
    }
  }
  // Every neighbour entry of a reply that parses as notifications is one of them too.
  if (neighboursParsed && eventsParsed) {
    size_t created = 0;
    for (const auto& event : events) created += event.kind == EventKind::Neighbour && !event.removed;
    FUZZ_CHECK(created == neighbours.size());
  }
  return 0;
}
