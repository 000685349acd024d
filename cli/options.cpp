// cli/options.cpp: shared option handling for the subcommands.
#include "cli/options.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "common/io.h"
#include "datagen/folder_meta.h"
#include "emulator/emulator.h"
#include "isa/asm.h"

namespace cpusim::cli {

void IsaOptions::add(po::options_description& d) {
  d.add_options()("isa", po::value(&isa)->default_value("bgpt"),
                  "ISA profile: bgpt (the paper's CPU) or toy")(
      "memory-size", po::value(&memory_size),
      "bgpt: memory bytes (default 1024); toy: data memory bytes (default 32)")(
      "program-size", po::value(&program_size), "toy: program image bytes (default 256)")(
      "step-limit", po::value(&step_limit),
      "instructions fetched at most (default: toy 256, bgpt 65536)");
}

isa::Config IsaOptions::config() const {
  isa::Config c = isa::default_config(isa::parse_profile(isa));
  if (memory_size) c.memory_size = memory_size;
  if (program_size) {
    if (c.profile != isa::Profile::toy) throw Error("--program-size applies to --isa toy only");
    c.program_size = program_size;
  }
  c.step_limit = step_limit;
  isa::validate(c);
  return c;
}

isa::Config IsaOptions::config_for(const std::string& path, const po::variables_map& vm) const {
  const auto meta = datagen::find_folder_meta(path);
  if (!meta) return config();
  const isa::Config& m = meta->files;
  auto given = [&](const char* o) { return vm.count(o) && !vm[o].defaulted(); };
  const bool isa_given = given("isa"), size_given = given("memory-size"),
             prog_given = given("program-size");
  if (!isa_given && !size_given && !prog_given) return m;
  const isa::Config c = config();
  if ((isa_given && c.profile != m.profile) || (size_given && c.memory_size != m.memory_size) ||
      (prog_given && c.program_size != m.program_size))
    throw Error(path + ": its folder's " + datagen::kFolderMetaName + " says --isa " +
                std::string(isa::profile_name(m.profile)) + " --memory-size " +
                std::to_string(m.memory_size) + "; the options given disagree (drop them)");
  return m;
}

bool parse(const std::string& command, const std::string& usage, po::options_description& opts,
           const po::positional_options_description& pos, const std::vector<std::string>& args,
           po::variables_map& vm, const po::options_description* hidden) {
  if (!opts.find_nothrow("quiet", false))  // every command takes --quiet
    opts.add_options()("quiet,q", po::bool_switch(),
                       "no progress or messages on stderr (errors still)");
  opts.add_options()("help,h", "show this help");
  po::options_description all;
  all.add(opts);
  if (hidden) all.add(*hidden);
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: cpusim " << command << " " << usage << "\n\n"
                << opts << "\n"
                << kExitCodesHelp;
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(std::string(e.what()) + " (see cpusim " + command + " --help)");
  }
  return true;
}

int dispatch(const std::string& command, const std::vector<std::string>& args,
             const std::vector<Action>& actions, const std::string& usage) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    (args.empty() ? std::cerr : std::cout) << usage << "\n" << kExitCodesHelp;
    return args.empty() ? kExitUsage : kExitOk;
  }
  std::string names;
  for (const Action& a : actions) {
    if (args[0] == a.name) return a.run(std::vector<std::string>(args.begin() + 1, args.end()));
    names += std::string(names.empty() ? "" : ", ") + a.name;
  }
  throw Error("unknown " + command + " action '" + args[0] + "' (expected " + names + ")");
}

bool quiet(const po::variables_map& vm) { return vm.count("quiet") && vm["quiet"].as<bool>(); }

std::vector<uint8_t> load_image(const isa::Config& c, const std::string& path,
                                const std::string& format) {
  const std::vector<uint8_t> raw = read_file(path);
  bool text = format == "asm";
  if (format == "auto") {
    const std::string ext = std::filesystem::path(path).extension().string();
    text = ext == ".bin" ? false
           : (ext == ".asm" || ext == ".s")
               ? true
               : std::all_of(raw.begin(), raw.end(), [](uint8_t ch) {
                   return ch == '\n' || ch == '\r' || ch == '\t' || (ch >= 32 && ch < 127);
                 });
  } else if (format != "asm" && format != "bytes") {
    throw Error("--format " + format + ": expected asm, bytes or auto");
  }
  std::vector<uint8_t> prog =
      text ? isa::assemble(c.profile, std::string(raw.begin(), raw.end()), path) : raw;
  if (prog.size() % isa::kInsnBytes)
    throw Error(path + ": " + std::to_string(prog.size()) +
                " bytes is not a whole number of 4-byte instructions");
  if (prog.size() > isa::image_bytes(c))
    throw Error(path + ": program of " + std::to_string(prog.size() / 4) +
                " instructions does not fit a " + std::to_string(isa::image_bytes(c)) +
                "-byte program image");
  prog.resize(isa::image_bytes(c), 0);
  return prog;
}

void apply_sets(const isa::Config& c, const std::vector<std::string>& sets,
                std::vector<uint8_t>& state) {
  for (const std::string& s : sets) {
    const size_t eq = s.find('=');
    if (eq == std::string::npos) throw Error("--set " + s + ": expected NAME=VALUE");
    std::string name = s.substr(0, eq);
    for (char& ch : name) ch = char(std::toupper(static_cast<unsigned char>(ch)));
    unsigned long v = 0;
    try {
      size_t used = 0;
      v = std::stoul(s.substr(eq + 1), &used, 0);
      if (used != s.size() - eq - 1) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw Error("--set " + s + ": value is not a number");
    }
    if (v > 255) throw Error("--set " + s + ": value must be 0..255");
    bool found = false;
    for (size_t off = 0; off < isa::state_bytes(c) && !found; ++off) {
      std::string n = isa::byte_name(c, off);
      for (char& ch : n) ch = char(std::toupper(static_cast<unsigned char>(ch)));
      if (n == name) {
        state[off] = uint8_t(v);
        found = true;
      }
    }
    if (!found) throw Error("--set " + s + ": no state field named " + name);
  }
}

std::vector<uint8_t> load_state(const isa::Config& c, const std::string& file,
                                const std::vector<std::string>& sets) {
  std::vector<uint8_t> init = emu::zero_state(c);
  if (!file.empty()) {
    init = read_file(file);
    if (init.size() != isa::state_bytes(c))
      throw Error(file + ": initial state is " + std::to_string(init.size()) + " bytes, expected " +
                  std::to_string(isa::state_bytes(c)));
  }
  apply_sets(c, sets, init);
  return init;
}

}  // namespace cpusim::cli
