#include "rtnl_neighbour.h"

#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include <cstring>

#include "attribute_rows.h"

namespace nsnet {

namespace {
constexpr size_t kMaxLinkLayerAddress = 32;  // MAX_ADDR_LEN

bool isIpLength(size_t len) { return len == 4 || len == 16; }
}  // namespace

Bytes encodeNeighbour(NeighbourOp op, const NeighbourSpec& spec) {
  if (!spec.dst.empty() && !isIpLength(spec.dst.size())) return {};
  if (spec.lladdr.size() > kMaxLinkLayerAddress) return {};
  uint16_t flags = NLM_F_REQUEST;
  if (op == NeighbourOp::Add) flags |= NLM_F_CREATE | NLM_F_EXCL;
  if (op == NeighbourOp::Replace) flags |= NLM_F_CREATE | NLM_F_REPLACE;
  if (op == NeighbourOp::Append) flags |= NLM_F_CREATE | NLM_F_APPEND;
  MessageBuilder msg(op == NeighbourOp::Delete ? RTM_DELNEIGH : RTM_NEWNEIGH, flags);
  ndmsg header{};
  header.ndm_family = spec.family;
  header.ndm_ifindex = static_cast<int>(spec.index);
  header.ndm_state = op == NeighbourOp::Delete ? 0 : spec.state;
  header.ndm_flags = spec.flags;
  msg.putHeader(header);
  if (!spec.dst.empty()) msg.putBytes(NDA_DST, spec.dst);
  if (!spec.lladdr.empty()) msg.putBytes(NDA_LLADDR, spec.lladdr);
  if (spec.vlan) msg.putU16(NDA_VLAN, *spec.vlan);
  return msg.finish();
}

Bytes encodeNeighbourDump(uint8_t family, uint32_t index) {
  MessageBuilder msg(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP);
  ndmsg header{};
  header.ndm_family = family;
  msg.putHeader(header);
  // Strict checking makes the kernel filter by it (an FDB dump: by port).
  if (index) msg.putU32(NDA_IFINDEX, index);
  return msg.finish();
}

bool parseNeighbourMessage(const Message& message, NeighbourInfo& info) {
  ndmsg header;
  if (message.payloadLen < sizeof header) return false;
  std::memcpy(&header, message.payload, sizeof header);
  info.family = header.ndm_family;
  info.index = static_cast<uint32_t>(header.ndm_ifindex);
  info.state = header.ndm_state;
  info.flags = header.ndm_flags;
  info.type = header.ndm_type;
  size_t offset = NLMSG_ALIGN(sizeof header);
  if (offset >= message.payloadLen) return true;
  AttributeList attrs;
  if (!parseAttributes(message.payload + offset, message.payloadLen - offset, attrs)) return false;
  for (const auto& attr : attrs) {
    switch (attr.type) {
      case NDA_DST:
        if (!isIpLength(attr.len)) return false;
        info.dst = attr.bytes();
        break;
      case NDA_LLADDR:
        if (attr.len > kMaxLinkLayerAddress) return false;
        info.lladdr = attr.bytes();
        break;
      case NDA_VLAN:
        if (!fitsKind(attr, ValueKind::U16)) return false;
        info.vlan = attr.u16();
        break;
      case NDA_MASTER:
        if (!fitsKind(attr, ValueKind::U32)) return false;
        info.master = attr.u32();
        break;
      default: break;
    }
  }
  return true;
}

bool parseNeighbours(const uint8_t* data, size_t len, std::vector<NeighbourInfo>& out) {
  std::vector<Message> messages;
  if (!splitMessages(data, len, messages)) return false;
  for (const auto& message : messages) {
    if (message.header->nlmsg_type != RTM_NEWNEIGH) continue;
    NeighbourInfo info;
    if (!parseNeighbourMessage(message, info)) return false;
    out.push_back(std::move(info));
  }
  return true;
}

}  // namespace nsnet
