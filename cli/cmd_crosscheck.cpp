// cli/cmd_crosscheck.cpp: `cpusim crosscheck`: interpreter vs Unicorn on random or given
// programs, and the mutation self-test that proves the comparison catches wrong semantics.
#include <atomic>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "common/progress.h"
#include "datagen/generator.h"
#include "emulator/crosscheck.h"
#include "isa/asm.h"

namespace cpusim::cli {

namespace {

struct Found {
  uint64_t index;
  datagen::Instance inst;
  xcheck::Mismatch mismatch;
};

struct RunResult {
  uint64_t programs = 0, instructions = 0;
  std::optional<Found> first;  // the lowest-index failing program
  double seconds = 0;
};

// Programs 0..n-1 from Rng::for_item(seed, i), split over `jobs` checkers; stops early once a
// failing program is known (the lowest failing index is reported, whatever the jobs).
RunResult run_random(const datagen::GenConfig& g, uint64_t seed, uint64_t n, unsigned jobs,
                     const emu::Mutation* mutation, Progress* progress) {
  RunResult r;
  std::atomic<uint64_t> first_bad{~0ull}, done{0}, instructions{0};
  std::mutex mu;
  const auto t0 = std::chrono::steady_clock::now();
  auto work = [&](unsigned j) {
    xcheck::Checker checker(g.isa);
    datagen::Instance inst;
    uint64_t before = 0;
    for (uint64_t i = j; i < n && i < first_bad.load(); i += jobs) {
      datagen::Rng rng = datagen::Rng::for_item(seed, i);
      datagen::random_instance(g, rng, inst);
      auto m = checker.check(inst.image, inst.init, mutation);
      ++done;
      instructions += checker.instructions() - before;
      before = checker.instructions();
      if (m) {
        std::lock_guard lock(mu);
        if (i < first_bad) {
          first_bad = i;
          r.first = Found{i, inst, *m};
        }
      }
      if (progress && j == 0) progress->update(done.load());
    }
  };
  std::vector<std::thread> threads;
  std::exception_ptr error;
  std::mutex emu;
  for (unsigned j = 0; j < jobs; ++j)
    threads.emplace_back([&, j] {
      try {
        work(j);
      } catch (...) {
        std::lock_guard lock(emu);
        error = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  r.programs = done;
  r.instructions = instructions;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

void write_repro(const isa::Config& c, const xcheck::Repro& rep, const std::string& base) {
  std::string text = "; cpusim crosscheck reproducer (" + std::string(isa::profile_name(c.profile)) + ")\n; " +
                     rep.mismatch.what + " at step " + std::to_string(rep.mismatch.step) + "\n; initial state:";
  for (size_t b = 0; b < rep.init.size(); ++b)
    if (rep.init[b]) text += " " + isa::byte_name(c, b) + "=" + std::to_string(rep.init[b]);
  text += "\n" + isa::disassemble_program(c.profile, rep.image);
  write_file_atomic(base + ".asm", text);
  write_file_atomic(base + ".state", rep.init);
}

}  // namespace

int cmd_crosscheck(const Args& args) {
  IsaOptions io;
  uint64_t programs = 0, seed = 0;
  unsigned jobs = 1, min_len = 1, max_len = 0;
  std::string program, init_file, repro = "crosscheck-repro", format = "auto", mutate;
  std::vector<std::string> sets;
  bool json = false, self_test = false, quiet = false;
  po::options_description d("crosscheck options");
  io.add(d);
  d.add_options()("programs", po::value(&programs), "random programs to check (default 2000)")
      ("seed", po::value(&seed)->default_value(0), "random seed")
      ("jobs,j", po::value(&jobs)->default_value(1), "worker threads, one Unicorn each")
      ("min-len", po::value(&min_len)->default_value(1), "shortest random program")
      ("max-len", po::value(&max_len), "longest random program (datagen's default)")
      ("program", po::value(&program), "check this program (assembly or bytes) instead of random ones")
      ("init-state", po::value(&init_file), "with --program: initial state file")
      ("set", po::value(&sets)->composing(), "with --program: initial state edit NAME=VALUE")
      ("self-test", po::bool_switch(&self_test), "mutation self-test: every opcode and form broken in turn")
      ("mutate", po::value(&mutate), "break the interpreter's 'MNEMONIC FORM' on purpose (e.g. 'ADD r,r') to see a mismatch report")
      ("repro", po::value(&repro)->default_value("crosscheck-repro"), "reproducer files written on a mismatch: BASE.asm, BASE.state")
      ("json", po::bool_switch(&json), "print one JSON object")
      ("quiet,q", po::bool_switch(&quiet), "no progress display");
  po::variables_map vm;
  if (!parse("crosscheck", "--isa P [--programs N] [--seed S] [--jobs J] [--json] | --program FILE | --self-test", d,
             {}, args, vm))
    return 0;
  datagen::GenConfig g;
  g.isa = io.config();
  g.min_len = min_len;
  g.max_len = max_len;
  datagen::validate(g);
  jobs = std::max(1u, jobs);
  if (!programs) programs = 2000;
  std::optional<emu::Mutation> mutation;
  if (!mutate.empty()) {
    const size_t sp = mutate.find(' ');
    const isa::OpInfo* op = isa::find_opcode(g.isa.profile, mutate.substr(0, sp));
    const std::string form = sp == std::string::npos ? "-" : mutate.substr(sp + 1);
    for (int f = 0; op && f < isa::kNumForms && !mutation; ++f)
      if ((op->forms & isa::form_bit(isa::Form(f))) && form == isa::form_info(isa::Form(f)).text)
        mutation = emu::Mutation{op->code, isa::Form(f)};
    if (!mutation) throw Error("--mutate '" + mutate + "': no such opcode and form (forms are written like r,r or - for none)");
  }
  const emu::Mutation* mut = mutation ? &*mutation : nullptr;

  if (!program.empty()) {
    // One given program.
    const auto bytes = load_image(g.isa, program);
    std::vector<uint8_t> init = emu::zero_state(g.isa);
    if (!init_file.empty()) {
      init = read_file(init_file);
      if (init.size() != isa::state_bytes(g.isa))
        throw Error(init_file + ": initial state is " + std::to_string(init.size()) + " bytes, expected " +
                    std::to_string(isa::state_bytes(g.isa)));
    }
    apply_sets(g.isa, sets, init);
    xcheck::Checker checker(g.isa);
    const auto m = checker.check(bytes, init, mut);
    if (json) {
      std::cout << nlohmann::json{{"programs", 1}, {"instructions", checker.instructions()}, {"mismatches", m ? 1 : 0}}.dump(2)
                << "\n";
    }
    if (m) {
      std::cerr << program << ": MISMATCH\n" << xcheck::describe(g.isa, checker, *m);
      return 1;
    }
    if (!json) std::cout << program << ": " << checker.instructions() << " instructions agree\n";
    return 0;
  }

  if (self_test) {
    nlohmann::json survivors = nlohmann::json::array();
    int mutants = 0, caught = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (const bool edge : {false, true})
    for (const isa::OpInfo& op : isa::opcodes(g.isa.profile)) {
      for (int f = 0; f < isa::kNumForms; ++f) {
        if (!(op.forms & isa::form_bit(isa::Form(f)))) continue;
        if (edge && op.code == 0) continue;  // HLT has no value to be wrong at an edge
        const emu::Mutation mut{op.code, isa::Form(f), edge};
        ++mutants;
        const RunResult r = run_random(g, seed, programs, jobs, &mut, nullptr);
        const std::string name = std::string(op.mnemonic) + " " + isa::form_info(isa::Form(f)).text +
                                 (edge ? " (edge)" : "");
        if (r.first) {
          ++caught;
          if (!json && !quiet)
            std::cerr << "caught " << std::left << std::setw(14) << name << " in program " << r.first->index
                      << " at step " << r.first->mismatch.step << "\n";
        } else {
          survivors.push_back(name);
          if (!json) std::cerr << "SURVIVED " << name << " (" << r.programs << " programs)\n";
        }
      }
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (json)
      std::cout << nlohmann::json{{"isa", std::string(isa::profile_name(g.isa.profile))},
                                  {"mutants", mutants},
                                  {"mutants_caught", caught},
                                  {"survivors", survivors},
                                  {"program_budget", programs},
                                  {"seconds", secs}}
                       .dump(2)
                << "\n";
    else
      std::cout << "mutants " << mutants << ", caught " << caught << ", survivors " << survivors.size() << "\n";
    return caught == mutants ? 0 : 1;
  }

  Progress progress("crosscheck", programs, "programs");
  const RunResult r = run_random(g, seed, programs, jobs, mut, quiet || json ? nullptr : &progress);
  if (!quiet && !json) progress.finish();
  nlohmann::json j = {{"isa", std::string(isa::profile_name(g.isa.profile))},
                      {"seed", seed},
                      {"programs", r.programs},
                      {"instructions", r.instructions},
                      {"mismatches", r.first ? 1 : 0},
                      {"seconds", r.seconds},
                      {"programs_per_s", r.seconds > 0 ? r.programs / r.seconds : 0},
                      {"instructions_per_s", r.seconds > 0 ? r.instructions / r.seconds : 0},
                      {"jobs", jobs}};
  if (r.first) {
    xcheck::Checker checker(g.isa);
    const xcheck::Repro rep = xcheck::minimise(g.isa, checker, r.first->inst.image, r.first->inst.init, mut);
    write_repro(g.isa, rep, repro);
    std::cerr << "MISMATCH in program " << r.first->index << " (seed " << seed << ")\n"
              << xcheck::describe(g.isa, checker, r.first->mismatch) << "minimised reproducer: " << repro << ".asm, "
              << repro << ".state\n"
              << isa::disassemble_program(g.isa.profile, rep.image) << xcheck::describe(g.isa, checker, rep.mismatch)
              << "rerun: cpusim crosscheck --isa " << isa::profile_name(g.isa.profile) << " --program " << repro
              << ".asm --init-state " << repro << ".state" << (mutate.empty() ? "" : " --mutate '" + mutate + "'")
              << "\n";
    j["first_mismatch"] = {{"program", r.first->index}, {"step", r.first->mismatch.step}, {"what", r.first->mismatch.what}};
  }
  if (json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << std::fixed << std::setprecision(1) << r.programs << " programs, " << r.instructions
              << " instructions compared, " << (r.first ? 1 : 0) << " mismatches, " << r.seconds << " s ("
              << std::setprecision(0) << j["programs_per_s"].get<double>() << " programs/s, "
              << j["instructions_per_s"].get<double>() << " instructions/s)\n";
  }
  return r.first ? 1 : 0;
}

}  // namespace cpusim::cli
