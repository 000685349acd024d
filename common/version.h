// common/version.h: what a result records about the program and machine that made it: cpusim's
// version and commit, and the CPU (its model name and the vector-instruction features that
// decide training speed and precision).
#pragma once

#include <string>

namespace cpusim {

std::string version();  // "0.1.0"
std::string
commit();  // the source tree's commit at build time ("…-modified" with local changes), or "unknown"
std::string cpu_name();  // /proc/cpuinfo's model name, or "unknown"
// The CPU's notable vector features among avx, avx2, fma, avx512f, avx512_bf16, amx_bf16 ...,
// space-separated (empty where none or unknown).
std::string cpu_features();

}  // namespace cpusim
