#include "tc_encode.h"

#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>
#include <limits>

namespace nsnet {

namespace {

constexpr uint16_t kCreate = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
constexpr uint32_t kIngressHandle = TC_H_MAKE(TC_H_INGRESS, 0);  // ffff:
constexpr uint32_t kTbfHandle = TC_H_MAKE(1U << 16, 0);          // 1:
constexpr uint16_t kFilterPriority = 1;

tcmsg header(uint32_t index, uint32_t handle, uint32_t parent, uint32_t info = 0) {
  tcmsg h{};
  h.tcm_family = AF_UNSPEC;
  h.tcm_ifindex = static_cast<int>(index);
  h.tcm_handle = handle;
  h.tcm_parent = parent;
  h.tcm_info = info;
  return h;
}

}  // namespace

Bytes encodeTbfQdisc(const TbfSpec& spec) {
  MessageBuilder msg(RTM_NEWQDISC, spec.replace ? NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE : kCreate);
  msg.putHeader(header(spec.index, kTbfHandle, TC_H_ROOT));
  msg.putString(TCA_KIND, "tbf");
  size_t options = msg.beginNested(TCA_OPTIONS);
  tc_tbf_qopt qopt{};
  // Past 32 bits the rate goes in TCA_TBF_RATE64, and this field saturates (as tc does).
  qopt.rate.rate = spec.rate > std::numeric_limits<uint32_t>::max() ? std::numeric_limits<uint32_t>::max() : static_cast<uint32_t>(spec.rate);
  qopt.rate.linklayer = TC_LINKLAYER_ETHERNET;
  qopt.limit = spec.limit;
  qopt.buffer = spec.buffer;
  msg.put(TCA_TBF_PARMS, &qopt, sizeof qopt);
  if (spec.rate > std::numeric_limits<uint32_t>::max()) {
    uint64_t rate = spec.rate;
    msg.put(TCA_TBF_RATE64, &rate, sizeof rate);
  }
  // The burst in bytes: the kernel derives the bucket's time from it and the rate.
  msg.putU32(TCA_TBF_BURST, spec.burst);
  msg.endNested(options);
  return msg.finish();
}

Bytes encodeIngressQdisc(uint32_t index) {
  MessageBuilder msg(RTM_NEWQDISC, kCreate);
  msg.putHeader(header(index, kIngressHandle, TC_H_INGRESS));
  msg.putString(TCA_KIND, "ingress");
  // tc sends empty options; the kernel takes them as none.
  size_t options = msg.beginNested(TCA_OPTIONS);
  msg.endNested(options);
  return msg.finish();
}

Bytes encodeQdiscDelete(uint32_t index, uint32_t parent) {
  MessageBuilder msg(RTM_DELQDISC, NLM_F_REQUEST);
  msg.putHeader(header(index, 0, parent));
  return msg.finish();
}

Bytes encodeRedirectFilter(uint32_t index, uint32_t target) {
  MessageBuilder msg(RTM_NEWTFILTER, kCreate);
  msg.putHeader(header(index, 0, kIngressHandle, TC_H_MAKE(uint32_t{kFilterPriority} << 16, htons(ETH_P_ALL))));
  msg.putString(TCA_KIND, "u32");
  size_t options = msg.beginNested(TCA_OPTIONS);
  // One key, mask 0 value 0: every packet matches (`match u32 0 0`).
  tc_u32_sel sel{};
  sel.flags = TC_U32_TERMINAL;
  sel.nkeys = 1;
  tc_u32_key key{};
  uint8_t selector[sizeof sel + sizeof key];
  std::memcpy(selector, &sel, sizeof sel);
  std::memcpy(selector + sizeof sel, &key, sizeof key);
  msg.put(TCA_U32_SEL, selector, sizeof selector);
  size_t actions = msg.beginNested(TCA_U32_ACT);
  size_t first = msg.beginNested(1);  // actions are numbered in order, from 1
  msg.putString(TCA_ACT_KIND, "mirred");
  size_t actionOptions = msg.beginNested(TCA_ACT_OPTIONS);
  tc_mirred mirred{};
  mirred.action = TC_ACT_STOLEN;
  mirred.eaction = TCA_EGRESS_REDIR;
  mirred.ifindex = target;
  msg.put(TCA_MIRRED_PARMS, &mirred, sizeof mirred);
  msg.endNested(actionOptions);
  msg.endNested(first);
  msg.endNested(actions);
  msg.endNested(options);
  return msg.finish();
}

Bytes encodeQdiscDump() {
  MessageBuilder msg(RTM_GETQDISC, NLM_F_REQUEST | NLM_F_DUMP);
  msg.putHeader(header(0, 0, 0));
  return msg.finish();
}

Bytes encodeIngressFilterDump(uint32_t index) {
  MessageBuilder msg(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP);
  msg.putHeader(header(index, 0, kIngressHandle));
  return msg.finish();
}

}  // namespace nsnet
