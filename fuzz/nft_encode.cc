// The nf_tables encoder (nft_encode.h) on any change: the message it builds
// is whole (nlmsg_len the buffer's size, every attribute inside its parent,
// 4-byte aligned with zero padding) and says exactly what was asked (table,
// set, each element's key and data), or it is empty, exactly when a length
// would outgrow netlink's 16 bits. The attributes are walked by
// netlink_walk.h, apart from the builder's code.
#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

#include "check.h"
#include "fuzz_input.h"
#include "netlink_walk.h"
#include "nft_encode.h"

using namespace nsnet;
using namespace nsnet::fuzz;

namespace {


void checkString(const Attr& attr, uint16_t type, const std::string& value) {
  FUZZ_CHECK(attr.type == type && !attr.nested);
  FUZZ_CHECK(holds(attr, value.c_str(), value.size() + 1));
}

// NFTA_SET_ELEM_KEY / _DATA: a nest holding one NFTA_DATA_VALUE.
void checkData(const Attr& attr, uint16_t type, const Bytes& value) {
  FUZZ_CHECK(attr.type == type && attr.nested);
  auto inner = walk(attr.data, attr.len);
  FUZZ_CHECK(inner.size() == 1 && inner[0].type == NFTA_DATA_VALUE && !inner[0].nested);
  FUZZ_CHECK(holds(inner[0], value.data(), value.size()));
}

// The message's attributes, after the checks every message passes.
std::vector<Attr> checkMessage(const Bytes& msg, uint16_t type, uint16_t flags, uint8_t family, uint16_t resId) {
  nlmsghdr header = checkWhole(msg, sizeof(nfgenmsg));
  FUZZ_CHECK(header.nlmsg_type == type && header.nlmsg_flags == flags);
  nfgenmsg gen;
  std::memcpy(&gen, msg.data() + NLMSG_HDRLEN, sizeof gen);
  FUZZ_CHECK(gen.nfgen_family == family && gen.version == NFNETLINK_V0 && ntohs(gen.res_id) == resId);
  return topAttributes(msg, sizeof gen);
}

// Whether some attribute of the change's message, header included, would
// outgrow nla_len (a nest counts its padded content).
bool outgrows(const SetElementChange& change) {
  if (NLA_HDRLEN + change.table.size() + 1 > kMaxLength || NLA_HDRLEN + change.set.size() + 1 > kMaxLength) return true;
  if (change.flush) return false;
  size_t list = NLA_HDRLEN;
  for (const auto& element : change.elements) {
    size_t item = NLA_HDRLEN;
    for (const Bytes* value : {&element.key, &element.data}) {
      if (value == &element.data && value->empty()) continue;
      size_t nest = NLA_HDRLEN + NLA_HDRLEN + align4(value->size());
      if (NLA_HDRLEN + value->size() > kMaxLength || nest > kMaxLength) return true;
      item += nest;
    }
    if (item > kMaxLength) return true;
    list += item;
  }
  return list > kMaxLength;
}

void checkSetElements(const SetElementChange& change) {
  Bytes msg = encodeSetElements(change);
  FUZZ_CHECK(msg.empty() == outgrows(change));
  if (msg.empty()) return;
  uint16_t type = (NFNL_SUBSYS_NFTABLES << 8) | (change.add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
  uint16_t flags = NLM_F_REQUEST | (change.add ? NLM_F_CREATE : 0) | (change.add && change.exclusive ? NLM_F_EXCL : 0);
  auto attrs = checkMessage(msg, type, flags, change.family, 0);
  FUZZ_CHECK(attrs.size() == (change.flush ? 2u : 3u));
  checkString(attrs[0], NFTA_SET_ELEM_LIST_TABLE, change.table);
  checkString(attrs[1], NFTA_SET_ELEM_LIST_SET, change.set);
  if (change.flush) return;
  FUZZ_CHECK(attrs[2].type == NFTA_SET_ELEM_LIST_ELEMENTS && attrs[2].nested);
  auto items = walk(attrs[2].data, attrs[2].len);
  FUZZ_CHECK(items.size() == change.elements.size());
  for (size_t i = 0; i < items.size(); i++) {
    const SetElement& element = change.elements[i];
    FUZZ_CHECK(items[i].type == NFTA_LIST_ELEM && items[i].nested);
    auto fields = walk(items[i].data, items[i].len);
    FUZZ_CHECK(fields.size() == (element.data.empty() ? 1u : 2u));
    checkData(fields[0], NFTA_SET_ELEM_KEY, element.key);
    if (!element.data.empty()) checkData(fields[1], NFTA_SET_ELEM_DATA, element.data);
  }
}

void checkTableGet(uint8_t family, const std::string& table) {
  Bytes msg = encodeTableGet(family, table);
  FUZZ_CHECK(msg.empty() == (NLA_HDRLEN + table.size() + 1 > kMaxLength));
  if (msg.empty()) return;
  auto attrs = checkMessage(msg, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, NLM_F_REQUEST, family, 0);
  FUZZ_CHECK(attrs.size() == 1);
  checkString(attrs[0], NFTA_TABLE_NAME, table);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  size_t budget = kInputBudget;
  SetElementChange change;
  change.add = in.ConsumeBool();
  change.exclusive = in.ConsumeBool();
  change.flush = in.ConsumeBool();
  change.family = in.ConsumeIntegral<uint8_t>();
  change.table = textFrom(in, budget);
  change.set = textFrom(in, budget);
  size_t count = in.ConsumeIntegralInRange<size_t>(0, 8192);
  for (size_t i = 0; i < count && in.remaining_bytes() > 0; i++) {
    SetElement element;
    element.key = bytesFrom(in, budget);
    element.data = bytesFrom(in, budget);
    change.elements.push_back(std::move(element));
  }
  checkSetElements(change);
  checkTableGet(change.family, change.table);
  for (auto marker : {encodeBatchBegin(), encodeBatchEnd()}) {
    nlmsghdr header;
    std::memcpy(&header, marker.data(), sizeof header);
    FUZZ_CHECK(header.nlmsg_type == NFNL_MSG_BATCH_BEGIN || header.nlmsg_type == NFNL_MSG_BATCH_END);
    FUZZ_CHECK(checkMessage(marker, header.nlmsg_type, NLM_F_REQUEST, AF_UNSPEC, NFNL_SUBSYS_NFTABLES).empty());
  }
  return 0;
}
