// tests/cli_test.cpp: the `cpusim` command end to end: round trips through files, JSON keys,
// and every error path (one line naming the file, non-zero exit, nothing half-written).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/io.h"
#include "tests/test_util.h"

namespace cpusim {
namespace {

namespace fs = std::filesystem;
using test::shell;

std::string bin() { return test::cpusim_bin(); }

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

int lines(const std::string& s) { return int(std::count(s.begin(), s.end(), '\n')); }

TEST(Cli, AsmRunTraceVerifyRoundTrip) {
  const std::string d = test::temp_dir("roundtrip");
  // LOADI 5 / POP B / ADD B, B, C / HLT, from B = 1: C = 10 at the end.
  write(d + "/p.asm", "LOADI 5\nPOP B\nADD B, B, C\nHLT\n");
  auto r = shell(bin() + " asm " + d + "/p.asm -o " + d + "/p.bin");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(fs::file_size(d + "/p.bin"), 16u);
  r = shell(bin() + " disasm " + d + "/p.bin");
  EXPECT_EQ(r.output, "LOADI 5\nPOP B\nADD B, B, C\nHLT\n");
  fs::create_directories(d + "/traces");
  r = shell(bin() + " run " + d + "/p.bin --set B=1 -o " + d + "/traces/t.bin");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(fs::file_size(d + "/traces/t.bin"), 1024u + 16 * 5);
  r = shell(bin() + " trace " + d + "/traces/t.bin");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("ADD B, B, C"), std::string::npos);
  r = shell(bin() + " verify --json --strict " + d + "/traces");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["traces"], 1);
  EXPECT_EQ(j["state_bytes"], 64);
  EXPECT_EQ(j["matched_bytes"], 64);
  EXPECT_EQ(j["byte_accuracy"], 1.0);
  EXPECT_EQ(j["states"], 4);
  EXPECT_EQ(j["exact_states"], 4);
}

TEST(Cli, VerifyStrictFailsOnMismatchAndCountsIt) {
  const std::string d = test::temp_dir("strict");
  write(d + "/p.asm", "INC\nINC\nHLT\n");
  ASSERT_EQ(shell(bin() + " run " + d + "/p.asm -o " + d + "/t.bin").status, 0);
  auto bytes = read_file(d + "/t.bin");
  bytes[1024 + 16 * 2 + 1] = 77;  // ACC in state 2
  write_file_atomic(d + "/t.bin", bytes);
  auto r = shell(bin() + " verify --json " + d + "/t.bin");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(nlohmann::json::parse(r.output)["matched_bytes"], 47);
  r = shell(bin() + " verify --strict " + d + "/t.bin");
  EXPECT_EQ(r.status, 1);
}

TEST(Cli, ToyRunWithLabelsAndMemorySize) {
  const std::string d = test::temp_dir("toy");
  write(d + "/p.asm", "LDI R0, 4\nloop: STR [R0], R0\nDEC R0\nJNZ loop\nHLT\n");
  auto r = shell(bin() + " run --isa toy --memory-size 16 --program-size 64 " + d + "/p.asm -o " +
                 d + "/t.bin");
  ASSERT_EQ(r.status, 0) << r.output;
  // 1 + 3*4 + 1 = 14 fetches: 15 states of 32 bytes after a 64-byte image.
  EXPECT_EQ(fs::file_size(d + "/t.bin"), 64u + 32 * 15);
  r = shell(bin() + " verify --isa toy --memory-size 16 --program-size 64 --json " + d + "/t.bin");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(nlohmann::json::parse(r.output)["byte_accuracy"], 1.0);
}

struct ErrorCase {
  std::string args;
  std::string must_contain;
};

