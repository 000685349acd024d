// cli/cmd_crosscheck.cpp: `cpusim crosscheck`: interpreter vs Unicorn on random or given
// programs, and the mutation self-test (emulator/crosscheck_run.h).
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "common/progress.h"
#include "datagen/generator.h"
#include "emulator/crosscheck_run.h"
#include "isa/asm.h"

namespace cpusim::cli {

namespace {

struct XOptions {
  datagen::GenConfig gen;
  uint64_t programs = 2000, seed = 0, first = 0;
  double minutes = 0;  // a soak run: random programs until this much time has passed
  unsigned jobs = 1;
  std::string program, init_file, repro, mutate;
  std::vector<std::string> sets;
  bool json = false, self_test = false, quiet = false;
};

int check_one(const XOptions& o, const emu::Mutation* mut) {
  const isa::Config& c = o.gen.isa;
  const auto image = load_image(c, o.program);
  const auto init = load_state(c, o.init_file, o.sets);
  xcheck::Checker checker(c);
  const auto m = checker.check(image, init, mut);
  if (o.json)
    std::cout << nlohmann::json{{"programs", 1},
                                {"instructions", checker.instructions()},
                                {"mismatches", m ? 1 : 0}}
                     .dump(2)
              << "\n";
  if (m) {
    std::cerr << o.program << ": MISMATCH\n" << xcheck::describe(c, checker, *m);
    return kExitDifferences;
  }
  if (!o.json) std::cout << o.program << ": " << checker.instructions() << " instructions agree\n";
  return 0;
}

int self_test(const XOptions& o) {
  const isa::Profile p = o.gen.isa.profile;
  const auto st = xcheck::self_test(
      o.gen.isa, datagen::random_programs(o.gen, o.seed), o.programs, o.jobs,
      /*edges=*/true, [&](const xcheck::MutantResult& m) {
        const std::string name = xcheck::mutation_name(p, m.mutation);
        if (m.run.first && !o.json && !o.quiet)
          std::cerr << "caught " << std::left << std::setw(14) << name << " in program "
                    << m.run.first->index << " at step " << m.run.first->mismatch.step << "\n";
        if (!m.run.first && !o.json)
          std::cerr << "SURVIVED " << name << " (" << m.run.programs << " programs)\n";
      });
  const auto survivors = st.survivors(p);
  if (o.json)
    std::cout << nlohmann::json{{"isa", std::string(isa::profile_name(p))},
                                {"mutants", st.mutants.size()},
                                {"mutants_caught", st.caught()},
                                {"survivors", survivors},
                                {"program_budget", o.programs},
                                {"seconds", st.seconds}}
                     .dump(2)
              << "\n";
  else
    std::cout << "mutants " << st.mutants.size() << ", caught " << st.caught() << ", survivors "
              << survivors.size() << "\n";
  return survivors.empty() ? kExitOk : kExitDifferences;
}

// Shrinks the first failing program, writes the reproducer and says how to rerun it.
void report_mismatch(const XOptions& o, const xcheck::Found& f, const emu::Mutation* mut) {
  const isa::Config& c = o.gen.isa;
  xcheck::Checker checker(c);
  const xcheck::Repro rep = xcheck::minimise(c, checker, f.image, f.init, mut);
  xcheck::write_repro(c, rep, o.repro);
  std::cerr << "MISMATCH in program " << f.index << " (seed " << o.seed << ")\n"
            << xcheck::describe(c, checker, f.mismatch) << "minimised reproducer: " << o.repro
            << ".asm, " << o.repro << ".state\n"
            << isa::disassemble_program(c.profile, rep.image)
            << xcheck::describe(c, checker, rep.mismatch) << "rerun: cpusim crosscheck --isa "
            << isa::profile_name(c.profile) << " --program " << o.repro << ".asm --init-state "
            << o.repro << ".state" << (o.mutate.empty() ? "" : " --mutate '" + o.mutate + "'")
            << "\n";
}

int check_random(const XOptions& o, const emu::Mutation* mut) {
  const isa::Config& c = o.gen.isa;
  Progress progress("crosscheck", o.programs, "programs");
  const bool show =
      !o.quiet && !o.json && o.minutes <= 0;  // (a soak run has no total to show against)
  // Programs first..first+programs-1 of the seed's sequence: a long run split into pieces.
  const xcheck::ProgramSource all = datagen::random_programs(o.gen, o.seed);
  const xcheck::ProgramSource from = [&](uint64_t i, std::vector<uint8_t>& image,
                                         std::vector<uint8_t>& init) {
    all(o.first + i, image, init);
  };
  auto r = xcheck::run_programs(
      c, from, o.programs, o.jobs, mut,
      show ? [&](uint64_t done) { progress.update(done); } : std::function<void(uint64_t)>(),
      60 * o.minutes);
  if (show) progress.finish();
  if (r.first) r.first->index += o.first;
  r.complete_below += o.first;
  const double pps = r.seconds > 0 ? r.programs / r.seconds : 0,
               ips = r.seconds > 0 ? r.instructions / r.seconds : 0;
  nlohmann::json j = {{"isa", std::string(isa::profile_name(c.profile))},
                      {"seed", o.seed},
                      {"programs", r.programs},
                      {"instructions", r.instructions},
                      {"mismatches", r.first ? 1 : 0},
                      {"seconds", r.seconds},
                      {"programs_per_s", pps},
                      {"instructions_per_s", ips},
                      {"jobs", o.jobs},
                      {"min_len", o.gen.min_len},
                      {"max_len", o.gen.max_len},
                      {"first", o.first},
                      {"complete_below", r.complete_below}};
  if (o.minutes > 0) j["minutes"] = o.minutes;
  if (r.first) {
    report_mismatch(o, *r.first, mut);
    j["first_mismatch"] = {{"program", r.first->index},
                           {"step", r.first->mismatch.step},
                           {"what", r.first->mismatch.what}};
  }
  if (o.json)
    std::cout << j.dump(2) << "\n";
  else
    std::cout << std::fixed << std::setprecision(1) << r.programs << " programs, " << r.instructions
              << " instructions compared, " << (r.first ? 1 : 0) << " mismatches, " << r.seconds
              << " s (" << std::setprecision(0) << pps << " programs/s, " << ips
              << " instructions/s)"
              << (o.minutes > 0 || o.first
                      ? "; every program of " + std::to_string(o.first) + ".." +
                            std::to_string(r.complete_below - 1) + " checked"
                      : "")
              << "\n";
  return r.first ? kExitDifferences : kExitOk;
}

}  // namespace

int cmd_crosscheck(const Args& args) {
  IsaOptions io;
  XOptions o;
  unsigned min_len = 1, max_len = 0;
  po::options_description d("crosscheck options");
  io.add(d);
  d.add_options()("programs", po::value(&o.programs)->default_value(2000),
                  "random programs to check (with --minutes: at most; default then unlimited)")(
      "minutes", po::value(&o.minutes)->default_value(0),
      "a soak run: check random programs until this many minutes have passed (or a mismatch is "
      "found)")("seed", po::value(&o.seed)->default_value(0), "random seed")(
      "first", po::value(&o.first)->default_value(0),
      "start at this program of the seed's sequence (a long run split into pieces: the next piece "
      "starts at the last one's complete_below)")(
      "jobs,j",
      po::value(&o.jobs)->default_value(std::max(1u, std::thread::hardware_concurrency())),
      "worker threads, one Unicorn each (default: one per core, as datagen; the report is the same "
      "whatever the number)")("min-len", po::value(&min_len)->default_value(1),
                              "shortest random program")(
      "max-len", po::value(&max_len), "longest random program (datagen's default)")(
      "program", po::value(&o.program),
      "check this program (assembly or bytes) instead of random ones")(
      "init-state", po::value(&o.init_file), "with --program: initial state file")(
      "set", po::value(&o.sets)->composing(), "with --program: initial state edit NAME=VALUE")(
      "self-test", po::bool_switch(&o.self_test),
      "mutation self-test: every opcode and form broken in turn")(
      "mutate", po::value(&o.mutate),
      "break the interpreter's 'MNEMONIC FORM' on purpose (e.g. 'ADD r,r') to see a mismatch "
      "report")("repro", po::value(&o.repro)->default_value("crosscheck-repro"),
                "reproducer files written on a mismatch: BASE.asm, BASE.state")(
      "json", po::bool_switch(&o.json), "print one JSON object")(
      "quiet,q", po::bool_switch(&o.quiet), "no progress display");
  po::variables_map vm;
  if (!parse("crosscheck",
             "--isa P [--programs N] [--seed S] [--jobs J] [--json] | --program FILE | --self-test",
             d, {}, args, vm))
    return 0;
  o.gen.isa = io.config();
  o.gen.min_len = min_len;
  o.gen.max_len = max_len;
  datagen::validate(o.gen);
  o.jobs = std::max(1u, o.jobs);
  if (o.minutes < 0) throw Error("--minutes must be positive");
  if (o.minutes > 0 && vm["programs"].defaulted()) o.programs = UINT64_MAX;
  std::optional<emu::Mutation> mutation;
  if (!o.mutate.empty() && !(mutation = xcheck::parse_mutation(o.gen.isa.profile, o.mutate)))
    throw Error("--mutate '" + o.mutate +
                "': no such opcode and form (forms are written like r,r or - for none)");
  const emu::Mutation* mut = mutation ? &*mutation : nullptr;
  if (!o.program.empty()) return check_one(o, mut);
  if (o.self_test) return self_test(o);
  return check_random(o, mut);
}

}  // namespace cpusim::cli
