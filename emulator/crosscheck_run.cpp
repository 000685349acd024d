// emulator/crosscheck_run.cpp: parallel cross-check runs, the mutation self-test, reproducers.
#include "emulator/crosscheck_run.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "common/io.h"
#include "isa/asm.h"

namespace cpusim::xcheck {

RunResult run_programs(const isa::Config& c, const ProgramSource& programs, uint64_t n,
                       unsigned jobs, const emu::Mutation* mutation,
                       const std::function<void(uint64_t)>& progress, double max_seconds) {
  jobs = std::max(1u, jobs);
  RunResult r;
  std::atomic<uint64_t> first_bad{~0ull}, done{0}, instructions{0};
  std::mutex mu;
  std::exception_ptr error;
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<bool> out_of_time{false};
  std::vector<uint64_t> stopped_at(jobs, n);  // each job's first index not checked
  auto work = [&](unsigned j) {
    Checker checker(c);
    std::vector<uint8_t> image, init;
    uint64_t before = 0, count = 0, i = j;
    for (; i < n && i < first_bad.load() && !out_of_time; i += jobs) {
      if (max_seconds > 0 && ++count % 256 == 0 &&
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() >=
              max_seconds)
        out_of_time = true;
      programs(i, image, init);
      auto m = checker.check(image, init, mutation);
      ++done;
      instructions += checker.instructions() - before;
      before = checker.instructions();
      if (m) {
        std::lock_guard lock(mu);
        if (i < first_bad) {
          first_bad = i;
          r.first = Found{i, image, init, *m};
        }
      }
      if (progress && j == 0) progress(done.load());
    }
    stopped_at[j] = std::min(i, n);
  };
  std::vector<std::thread> threads;
  for (unsigned j = 0; j < jobs; ++j)
    threads.emplace_back([&, j] {
      try {
        work(j);
      } catch (...) {
        std::lock_guard lock(mu);
        error = std::current_exception();
      }
    });
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  r.programs = done;
  r.complete_below = *std::min_element(stopped_at.begin(), stopped_at.end());
  if (r.first) r.complete_below = std::min(r.complete_below, r.first->index);
  r.instructions = instructions;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::optional<emu::Mutation> parse_mutation(isa::Profile p, const std::string& text) {
  const size_t sp = text.find(' ');
  const isa::OpInfo* op = isa::find_opcode(p, text.substr(0, sp));
  const std::string form = sp == std::string::npos ? "-" : text.substr(sp + 1);
  for (int f = 0; op && f < isa::kNumForms; ++f)
    if ((op->forms & isa::form_bit(isa::Form(f))) && form == isa::form_info(isa::Form(f)).text)
      return emu::Mutation{op->code, isa::Form(f)};
  return std::nullopt;
}

std::string mutation_name(isa::Profile p, const emu::Mutation& m) {
  return std::string(isa::opcodes(p)[m.op].mnemonic) + " " + isa::form_info(m.form).text +
         (m.edge_only ? " (edge)" : "");
}

int SelfTest::caught() const {
  int n = 0;
  for (const auto& m : mutants) n += m.run.first.has_value();
  return n;
}

std::vector<std::string> SelfTest::survivors(isa::Profile p) const {
  std::vector<std::string> v;
  for (const auto& m : mutants)
    if (!m.run.first) v.push_back(mutation_name(p, m.mutation));
  return v;
}

SelfTest self_test(const isa::Config& c, const ProgramSource& programs, uint64_t n, unsigned jobs,
                   bool edges, const std::function<void(const MutantResult&)>& on_mutant) {
  SelfTest st;
  const auto t0 = std::chrono::steady_clock::now();
  for (const bool edge : {false, true}) {
    if (edge && !edges) break;
    for (const isa::OpInfo& op : isa::opcodes(c.profile))
      for (int f = 0; f < isa::kNumForms; ++f) {
        if (!(op.forms & isa::form_bit(isa::Form(f)))) continue;
        if (edge && op.code == 0) continue;  // HLT has no value to be wrong at an edge
        const emu::Mutation mut{op.code, isa::Form(f), edge};
        st.mutants.push_back({mut, run_programs(c, programs, n, jobs, &mut)});
        if (on_mutant) on_mutant(st.mutants.back());
      }
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return st;
}

void write_repro(const isa::Config& c, const Repro& rep, const std::string& base) {
  std::string text = "; cpusim crosscheck reproducer (" +
                     std::string(isa::profile_name(c.profile)) + ")\n; " + rep.mismatch.what +
                     " at step " + std::to_string(rep.mismatch.step) + "\n; initial state:";
  for (size_t b = 0; b < rep.init.size(); ++b)
    if (rep.init[b]) text += " " + isa::byte_name(c, b) + "=" + std::to_string(rep.init[b]);
  text += "\n" + isa::disassemble_program(c.profile, rep.image);
  write_file_atomic(base + ".asm", text);
  write_file_atomic(base + ".state", rep.init);
}

}  // namespace cpusim::xcheck