TEST(Cli, ErrorsAreOneLineAndNonZero) {
  const std::string d = test::temp_dir("errors");
  write(d + "/bad.asm", "INC\nBOGUS A\n");
  write(d + "/fault.asm", "INC\n.insn 99 0 0 0\n");
  write(d + "/ok.asm", "HLT\n");
  write(d + "/short.bin", std::string(100, '\0'));
  write(d + "/odd.bin", std::string(10, '\1'));
  fs::create_directories(d + "/empty");
  const std::vector<ErrorCase> cases = {
      {"verify " + d + "/missing.bin", d + "/missing.bin: no such file or folder"},
      {"verify " + d + "/short.bin", d + "/short.bin: too short (100 bytes)"},
      {"verify " + d + "/empty", d + "/empty: folder holds no .bin trace files"},
      {"verify --isa x86 " + d + "/short.bin", "unknown ISA profile 'x86'"},
      {"verify --memory-size 100 " + d + "/short.bin", "--memory-size 100"},
      {"verify --bogus", "unrecognised option '--bogus'"},
      {"asm " + d + "/bad.asm -o " + d + "/bad.bin", d + "/bad.asm:2: unknown mnemonic 'BOGUS'"},
      {"run " + d + "/fault.asm -o " + d + "/fault.bin",
       "invalid opcode at PC 1: bytes 63 00 00 00"},
      {"run " + d + "/ok.asm --set Q=1", "no state field named Q"},
      {"run " + d + "/ok.asm --set A=300", "value must be 0..255"},
      // Under a file, so that not even root can write it.
      {"run " + d + "/ok.asm -o " + d + "/odd.bin/t.bin", "odd.bin/t.bin: cannot write"},
      {"run " + d + "/ok.asm --init-state " + d + "/short.bin",
       "short.bin: initial state is 100 bytes"},
      {"run --isa bgpt --program-size 64 " + d + "/ok.asm",
       "--program-size applies to --isa toy only"},
      {"disasm " + d + "/odd.bin", "odd.bin: 10 bytes is not a whole number of instructions"},
      {"datagen --isa toy --deflate-level 9 -o " + d + "/set.h5",
       "--deflate-level 9: expected 0..3"},
  };
  for (const auto& c : cases) {
    const auto r = shell(bin() + " " + c.args);
    EXPECT_EQ(r.status, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.must_contain), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_EQ(lines(r.output), 1) << c.args << "\n" << r.output;
  }
  // Nothing half-written: no outputs and no temporaries.
  EXPECT_FALSE(fs::exists(d + "/bad.bin"));
  EXPECT_FALSE(fs::exists(d + "/fault.bin"));
  EXPECT_FALSE(fs::exists(d + "/set.h5"));
  for (const auto& e : fs::directory_iterator(d))
    EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(Cli, ExitCodesPrefixVersionAndQuiet) {
  const std::string d = test::temp_dir("conventions");
  write(d + "/p.asm", "INC\nHLT\n");
  // 2: usage (an unknown option, with one "cpusim verify:" prefix) and bad input (a missing file).
  auto r = shell(bin() + " verify --bogus");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_EQ(r.output.rfind("cpusim verify: ", 0), 0u) << r.output;
  EXPECT_EQ(r.output.find("cpusim verify: cpusim"), std::string::npos) << r.output;
  r = shell(bin() + " run " + d + "/missing.asm");
  EXPECT_EQ(r.status, 2) << r.output;
  // 1: a check that found differences.
  ASSERT_EQ(shell(bin() + " run -q " + d + "/p.asm -o " + d + "/t.bin").status, 0);
  auto bytes = read_file(d + "/t.bin");
  bytes.back() ^= 1;
  write_file_atomic(d + "/t.bin", bytes);
  EXPECT_EQ(shell(bin() + " verify --strict -q " + d + "/t.bin").status, 1);
  // --help states them.
  r = shell(bin() + " verify --help");
  EXPECT_NE(r.output.find("exit codes: 0 success; 1 a check found differences"), std::string::npos)
      << r.output;
  // --version: version, commit, libtorch.
  r = shell(bin() + " --version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output.rfind("cpusim 0.", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("(commit "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\nlibtorch"), std::string::npos) << r.output;
  // --quiet: every command this build has (as `cpusim --help` lists them) takes it; with it, a
  // run's output is the result alone.
  std::istringstream help(shell(bin() + " --help").output);
  int listed = 0;
  bool in_commands = false;
  for (std::string line; std::getline(help, line);) {
    if (line == "commands:") in_commands = true;
    if (!in_commands || line.rfind("  ", 0) != 0) continue;
    std::string c = line.substr(2, line.find(' ', 2) - 2);
    if (c == "dataset" || c == "model") c += " info";
    r = shell(bin() + " " + c + " --help");
    EXPECT_NE(r.output.find("--quiet"), std::string::npos) << c;
    ++listed;
  }
  EXPECT_GE(listed, 7);
  r = shell(bin() + " asm -q " + d + "/p.asm -o " + d + "/p.bin");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, "");
  // run --json: the outcome and every state.
  r = shell(bin() + " run -q --json --isa bgpt --memory-size 64 " + d + "/p.asm");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["stop"], "halted");
  EXPECT_EQ(j["instructions"], 2);
  ASSERT_EQ(j["states"].size(), 3u);
  // The paper's timing: state 1 holds the fetched INC, state 2 its result (PC 2, ACC 1).
  EXPECT_EQ(j["states"][1].get<std::string>().substr(0, 6), "010002");
  EXPECT_EQ(j["states"][2].get<std::string>().substr(0, 4), "0201");
}

TEST(Cli, UnknownCommandAndHelp) {
  EXPECT_EQ(shell(bin() + " frobnicate").status, 2);
  EXPECT_EQ(shell(bin()).status, 2);
  for (const char* c : {"asm", "disasm", "run", "trace", "verify"}) {
    const auto r = shell(bin() + " " + c + " --help");
    EXPECT_EQ(r.status, 0) << c;
    EXPECT_NE(r.output.find("usage: cpusim"), std::string::npos) << c;
  }
}

}  // namespace
}  // namespace cpusim
