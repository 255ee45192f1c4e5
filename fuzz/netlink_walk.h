// A walk over encoded netlink messages for the encoder harnesses, written
// apart from netlink_message.cc so that a check does not share the code it
// checks: every attribute inside its parent, 4-byte aligned with zero padding.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "check.h"

namespace nsnet::fuzz {

inline size_t align4(size_t n) { return (n + 3) & ~size_t{3}; }

struct Attr {
  uint16_t type;  // without the flags
  bool nested;    // NLA_F_NESTED
  const uint8_t* data;
  size_t len;
};

// A run of attributes: each header and payload inside the run, each followed
// by zero padding up to 4 bytes, nothing else.
inline std::vector<Attr> walk(const uint8_t* data, size_t len) {
  std::vector<Attr> out;
  size_t offset = 0;
  while (offset < len) {
    FUZZ_CHECK(len - offset >= NLA_HDRLEN);
    nlattr header;
    std::memcpy(&header, data + offset, sizeof header);
    FUZZ_CHECK(header.nla_len >= NLA_HDRLEN && header.nla_len <= len - offset);
    size_t padded = align4(header.nla_len);
    FUZZ_CHECK(padded <= len - offset);
    for (size_t i = offset + header.nla_len; i < offset + padded; i++) FUZZ_CHECK(data[i] == 0);
    out.push_back({static_cast<uint16_t>(header.nla_type & NLA_TYPE_MASK), (header.nla_type & NLA_F_NESTED) != 0,
                   data + offset + NLA_HDRLEN, static_cast<size_t>(header.nla_len - NLA_HDRLEN)});
    offset += padded;
  }
  return out;
}

inline bool holds(const Attr& attr, const void* value, size_t len) {
  return attr.len == len && (len == 0 || std::memcmp(attr.data, value, len) == 0);
}

// A whole message: nlmsg_len the buffer's size, a multiple of 4. Returns its header.
inline nlmsghdr checkWhole(const std::vector<uint8_t>& msg, size_t familyHeaderLen) {
  FUZZ_CHECK(msg.size() >= NLMSG_HDRLEN + familyHeaderLen && msg.size() % NLMSG_ALIGNTO == 0);
  nlmsghdr header;
  std::memcpy(&header, msg.data(), sizeof header);
  FUZZ_CHECK(header.nlmsg_len == msg.size());
  return header;
}

// The attributes after the message's family header.
inline std::vector<Attr> topAttributes(const std::vector<uint8_t>& msg, size_t familyHeaderLen) {
  size_t offset = NLMSG_HDRLEN + NLMSG_ALIGN(familyHeaderLen);
  return walk(msg.data() + offset, msg.size() - offset);
}

}  // namespace nsnet::fuzz
