// Values for the encoder harnesses, drawn from the fuzzer's input: short
// literal bytes, or long runs of one byte that reach netlink's 16-bit limits
// without needing that many input bytes.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace nsnet::fuzz {

constexpr size_t kMaxLength = 0xffff;  // nla_len's 16 bits
// Bytes of values per input: enough to pass kMaxLength, not so many that a run slows down.
constexpr size_t kInputBudget = 3 * kMaxLength;

inline std::vector<uint8_t> bytesFrom(FuzzedDataProvider& in, size_t& budget) {
  if (in.ConsumeBool()) return in.ConsumeBytes<uint8_t>(in.ConsumeIntegralInRange<size_t>(0, 64));
  size_t len = in.ConsumeIntegralInRange<size_t>(0, std::min(budget, kMaxLength + 16));
  budget -= len;
  return std::vector<uint8_t>(len, in.ConsumeIntegral<uint8_t>());
}

inline std::string textFrom(FuzzedDataProvider& in, size_t& budget) {
  std::vector<uint8_t> bytes = bytesFrom(in, budget);
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace nsnet::fuzz
