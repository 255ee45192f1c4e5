// The rtnetlink reply parsers (links, addresses, routes, and the message and
// attribute splitting under them) on any bytes, as a dump reply the kernel
// could send: a malformed reply must be refused, never read out of bounds.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "check.h"
#include "netlink_message.h"
#include "rtnl_parse.h"

using namespace nsnet;

namespace {

bool within(const uint8_t* begin, size_t len, const uint8_t* p, size_t n) {
  return p >= begin && n <= len && static_cast<size_t>(p - begin) <= len - n;
}

bool isAddress(const Bytes& address) { return address.empty() || address.size() == 4 || address.size() == 16; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<Message> messages;
  bool split = splitMessages(data, size, messages);
  for (const auto& message : messages) {
    FUZZ_CHECK(within(data, size, reinterpret_cast<const uint8_t*>(message.header), message.header->nlmsg_len));
    FUZZ_CHECK(message.payloadLen + NLMSG_HDRLEN == message.header->nlmsg_len);
    AttributeList attrs;
    parseAttributes(message.payload, message.payloadLen, attrs);
    for (const auto& attr : attrs) FUZZ_CHECK(within(message.payload, message.payloadLen, attr.data, attr.len));
  }

  std::vector<LinkInfo> links;
  std::vector<AddressInfo> addresses;
  std::vector<RouteInfo> routes;
  bool linksParsed = parseLinks(data, size, links);
  bool addressesParsed = parseAddresses(data, size, addresses);
  bool routesParsed = parseRoutes(data, size, routes);
  // Reading the counters too only refuses more.
  std::vector<LinkInfo> counted;
  if (parseLinks(data, size, counted, true)) FUZZ_CHECK(linksParsed && counted.size() == links.size());
  // Each parser splits the messages first: a buffer that does not split is refused by all.
  if (!split) FUZZ_CHECK(!linksParsed && !addressesParsed && !routesParsed);
  if (split) {
    for (const auto& link : links) FUZZ_CHECK(!link.name || link.name->size() < size);
    for (const auto& address : addresses) FUZZ_CHECK(isAddress(address.address));
    for (const auto& route : routes)
      FUZZ_CHECK(isAddress(route.dst) && isAddress(route.gateway) && isAddress(route.prefSrc));
    FUZZ_CHECK(links.size() + addresses.size() + routes.size() <= messages.size());
  }
  return 0;
}
