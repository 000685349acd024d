// datagen/md5.h: MD5 (RFC 1321), used only to name programs the way the paper's dataset names
// its files (<md5>.bin) and to find duplicate programs. Not for security.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace cpusim::datagen {

using Digest = std::array<uint8_t, 16>;
Digest md5(std::span<const uint8_t> data);
std::string hex(const Digest& d);

}  // namespace cpusim::datagen
