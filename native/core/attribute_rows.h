// Netlink attributes declared as data: one row per attribute names its type,
// the kind of value it carries, and the field of a plain struct (and of its
// JavaScript object) that holds it. The same rows drive encoding, parsing
// and the conversion to and from JavaScript, so an attribute is added once.
#pragma once

#include <arpa/inet.h>

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "netlink_message.h"

namespace nsnet {

enum class ValueKind {
  U8,      // a number, one byte
  U16,     // a number, host byte order
  U32,     // a number
  S32,     // a signed number
  Be16,    // a number in network byte order (a port)
  Flag,    // a boolean, one byte 0 or 1
  String,  // NUL-terminated text
  Mac,     // a link-layer address, "aa:bb:cc:dd:ee:ff" in JavaScript
  Ip,      // 4 or 16 bytes, text in JavaScript; IPv6 under the row's type6
  Nested,  // a nested run of attributes, its rows filling the same struct
};

// What a struct field of each kind holds.
template <ValueKind Kind>
using FieldOf = std::conditional_t<
    Kind == ValueKind::Flag, bool,
    std::conditional_t<Kind == ValueKind::String, std::string,
                       std::conditional_t<Kind == ValueKind::Mac || Kind == ValueKind::Ip, Bytes, uint32_t>>>;

template <typename Struct>
struct AttributeRow {
  using Member = std::variant<std::monostate, std::optional<uint32_t> Struct::*, std::optional<bool> Struct::*,
                              std::optional<std::string> Struct::*, std::optional<Bytes> Struct::*>;

  uint16_t type;
  const char* field;  // the JavaScript property; nullptr for Nested
  ValueKind kind;
  Member member;
  uint16_t type6 = 0;                                  // Ip: the attribute of an IPv6 address
  const std::vector<AttributeRow>* nested = nullptr;  // Nested: its rows
  bool omitWhenAbsent = false;  // read back to JavaScript: absent, rather than 0 or ''

  template <typename T>
  const std::optional<T>& value(const Struct& s) const {
    return s.*std::get<std::optional<T> Struct::*>(member);
  }
  template <typename T>
  std::optional<T>& value(Struct& s) const {
    return s.*std::get<std::optional<T> Struct::*>(member);
  }
  AttributeRow omittedWhenAbsent() const {
    AttributeRow row = *this;
    row.omitWhenAbsent = true;
    return row;
  }
};

template <typename Struct>
using AttributeRows = std::vector<AttributeRow<Struct>>;

// A row whose field type must match its kind (checked when compiled).
template <ValueKind Kind, typename Struct, typename T>
AttributeRow<Struct> row(uint16_t type, const char* field, std::optional<T> Struct::*member) {
  static_assert(std::is_same_v<T, FieldOf<Kind>>, "the field's type does not hold this kind of value");
  static_assert(Kind != ValueKind::Ip && Kind != ValueKind::Nested, "use ipRow or nestedRow");
  return {type, field, Kind, member};
}

template <typename Struct>
AttributeRow<Struct> ipRow(uint16_t type4, uint16_t type6, const char* field, std::optional<Bytes> Struct::*member) {
  return {type4, field, ValueKind::Ip, member, type6};
}

template <typename Struct>
AttributeRow<Struct> nestedRow(uint16_t type, const AttributeRows<Struct>* rows) {
  return {type, nullptr, ValueKind::Nested, std::monostate{}, 0, rows};
}

template <typename Struct>
bool anyPresent(const AttributeRows<Struct>& rows, const Struct& s) {
  for (const auto& row : rows) {
    bool present = std::visit(
        [&](auto member) {
          if constexpr (std::is_same_v<decltype(member), std::monostate>) return anyPresent(*row.nested, s);
          else return (s.*member).has_value();
        },
        row.member);
    if (present) return true;
  }
  return false;
}

// Appends every present field as its attribute, in the rows' order; a
// nested attribute only when something in it is present.
template <typename Struct>
void putRows(MessageBuilder& msg, const AttributeRows<Struct>& rows, const Struct& s) {
  for (const auto& row : rows) {
    switch (row.kind) {
      case ValueKind::Nested:
        if (anyPresent(*row.nested, s)) {
          size_t token = msg.beginNested(row.type);
          putRows(msg, *row.nested, s);
          msg.endNested(token);
        }
        break;
      case ValueKind::Flag:
        if (const auto& v = row.template value<bool>(s)) msg.putU8(row.type, *v ? 1 : 0);
        break;
      case ValueKind::String:
        if (const auto& v = row.template value<std::string>(s)) msg.putString(row.type, *v);
        break;
      case ValueKind::Mac:
        if (const auto& v = row.template value<Bytes>(s)) msg.putBytes(row.type, *v);
        break;
      case ValueKind::Ip:
        // Only an address of either length goes out; the conversion from text makes no other.
        if (const auto& v = row.template value<Bytes>(s); v && (v->size() == 4 || v->size() == 16))
          msg.putBytes(v->size() == 4 ? row.type : row.type6, *v);
        break;
      default:
        if (const auto& v = row.template value<uint32_t>(s)) {
          if (row.kind == ValueKind::U8) msg.putU8(row.type, static_cast<uint8_t>(*v));
          if (row.kind == ValueKind::U16) msg.putU16(row.type, static_cast<uint16_t>(*v));
          if (row.kind == ValueKind::Be16) msg.putU16(row.type, htons(static_cast<uint16_t>(*v)));
          if (row.kind == ValueKind::U32 || row.kind == ValueKind::S32) msg.putU32(row.type, *v);
        }
        break;
    }
  }
}

// Whether an attribute is long enough for its kind: a fixed-size value at
// least its size (longer is a newer kernel's), an address exactly 4 or 16.
inline bool fitsKind(const Attribute& attr, ValueKind kind) {
  switch (kind) {
    case ValueKind::U8:
    case ValueKind::Flag: return attr.len >= 1;
    case ValueKind::U16:
    case ValueKind::Be16: return attr.len >= 2;
    case ValueKind::U32:
    case ValueKind::S32: return attr.len >= 4;
    case ValueKind::Ip: return attr.len == 4 || attr.len == 16;
    default: return true;
  }
}

// Fills the fields of the attributes the rows know; the others are skipped.
// False when one is malformed (too short, or a nested run that does not parse).
template <typename Struct>
bool readRows(const AttributeList& attrs, const AttributeRows<Struct>& rows, Struct& s) {
  for (const auto& attr : attrs) {
    for (const auto& row : rows) {
      if (attr.type != row.type && !(row.kind == ValueKind::Ip && attr.type == row.type6)) continue;
      if (!fitsKind(attr, row.kind)) return false;
      switch (row.kind) {
        case ValueKind::Nested: {
          AttributeList nested;
          if (!parseAttributes(attr.data, attr.len, nested) || !readRows(nested, *row.nested, s)) return false;
          break;
        }
        case ValueKind::Flag: row.template value<bool>(s) = attr.u8() != 0; break;
        case ValueKind::String: row.template value<std::string>(s) = attr.str(); break;
        case ValueKind::Mac:
        case ValueKind::Ip: row.template value<Bytes>(s) = attr.bytes(); break;
        case ValueKind::U8: row.template value<uint32_t>(s) = attr.u8(); break;
        case ValueKind::U16: row.template value<uint32_t>(s) = attr.u16(); break;
        case ValueKind::Be16: row.template value<uint32_t>(s) = ntohs(attr.u16()); break;
        default: row.template value<uint32_t>(s) = attr.u32(); break;
      }
      break;
    }
  }
  return true;
}

}  // namespace nsnet
