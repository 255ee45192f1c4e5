// The traffic-control encoders (tc_encode.h) on any device, rate, burst,
// limit and buffer: each message is whole (nlmsg_len the buffer's size,
// every attribute inside its parent, 4-byte aligned with zero padding) and
// says exactly what was asked: the device and handles in tcmsg, the tbf's
// rate in tc_tbf_qopt (saturated past 32 bits, and then in TCA_TBF_RATE64),
// its limit, buffer and burst; the filter's redirect target. The attributes
// are walked by netlink_walk.h, apart from the builder's code.
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "check.h"
#include "fuzz_input.h"
#include "netlink_walk.h"
#include "tc_encode.h"

using namespace nsnet;
using namespace nsnet::fuzz;

namespace {

constexpr uint16_t kCreate = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;

// The message's tcmsg, after the checks every message passes; its attributes (pointing into `msg`) in `attrs`.
tcmsg checkMessage(const Bytes& msg, uint16_t type, uint16_t flags, uint32_t index, std::vector<Attr>& attrs) {
  nlmsghdr header = checkWhole(msg, sizeof(tcmsg));
  FUZZ_CHECK(header.nlmsg_type == type && header.nlmsg_flags == flags);
  tcmsg tc;
  std::memcpy(&tc, msg.data() + NLMSG_HDRLEN, sizeof tc);
  FUZZ_CHECK(tc.tcm_family == AF_UNSPEC && static_cast<uint32_t>(tc.tcm_ifindex) == index);
  attrs = topAttributes(msg, sizeof tc);
  return tc;
}

void checkKind(const Attr& attr, const char* kind) {
  FUZZ_CHECK(attr.type == TCA_KIND && !attr.nested && holds(attr, kind, std::strlen(kind) + 1));
}

void checkTbf(const TbfSpec& spec) {
  std::vector<Attr> attrs;
  Bytes msg = encodeTbfQdisc(spec);
  tcmsg tc = checkMessage(msg, RTM_NEWQDISC, spec.replace ? NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE : kCreate, spec.index, attrs);
  FUZZ_CHECK(tc.tcm_handle == TC_H_MAKE(1U << 16, 0) && tc.tcm_parent == TC_H_ROOT);
  FUZZ_CHECK(attrs.size() == 2);
  checkKind(attrs[0], "tbf");
  FUZZ_CHECK(attrs[1].type == TCA_OPTIONS && attrs[1].nested);
  auto options = walk(attrs[1].data, attrs[1].len);
  bool wide = spec.rate > std::numeric_limits<uint32_t>::max();
  FUZZ_CHECK(options.size() == (wide ? 3u : 2u));
  FUZZ_CHECK(options[0].type == TCA_TBF_PARMS && options[0].len == sizeof(tc_tbf_qopt));
  tc_tbf_qopt qopt;
  std::memcpy(&qopt, options[0].data, sizeof qopt);
  FUZZ_CHECK(qopt.rate.rate == (wide ? std::numeric_limits<uint32_t>::max() : spec.rate));
  FUZZ_CHECK(qopt.rate.linklayer == TC_LINKLAYER_ETHERNET && qopt.peakrate.rate == 0);
  FUZZ_CHECK(qopt.limit == spec.limit && qopt.buffer == spec.buffer && qopt.mtu == 0);
  if (wide) FUZZ_CHECK(options[1].type == TCA_TBF_RATE64 && holds(options[1], &spec.rate, sizeof spec.rate));
  const Attr& burst = options.back();
  FUZZ_CHECK(burst.type == TCA_TBF_BURST && holds(burst, &spec.burst, sizeof spec.burst));
}

void checkIngress(uint32_t index) {
  std::vector<Attr> attrs;
  Bytes msg = encodeIngressQdisc(index);
  tcmsg tc = checkMessage(msg, RTM_NEWQDISC, kCreate, index, attrs);
  FUZZ_CHECK(tc.tcm_handle == TC_H_MAKE(TC_H_INGRESS, 0) && tc.tcm_parent == TC_H_INGRESS);
  FUZZ_CHECK(attrs.size() == 2);
  checkKind(attrs[0], "ingress");
  FUZZ_CHECK(attrs[1].type == TCA_OPTIONS && attrs[1].nested && attrs[1].len == 0);
}

void checkRedirect(uint32_t index, uint32_t target) {
  std::vector<Attr> attrs;
  Bytes msg = encodeRedirectFilter(index, target);
  tcmsg tc = checkMessage(msg, RTM_NEWTFILTER, kCreate, index, attrs);
  FUZZ_CHECK(tc.tcm_parent == TC_H_MAKE(TC_H_INGRESS, 0) && tc.tcm_info == TC_H_MAKE(1U << 16, htons(ETH_P_ALL)));
  FUZZ_CHECK(attrs.size() == 2);
  checkKind(attrs[0], "u32");
  auto options = walk(attrs[1].data, attrs[1].len);
  FUZZ_CHECK(options.size() == 2 && options[0].type == TCA_U32_SEL && options[0].len == sizeof(tc_u32_sel) + sizeof(tc_u32_key));
  FUZZ_CHECK(options[1].type == TCA_U32_ACT && options[1].nested);
  auto actions = walk(options[1].data, options[1].len);
  FUZZ_CHECK(actions.size() == 1 && actions[0].type == 1);
  auto action = walk(actions[0].data, actions[0].len);
  FUZZ_CHECK(action.size() == 2 && action[0].type == TCA_ACT_KIND && holds(action[0], "mirred", 7));
  auto parms = walk(action[1].data, action[1].len);
  FUZZ_CHECK(parms.size() == 1 && parms[0].type == TCA_MIRRED_PARMS && parms[0].len == sizeof(tc_mirred));
  tc_mirred mirred;
  std::memcpy(&mirred, parms[0].data, sizeof mirred);
  FUZZ_CHECK(mirred.eaction == TCA_EGRESS_REDIR && mirred.action == TC_ACT_STOLEN && mirred.ifindex == target);
}

void checkDelete(uint32_t index, uint32_t parent) {
  std::vector<Attr> attrs;
  Bytes msg = encodeQdiscDelete(index, parent);
  tcmsg tc = checkMessage(msg, RTM_DELQDISC, NLM_F_REQUEST, index, attrs);
  FUZZ_CHECK(tc.tcm_parent == parent && tc.tcm_handle == 0 && attrs.empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  TbfSpec spec;
  spec.index = in.ConsumeIntegral<uint32_t>();
  spec.rate = in.ConsumeIntegral<uint64_t>();
  spec.burst = in.ConsumeIntegral<uint32_t>();
  spec.limit = in.ConsumeIntegral<uint32_t>();
  spec.buffer = in.ConsumeIntegral<uint32_t>();
  spec.replace = in.ConsumeBool();
  uint32_t other = in.ConsumeIntegral<uint32_t>();
  checkTbf(spec);
  checkIngress(spec.index);
  checkRedirect(spec.index, other);
  checkDelete(spec.index, other);
  return 0;
}
