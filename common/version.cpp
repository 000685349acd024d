// common/version.cpp: build and machine identity.
#include "common/version.h"

#include <fstream>
#include <set>
#include <sstream>

#include "cpusim_commit.h"

namespace cpusim {

namespace {

// The value of the first "key : value" line of /proc/cpuinfo with this key.
std::string cpuinfo(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.compare(0, key.size(), key) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const size_t start = line.find_first_not_of(' ', colon + 1);
    return start == std::string::npos ? "" : line.substr(start);
  }
  return "";
}

}  // namespace

std::string version() { return CPUSIM_VERSION; }

std::string commit() { return CPUSIM_COMMIT; }

std::string cpu_name() {
  const std::string name = cpuinfo("model name");
  return name.empty() ? "unknown" : name;
}

std::string cpu_features() {
  static const char* const notable[] = {"sse4_2",   "avx",         "avx2",        "fma",
                                        "avx512f",  "avx512_bf16", "avx512_vnni", "amx_bf16",
                                        "amx_tile", "asimd",       "sve"};
  std::istringstream flags(cpuinfo("flags") + " " + cpuinfo("Features"));  // x86, arm64
  std::set<std::string> have;
  for (std::string f; flags >> f;) have.insert(f);
  std::string out;
  for (const char* f : notable)
    if (have.count(f)) out += (out.empty() ? "" : " ") + std::string(f);
  return out;
}

}  // namespace cpusim
