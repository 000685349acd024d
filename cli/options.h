// cli/options.h: helpers shared by the `cpusim` subcommands: the ISA options every command
// takes, parsing with Boost.Program_options, and state edits given on the command line.
#pragma once

#include <boost/program_options.hpp>
#include <span>
#include <string>
#include <vector>

#include "isa/isa.h"

namespace cpusim::cli {

namespace po = boost::program_options;

// --isa, --memory-size, --program-size, --step-limit.
struct IsaOptions {
  std::string isa = "bgpt";
  unsigned memory_size = 0;   // 0: profile default
  unsigned program_size = 0;  // 0: profile default
  unsigned step_limit = 0;
  void add(po::options_description& d);
  isa::Config config() const;  // validated; throws cpusim::Error
};

// Parses args (without the subcommand name). Returns false when --help was printed.
bool parse(const std::string& command, const std::string& usage, po::options_description& opts,
           const po::positional_options_description& pos, const std::vector<std::string>& args,
           po::variables_map& vm);

// A program file (assembly, or raw instruction bytes; `format` asm, bytes or auto: by extension,
// then by content) as a zero-padded program image of image_bytes(c).
std::vector<uint8_t> load_image(const isa::Config& c, const std::string& path, const std::string& format = "auto");

// Applies "NAME=VALUE" edits (PC, ACC, FLAGS, A..J / R0..R9, M[i], IR0..IR3) to a state.
void apply_sets(const isa::Config& c, const std::vector<std::string>& sets, std::vector<uint8_t>& state);

// The paper's layout (--paper-layout): its simulator writes bgpt traces with its whole
// 1024-byte memory as the image, whatever the program's length. A bgpt set with a smaller
// memory keeps only that many bytes of image; these convert between the two.
inline constexpr size_t kPaperMemory = 1024;
// Throws cpusim::Error unless c is a bgpt configuration.
void require_paper_profile(const isa::Config& c, const std::string& option);
// `trace` (c's layout) with its image zero-padded to the paper's 1024 bytes.
std::vector<uint8_t> to_paper_layout(const isa::Config& c, std::span<const uint8_t> trace);
// A paper-layout file's bytes in c's layout; empty, with `why` set, when the program does not
// fit c's memory (a non-zero byte past it) or the file is too short. The states are not checked.
std::vector<uint8_t> from_paper_layout(const isa::Config& c, std::span<const uint8_t> file, std::string& why);
// Whether the paper's 1024-byte machine runs `trace`'s program (c's layout) through the same
// states: not so when the program reaches c's PC cap (memory / 4 - 1).
bool same_in_paper_machine(const isa::Config& c, std::span<const uint8_t> trace);

}  // namespace cpusim::cli
