// tests/test_util.cpp: shell helpers for the command-line tests, and the golden-case coverage
// check.
#include "tests/test_util.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <set>

#include "isa/asm.h"

namespace cpusim::test {

Shell shell(const std::string& command) {
  Shell r{-1, ""};
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string cpusim_bin() { return CPUSIM_BIN; }

namespace {

std::filesystem::path process_temp() {
  return std::filesystem::temp_directory_path() / ("cpusim-test-" + std::to_string(::getpid()));
}

// The test process's folder is removed at the end when every test passed (kept for a look when one
// failed).
class TempCleanup : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!::testing::UnitTest::GetInstance()->Passed()) return;
    std::error_code ec;
    std::filesystem::remove_all(process_temp(), ec);
  }
};
[[maybe_unused]] ::testing::Environment* const kCleanup =
    ::testing::AddGlobalTestEnvironment(new TempCleanup);

}  // namespace

std::string temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  const fs::path d = process_temp() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d.string();
}

std::vector<std::string> forms_without_case(isa::Profile p, const std::vector<std::string>& texts) {
  std::set<std::pair<int, int>> covered;
  for (const std::string& text : texts) {
    const auto b = isa::assemble(p, text);
    covered.insert({b[0], int(*isa::form_of(p, isa::insn_at(b.data())))});
  }
  std::vector<std::string> missing;
  for (const isa::OpInfo& op : isa::opcodes(p))
    for (int f = 0; f < isa::kNumForms; ++f)
      if ((op.forms & isa::form_bit(isa::Form(f))) && !covered.count({op.code, f}))
        missing.push_back(std::string(op.mnemonic) + " " + isa::form_info(isa::Form(f)).text);
  return missing;
}

}  // namespace cpusim::test
