// cli/options.h: helpers shared by the `cpusim` subcommands: the ISA options every command
// takes, parsing with Boost.Program_options, programs and initial states named on the command
// line. Everything else a subcommand does is a library call.
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
  // The machine for trace files at `path`: the folder's cpusim.json (datagen/folder_meta.h) where
  // there is one and no --isa/--memory-size/--program-size was given (given ones must agree with
  // it), else config().
  isa::Config config_for(const std::string& path, const po::variables_map& vm) const;
};

// Parses args (without the subcommand name). Returns false when --help was printed. Adds
// --quiet (-q) where the command has not declared it; quiet(vm) reads it. `hidden`: options
// accepted but not listed by --help (aliases, whose rows name them).
bool parse(const std::string& command, const std::string& usage, po::options_description& opts,
           const po::positional_options_description& pos, const std::vector<std::string>& args,
           po::variables_map& vm, const po::options_description* hidden = nullptr);
bool quiet(const po::variables_map& vm);

// `cpusim CMD ACTION ...` (dataset, model): runs the action named by args[0] with the rest;
// prints `usage` (to stderr and exit 2 without an action, to stdout for --help); an unknown
// action is a cpusim::Error listing the known ones.
struct Action {
  const char* name;
  int (*run)(const std::vector<std::string>& args);
};
int dispatch(const std::string& command, const std::vector<std::string>& args,
             const std::vector<Action>& actions, const std::string& usage);

// A program file (assembly, or raw instruction bytes; `format` asm, bytes or auto: by extension,
// then by content) as a zero-padded program image of image_bytes(c).
std::vector<uint8_t> load_image(const isa::Config& c, const std::string& path,
                                const std::string& format = "auto");

// Applies "NAME=VALUE" edits (PC, ACC, FLAGS, A..J / R0..R9, M[i], IR0..IR3) to a state.
void apply_sets(const isa::Config& c, const std::vector<std::string>& sets,
                std::vector<uint8_t>& state);

// The initial state for `run`, `crosscheck --program` and `predict`: zeros, or the bytes of
// `file` (state_bytes(c) of them) when given, then the "NAME=VALUE" edits.
std::vector<uint8_t> load_state(const isa::Config& c, const std::string& file,
                                const std::vector<std::string>& sets);

}  // namespace cpusim::cli
