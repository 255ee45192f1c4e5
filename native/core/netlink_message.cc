#include "netlink_message.h"

#include <cstring>

namespace nsnet {

MessageBuilder::MessageBuilder(uint16_t type, uint16_t flags) {
  nlmsghdr header{};
  header.nlmsg_type = type;
  header.nlmsg_flags = flags;
  append(&header, sizeof header);
}

void MessageBuilder::append(const void* data, size_t len) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  buf_.insert(buf_.end(), bytes, bytes + len);
}

void MessageBuilder::alignTail() { buf_.resize(NLMSG_ALIGN(buf_.size()), 0); }

void MessageBuilder::put(uint16_t type, const void* data, size_t len) {
  if (NLA_HDRLEN + len > 0xffff) overflowed_ = true;
  alignTail();
  nlattr attr{};
  attr.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len);
  attr.nla_type = type;
  append(&attr, sizeof attr);
  if (len > 0) append(data, len);
  alignTail();
}

void MessageBuilder::putString(uint16_t type, const std::string& value) {
  put(type, value.c_str(), value.size() + 1);
}

size_t MessageBuilder::beginNested(uint16_t type) {
  alignTail();
  size_t token = buf_.size();
  nlattr attr{};
  attr.nla_type = type | NLA_F_NESTED;
  append(&attr, sizeof attr);
  return token;
}

void MessageBuilder::endNested(size_t token) {
  alignTail();
  if (buf_.size() - token > 0xffff) overflowed_ = true;
  auto len = static_cast<uint16_t>(buf_.size() - token);
  std::memcpy(buf_.data() + token, &len, sizeof len);
}

std::vector<uint8_t> MessageBuilder::finish() {
  if (overflowed_) return {};
  alignTail();
  auto len = static_cast<uint32_t>(buf_.size());
  std::memcpy(buf_.data(), &len, sizeof len);
  return buf_;
}

namespace {
template <typename T>
T readScalar(const Attribute& attr) {
  T value{};
  std::memcpy(&value, attr.data, attr.len < sizeof value ? attr.len : sizeof value);
  return value;
}
}  // namespace

uint8_t Attribute::u8() const { return readScalar<uint8_t>(*this); }
uint16_t Attribute::u16() const { return readScalar<uint16_t>(*this); }
uint32_t Attribute::u32() const { return readScalar<uint32_t>(*this); }

std::string Attribute::str() const {
  const void* nul = std::memchr(data, 0, len);
  size_t n = nul ? static_cast<size_t>(static_cast<const uint8_t*>(nul) - data) : len;
  return std::string(reinterpret_cast<const char*>(data), n);
}

bool parseAttributes(const uint8_t* data, size_t len, AttributeList& out) {
  size_t offset = 0;
  while (offset + NLA_HDRLEN <= len) {
    nlattr attr;
    std::memcpy(&attr, data + offset, sizeof attr);
    if (attr.nla_len < NLA_HDRLEN || offset + attr.nla_len > len) return false;
    out.push_back({static_cast<uint16_t>(attr.nla_type & NLA_TYPE_MASK), data + offset + NLA_HDRLEN,
                   static_cast<size_t>(attr.nla_len - NLA_HDRLEN)});
    offset += NLA_ALIGN(attr.nla_len);
  }
  // Only alignment padding may follow the last attribute.
  return offset >= len || len - offset < NLA_HDRLEN;
}

const Attribute* findAttribute(const AttributeList& list, uint16_t type) {
  const Attribute* found = nullptr;
  for (const auto& attr : list)
    if (attr.type == type) found = &attr;
  return found;
}

bool splitMessages(const uint8_t* data, size_t len, std::vector<Message>& out) {
  size_t offset = 0;
  while (offset < len) {
    if (len - offset < sizeof(nlmsghdr)) return false;
    const auto* header = reinterpret_cast<const nlmsghdr*>(data + offset);
    if (header->nlmsg_len < sizeof(nlmsghdr) || header->nlmsg_len > len - offset) return false;
    out.push_back({header, data + offset + NLMSG_HDRLEN, header->nlmsg_len - NLMSG_HDRLEN});
    offset += NLMSG_ALIGN(header->nlmsg_len);
  }
  return true;
}

std::string extackMessage(const Message& message, size_t offset) {
  if (!(message.header->nlmsg_flags & NLM_F_ACK_TLVS) || offset >= message.payloadLen) return {};
  AttributeList tlvs;
  parseAttributes(message.payload + offset, message.payloadLen - offset, tlvs);
  const Attribute* text = findAttribute(tlvs, NLMSGERR_ATTR_MSG);
  return text ? text->str() : std::string();
}

}  // namespace nsnet
