// tests/fuzz/replay_main.cpp: a fuzz target without libFuzzer: runs every file of the folders
// (or files) given through LLVMFuzzerTestOneInput once. CTest replays the seed corpus and every
// input a fuzzer ever crashed on (tests/fuzz/regressions/) with it, in the normal and the
// sanitizer builds; a crash or a failed property aborts, and the test fails.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    if (fs::is_directory(argv[i], ec)) {
      for (const auto& e : fs::recursive_directory_iterator(argv[i], ec))
        if (e.is_regular_file() && e.path().filename() != "README.md") files.push_back(e.path());
    } else if (fs::exists(argv[i], ec)) {
      files.push_back(argv[i]);
    }  // (a target without regressions has no folder for them)
  }
  std::sort(files.begin(), files.end());
  for (const fs::path& f : files) {
    std::ifstream in(f, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                     std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
  }
  // The targets' scratch folder (tests/fuzz/fuzz_util.h).
  const char* base = std::getenv("CPUSIM_FUZZ_TMP");
  std::error_code ec;
  fs::remove_all(
      fs::path(base && *base ? base : "/tmp") / ("cpusim-fuzz-" + std::to_string(::getpid())), ec);
  std::printf("replay: %zu inputs, no crash\n", files.size());
  return files.empty() ? 2 : 0;  // an empty corpus is a broken test, not a pass
}
