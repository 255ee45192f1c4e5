// The netlink wire format: building requests with nested attributes and
// splitting replies into messages and attributes with length checks.
#pragma once

#include <linux/netlink.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace nsnet {

using Bytes = std::vector<uint8_t>;

// Builds one netlink message. The sequence number is filled in when sent.
class MessageBuilder {
 public:
  MessageBuilder(uint16_t type, uint16_t flags);

  // The family header (ifinfomsg, ifaddrmsg, rtmsg, ...) right after nlmsghdr.
  template <typename Header>
  void putHeader(const Header& header) {
    append(&header, sizeof header);
  }

  void put(uint16_t type, const void* data, size_t len);
  void putU8(uint16_t type, uint8_t value) { put(type, &value, sizeof value); }
  void putU16(uint16_t type, uint16_t value) { put(type, &value, sizeof value); }
  void putU32(uint16_t type, uint32_t value) { put(type, &value, sizeof value); }
  void putS32(uint16_t type, int32_t value) { put(type, &value, sizeof value); }
  void putString(uint16_t type, const std::string& value);  // NUL-terminated
  void putBytes(uint16_t type, const std::vector<uint8_t>& value) {
    put(type, value.data(), value.size());
  }

  // Opens a nested attribute; returns the token that endNested() closes.
  size_t beginNested(uint16_t type);
  void endNested(size_t token);

  // The message, or an empty vector when an attribute outgrew nla_len's 16 bits.
  std::vector<uint8_t> finish();

 private:
  bool overflowed_ = false;
  void append(const void* data, size_t len);
  void alignTail();
  std::vector<uint8_t> buf_;
};

struct Attribute {
  uint16_t type;  // without NLA_F_NESTED / NLA_F_NET_BYTEORDER
  const uint8_t* data;
  size_t len;

  uint8_t u8() const;
  uint16_t u16() const;
  uint32_t u32() const;
  std::string str() const;  // up to the first NUL
  std::vector<uint8_t> bytes() const { return {data, data + len}; }
};

using AttributeList = std::vector<Attribute>;

// Splits a run of attributes. Every attribute is kept, known or not.
// Returns false when a length field is inconsistent with the buffer.
bool parseAttributes(const uint8_t* data, size_t len, AttributeList& out);

// The last attribute of this type, or nullptr.
const Attribute* findAttribute(const AttributeList& list, uint16_t type);

struct Message {
  const nlmsghdr* header;
  const uint8_t* payload;
  size_t payloadLen;
};

// Splits a buffer of netlink messages; false on a truncated or malformed one.
bool splitMessages(const uint8_t* data, size_t len, std::vector<Message>& out);

// The extended-ACK text of an NLMSG_ERROR / NLMSG_DONE payload, if any.
std::string extackMessage(const Message& message, size_t offset);

}  // namespace nsnet
