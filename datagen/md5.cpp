// datagen/md5.cpp: MD5 over a whole buffer, its four rounds unrolled.
#include "datagen/md5.h"

#include <bit>
#include <cstring>

namespace cpusim::datagen {

namespace {

constexpr uint32_t kK[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
constexpr int kS[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                        5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

inline uint32_t rotl(uint32_t x, int c) { return (x << c) | (x >> (32 - c)); }

// One round: 16 steps of the round function `f` over the message words m[g(i)], the registers
// turning (a, b, c, d) -> (d, a, b, c) after each; unrolled, so that every index is a constant.
template <int Round, class F>
inline void round16(uint32_t& a, uint32_t& b, uint32_t& c, uint32_t& d, const uint32_t* m, F f) {
#pragma GCC unroll 16
  for (int j = 0; j < 16; ++j) {
    const int i = 16 * Round + j;
    const int g = Round == 0   ? j
                  : Round == 1 ? (5 * j + 1) % 16
                  : Round == 2 ? (3 * j + 5) % 16
                               : (7 * j) % 16;
    const uint32_t sum = a + f(b, c, d) + kK[i] + m[g], t = d;
    d = c;
    c = b;
    b = b + rotl(sum, kS[i]);
    a = t;
  }
}

void block(uint32_t h[4], const uint8_t* p) {
  uint32_t m[16];
  std::memcpy(m, p, 64);  // little-endian words (x86, ARM)
  static_assert(std::endian::native == std::endian::little, "MD5's words are little-endian");
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
  round16<0>(a, b, c, d, m, [](uint32_t x, uint32_t y, uint32_t z) { return z ^ (x & (y ^ z)); });
  round16<1>(a, b, c, d, m, [](uint32_t x, uint32_t y, uint32_t z) { return y ^ (z & (x ^ y)); });
  round16<2>(a, b, c, d, m, [](uint32_t x, uint32_t y, uint32_t z) { return x ^ y ^ z; });
  round16<3>(a, b, c, d, m, [](uint32_t x, uint32_t y, uint32_t z) { return y ^ (x | ~z); });
  h[0] += a, h[1] += b, h[2] += c, h[3] += d;
}

}  // namespace

Digest md5(std::span<const uint8_t> data) {
  uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  size_t full = data.size() / 64;
  for (size_t i = 0; i < full; ++i) block(h, data.data() + 64 * i);
  uint8_t tail[128] = {};
  const size_t rest = data.size() - full * 64;
  std::memcpy(tail, data.data() + full * 64, rest);
  tail[rest] = 0x80;
  const size_t tail_len = rest < 56 ? 64 : 128;
  const uint64_t bits = uint64_t(data.size()) * 8;
  for (int i = 0; i < 8; ++i) tail[tail_len - 8 + i] = uint8_t(bits >> (8 * i));
  block(h, tail);
  if (tail_len == 128) block(h, tail + 64);
  Digest out;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) out[4 * i + j] = uint8_t(h[i] >> (8 * j));
  return out;
}

std::string hex(const Digest& d) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

}  // namespace cpusim::datagen
