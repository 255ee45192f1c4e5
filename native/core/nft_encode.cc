#include "nft_encode.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "netlink_message.h"

namespace nsnet {

namespace {

nfgenmsg header(uint8_t family, uint16_t resId) {
  nfgenmsg h{};
  h.nfgen_family = family;
  h.version = NFNETLINK_V0;
  h.res_id = htons(resId);
  return h;
}

Bytes batchMarker(uint16_t type) {
  MessageBuilder msg(type, NLM_F_REQUEST);
  msg.putHeader(header(AF_UNSPEC, NFNL_SUBSYS_NFTABLES));
  return msg.finish();
}

void putData(MessageBuilder& msg, uint16_t type, const Bytes& value) {
  size_t data = msg.beginNested(type);
  msg.putBytes(NFTA_DATA_VALUE, value);
  msg.endNested(data);
}

}  // namespace

Bytes encodeBatchBegin() { return batchMarker(NFNL_MSG_BATCH_BEGIN); }
Bytes encodeBatchEnd() { return batchMarker(NFNL_MSG_BATCH_END); }

Bytes encodeTableGet(uint8_t family, const std::string& table) {
  MessageBuilder msg((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, NLM_F_REQUEST);
  msg.putHeader(header(family, 0));
  msg.putString(NFTA_TABLE_NAME, table);
  return msg.finish();
}

Bytes encodeSetElements(const SetElementChange& change) {
  uint16_t type = (NFNL_SUBSYS_NFTABLES << 8) | (change.add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
  uint16_t flags = NLM_F_REQUEST;
  if (change.add) flags |= NLM_F_CREATE | (change.exclusive ? NLM_F_EXCL : 0);
  MessageBuilder msg(type, flags);
  msg.putHeader(header(change.family, 0));
  msg.putString(NFTA_SET_ELEM_LIST_TABLE, change.table);
  msg.putString(NFTA_SET_ELEM_LIST_SET, change.set);
  if (change.flush) return msg.finish();
  size_t list = msg.beginNested(NFTA_SET_ELEM_LIST_ELEMENTS);
  for (const auto& element : change.elements) {
    size_t item = msg.beginNested(NFTA_LIST_ELEM);
    putData(msg, NFTA_SET_ELEM_KEY, element.key);
    if (!element.data.empty()) putData(msg, NFTA_SET_ELEM_DATA, element.data);
    msg.endNested(item);
  }
  msg.endNested(list);
  return msg.finish();
}

}  // namespace nsnet
