// The rtnetlink encoders (rtnl_encode.h, driven by link_schema.cc's rows) on
// any link, address or route: the message is whole (nlmsg_len the buffer's
// size, every attribute inside its parent, nests included, 4-byte aligned
// with zero padding, walked by netlink_walk.h), and the reply parsers read it
// back as what was asked, the kernel answering in the same format. An empty
// message (an attribute outgrew 16 bits) only for that much input.
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "check.h"
#include "fuzz_input.h"
#include "netlink_walk.h"
#include "rtnl_encode.h"
#include "rtnl_parse.h"

using namespace nsnet;
using namespace nsnet::fuzz;

namespace {

const char* const kKinds[] = {"veth", "bridge", "dummy", "ifb", "vxlan", "macvlan", "ipvlan", "vlan"};

// Every attribute of a run, nests walked too; a veth's peer nest starts with
// its own ifinfomsg. No type twice in a run: the kernel would keep the last.
void checkRun(const uint8_t* data, size_t len, bool inInfoData = false) {
  std::set<uint16_t> types;
  for (const Attr& attr : walk(data, len)) {
    FUZZ_CHECK(types.insert(attr.type).second);
    if (!attr.nested) continue;
    if (inInfoData && attr.type == VETH_INFO_PEER) {
      FUZZ_CHECK(attr.len >= NLMSG_ALIGN(sizeof(ifinfomsg)));
      checkRun(attr.data + NLMSG_ALIGN(sizeof(ifinfomsg)), attr.len - NLMSG_ALIGN(sizeof(ifinfomsg)));
    } else {
      checkRun(attr.data, attr.len, attr.type == IFLA_INFO_DATA);
    }
  }
}

// A whole message whose family header is `headerLen` long; false when it is empty.
bool checkEncoded(const Bytes& msg, size_t headerLen, size_t inputBytes) {
  if (msg.empty()) {
    FUZZ_CHECK(inputBytes > kMaxLength - 256);
    return false;
  }
  checkWhole(msg, headerLen);
  size_t offset = NLMSG_HDRLEN + NLMSG_ALIGN(headerLen);
  checkRun(msg.data() + offset, msg.size() - offset);
  return true;
}

// A string as the parser reads it back: up to the first NUL.
std::string upToNul(const std::string& text) { return text.substr(0, text.find('\0')); }

template <typename T>
std::optional<T> maybe(FuzzedDataProvider& in, T value) {
  return in.ConsumeBool() ? std::optional<T>(value) : std::nullopt;
}

// A link's attributes, each present or not.
void fill(FuzzedDataProvider& in, LinkAttributes& attrs, size_t& budget) {
  attrs.up = maybe(in, in.ConsumeBool());
  if (in.ConsumeBool()) attrs.name = textFrom(in, budget);
  attrs.mtu = maybe(in, in.ConsumeIntegral<uint32_t>());
  if (in.ConsumeBool()) attrs.mac = bytesFrom(in, budget);
  attrs.master = maybe(in, in.ConsumeIntegral<uint32_t>());
  if (in.ConsumeBool()) attrs.alias = textFrom(in, budget);
  attrs.netnsFd = maybe(in, in.ConsumeIntegral<uint32_t>());
  attrs.hairpin = maybe(in, in.ConsumeBool());
}

// The bytes of a link's variable-length attributes.
size_t sizeOf(const LinkAttributes& attrs) {
  return (attrs.name ? attrs.name->size() : 0) + (attrs.mac ? attrs.mac->size() : 0) +
         (attrs.alias ? attrs.alias->size() : 0);
}

// The one link the parser reads from `msg`, checked against what was asked.
LinkInfo checkLinkRead(const Bytes& msg, const LinkAttributes& attrs, const std::optional<std::string>& kind) {
  std::vector<LinkInfo> links;
  FUZZ_CHECK(parseLinks(msg.data(), msg.size(), links) && links.size() == 1);
  const LinkInfo& link = links[0];
  FUZZ_CHECK(((link.flags & IFF_UP) != 0) == attrs.up.value_or(false));
  FUZZ_CHECK(link.name == (attrs.name ? std::optional(upToNul(*attrs.name)) : std::nullopt));
  FUZZ_CHECK(link.mtu == attrs.mtu && link.mac == attrs.mac && link.master == attrs.master);
  FUZZ_CHECK(link.alias == (attrs.alias ? std::optional(upToNul(*attrs.alias)) : std::nullopt));
  if (kind) FUZZ_CHECK(link.kind == upToNul(*kind));
  return link;
}

void linkCreate(FuzzedDataProvider& in, size_t& budget) {
  LinkCreate spec;
  spec.kind = in.ConsumeBool() ? kKinds[in.ConsumeIntegralInRange<size_t>(0, std::size(kKinds) - 1)] : textFrom(in, budget);
  fill(in, spec.attrs, budget);
  fill(in, spec.peer, budget);
  spec.parentIndex = maybe(in, in.ConsumeIntegral<uint32_t>());
  spec.mode = maybe(in, in.ConsumeIntegral<uint32_t>());
  spec.vxlanId = maybe(in, in.ConsumeIntegral<uint32_t>());
  spec.vxlanPort = maybe(in, in.ConsumeIntegral<uint32_t>());
  spec.ipvlanFlags = maybe(in, in.ConsumeIntegral<uint32_t>());
  spec.vlanId = maybe(in, in.ConsumeIntegral<uint32_t>());
  if (in.ConsumeBool()) spec.vxlanLocal = bytesFrom(in, budget);
  if (in.ConsumeBool()) spec.vxlanGroup = bytesFrom(in, budget);
  Bytes msg = encodeLinkCreate(spec);
  bool known = false;
  for (const char* kind : kKinds) known = known || spec.kind == kind;
  if (!known) {
    FUZZ_CHECK(msg.empty());
    return;
  }
  if (!checkEncoded(msg, sizeof(ifinfomsg), sizeOf(spec.attrs) + sizeOf(spec.peer) + spec.kind.size())) return;
  LinkInfo link = checkLinkRead(msg, spec.attrs, spec.kind);
  // macvlan, ipvlan and vlan name their parent beside IFLA_LINKINFO.
  if (spec.kind == "macvlan" || spec.kind == "ipvlan" || spec.kind == "vlan") FUZZ_CHECK(link.link == spec.parentIndex);
}

void linkChange(FuzzedDataProvider& in, size_t& budget) {
  LinkChange change;
  change.index = in.ConsumeIntegral<uint32_t>();
  fill(in, change.attrs, budget);
  Bytes msg = encodeLinkChange(change);
  if (!checkEncoded(msg, sizeof(ifinfomsg), sizeOf(change.attrs))) return;
  FUZZ_CHECK(checkLinkRead(msg, change.attrs, std::nullopt).index == change.index);
}

void address(FuzzedDataProvider& in, size_t& budget) {
  AddressSpec spec;
  spec.family = in.ConsumeIntegral<uint8_t>();
  spec.prefixLength = in.ConsumeIntegral<uint8_t>();
  spec.index = in.ConsumeIntegral<uint32_t>();
  spec.address = bytesFrom(in, budget);
  spec.noDad = in.ConsumeBool();
  bool add = in.ConsumeBool();
  Bytes msg = encodeAddress(add, spec);
  if (!checkEncoded(msg, sizeof(ifaddrmsg), 2 * spec.address.size())) return;
  if (!add) return;  // RTM_DELADDR: no address as the kernel lists it
  std::vector<AddressInfo> addresses;
  bool parsed = parseAddresses(msg.data(), msg.size(), addresses);
  // The parser takes an address of 4 or 16 bytes only.
  FUZZ_CHECK(parsed == (spec.address.size() == 4 || spec.address.size() == 16));
  if (!parsed || addresses.empty()) return;
  const AddressInfo& read = addresses[0];
  FUZZ_CHECK(read.family == spec.family && read.prefixLength == spec.prefixLength && read.index == spec.index);
  FUZZ_CHECK(read.address == spec.address && ((read.flags & IFA_F_NODAD) != 0) == spec.noDad);
}

void route(FuzzedDataProvider& in, size_t& budget) {
  RouteSpec spec;
  spec.family = in.ConsumeIntegral<uint8_t>();
  spec.dstLength = in.ConsumeIntegral<uint8_t>();
  if (in.ConsumeBool()) spec.dst = bytesFrom(in, budget);
  if (in.ConsumeBool()) spec.gateway = bytesFrom(in, budget);
  if (in.ConsumeBool()) spec.prefSrc = bytesFrom(in, budget);
  spec.oif = in.ConsumeIntegral<uint32_t>();
  spec.priority = maybe(in, in.ConsumeIntegral<uint32_t>());
  spec.table = in.ConsumeIntegral<uint32_t>();
  spec.scope = in.ConsumeIntegral<uint8_t>();
  spec.protocol = in.ConsumeIntegral<uint8_t>();
  spec.type = in.ConsumeIntegral<uint8_t>();
  auto op = in.PickValueInArray({RouteOp::Add, RouteOp::Replace, RouteOp::Delete});
  Bytes msg = encodeRoute(op, spec);
  if (!checkEncoded(msg, sizeof(rtmsg), spec.dst.size() + spec.gateway.size() + spec.prefSrc.size())) return;
  if (op == RouteOp::Delete) return;  // RTM_DELROUTE: no route as the kernel lists it
  std::vector<RouteInfo> routes;
  bool fits = true;
  for (const Bytes* a : {&spec.dst, &spec.gateway, &spec.prefSrc})
    fits = fits && (a->empty() || a->size() == 4 || a->size() == 16);
  bool parsed = parseRoutes(msg.data(), msg.size(), routes);
  FUZZ_CHECK(parsed == fits);
  if (!parsed || routes.empty()) return;
  const RouteInfo& read = routes[0];
  FUZZ_CHECK(read.family == spec.family && read.dstLength == spec.dstLength && read.table == spec.table);
  FUZZ_CHECK(read.dst == spec.dst && read.gateway == spec.gateway && read.prefSrc == spec.prefSrc);
  FUZZ_CHECK(read.oif == spec.oif && read.priority == (spec.priority ? spec.priority : std::nullopt));
  FUZZ_CHECK(read.scope == spec.scope && read.protocol == spec.protocol && read.type == spec.type);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  size_t budget = kInputBudget;
  switch (in.ConsumeIntegralInRange<int>(0, 3)) {
    case 0: linkCreate(in, budget); break;
    case 1: linkChange(in, budget); break;
    case 2: address(in, budget); break;
    default: route(in, budget); break;
  }
  return 0;
}
