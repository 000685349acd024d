// cli/dispatch.cpp: the `cpusim` command line: dispatches to a subcommand and turns errors into
// one line on stderr ("cpusim CMD: ...") and the exit codes of cli/commands.h. Built twice: into
// the `cpusim` executable, which has no libtorch and runs the model commands (train, eval,
// predict, pipeline, model) by loading the library beside it (cli/torch_library.cpp), so that
// the other commands start without libtorch's start-up; and into that library, with them.
#include "cli/dispatch.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <new>

#include "cli/commands.h"
#include "common/io.h"
#include "common/isolate.h"
#include "common/version.h"
#include "datagen/dataset.h"
#ifdef CPUSIM_WITH_UNICORN
#include "emulator/crosscheck.h"
#endif
#ifdef CPUSIM_WITH_TORCH
#include "model/api.h"
#endif

namespace {

// The model commands: their functions in the library, null in the executable (which loads it).
#if defined(CPUSIM_WITH_TORCH)
#define CPUSIM_MODEL_COMMANDS 1
#define MODEL_COMMAND(fn) fn
#elif defined(CPUSIM_TORCH_LIBRARY)
#define CPUSIM_MODEL_COMMANDS 1
#define MODEL_COMMAND(fn) nullptr
#endif

struct Command {
  int (*fn)(const cpusim::cli::Args&);
  const char* summary;
};

const std::map<std::string, Command>& commands() {
  using namespace cpusim::cli;
  static const std::map<std::string, Command> table = {
      {"asm", {cmd_asm, "assemble a program to bytes"}},
      {"disasm", {cmd_disasm, "disassemble program bytes (or a trace's program image)"}},
      {"run", {cmd_run, "emulate one program, write its trace, print a listing"}},
      {"trace", {cmd_trace, "print trace files as readable states"}},
      {"verify",
       {cmd_verify, "re-execute traces (files, folders, HDF5 sets) and score every state byte"}},
#ifdef CPUSIM_WITH_UNICORN
      {"crosscheck",
       {cmd_crosscheck, "interpreter vs Unicorn after every instruction; --self-test"}},
#endif
#ifdef CPUSIM_MODEL_COMMANDS
      {"train",
       {MODEL_COMMAND(cmd_train),
        "train a bGPT on a trace set (presets tiny, small, paper, quickstart, ...)"}},
      {"eval",
       {MODEL_COMMAND(cmd_eval),
        "score a checkpoint against the emulator (teacher or rollout), write a report"}},
      {"predict",
       {MODEL_COMMAND(cmd_predict), "one program simulated by the model beside the emulator"}},
      {"pipeline",
       {MODEL_COMMAND(cmd_pipeline),
        "datagen -> train -> eval (teacher, rollout) -> reports in one command"}},
      {"model",
       {MODEL_COMMAND(cmd_model),
        "info, export (safetensors, torch, paper), import (the paper's checkpoints)"}},
#endif
      {"datagen", {cmd_datagen, "generate train/test trace sets (HDF5 or the paper's folders)"}},
      {"dataset", {cmd_dataset, "info, import (paper folders -> HDF5), export (HDF5 -> folders)"}},
      {"plot",
       {cmd_plot,
        "training curves of runs (loss, held-out accuracy against steps and minutes) as PNG"}},
  };
  return table;
}

void usage(std::ostream& os) {
  os << "usage: cpusim <command> [options]   (cpusim <command> --help for each)\n"
        "       cpusim --version\n\ncommands:\n";
  for (const auto& [name, c] : commands())
    os << "  " << name << std::string(12 - name.size(), ' ') << c.summary << "\n";
  os << "\n" << cpusim::cli::kExitCodesHelp;
}

void print_version() {
  std::cout << "cpusim " << cpusim::version() << " (commit " << cpusim::commit() << ")\n";
#if defined(CPUSIM_WITH_TORCH)
  std::cout << "libtorch " << cpusim::model::torch_version() << "\n";
#elif defined(CPUSIM_TORCH_LIBRARY)
  std::cout << "libtorch " CPUSIM_TORCH_VERSION " (built with; loaded by the model commands)\n";
#else
  std::cout << "libtorch: not built in\n";
#endif
#ifdef CPUSIM_WITH_UNICORN
  std::cout << "unicorn " << cpusim::xcheck::unicorn_version() << "\n";
#else
  std::cout << "unicorn: not built in\n";
#endif
}

}  // namespace

int cpusim::cli::dispatch(int argc, char** argv) {
  using namespace cpusim::cli;
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    usage(argc < 2 ? std::cerr : std::cout);
    return argc < 2 ? kExitUsage : kExitOk;
  }
  if (!std::strcmp(argv[1], "--version")) {
    print_version();
    return kExitOk;
  }
  const auto it = commands().find(argv[1]);
  if (it == commands().end()) {
    std::cerr << "cpusim: unknown command '" << argv[1] << "' (see cpusim --help)\n";
    return kExitUsage;
  }
#ifdef CPUSIM_TORCH_LIBRARY
  if (!it->second.fn) return run_model_command(argc, argv);  // (the executable: in the library)
#endif
  // Sets and checkpoints are opened in a child first: a damaged one that crashes or hangs
  // libhdf5 or libtorch is refused with one line (common/isolate.h).
  cpusim::set_isolated_parsing(true);
  const int rc = [&] {
    try {
      return it->second.fn(Args(argv + 2, argv + argc));
    } catch (const cpusim::Error& e) {
      std::cerr << "cpusim " << argv[1] << ": " << e.what() << "\n";
      return kExitUsage;
    } catch (const std::bad_alloc&) {
      std::cerr << "cpusim " << argv[1] << ": out of memory\n";
      return kExitInternal;
    } catch (const std::exception& e) {
      std::cerr << "cpusim " << argv[1] << ": internal error: " << e.what() << "\n";
      return kExitInternal;
    }
  }();
  if (cpusim::datagen::hdf5_left_open()) {  // (see datagen/dataset.h)
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    std::_Exit(rc);
  }
  return rc;
}
