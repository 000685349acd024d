// emulator/crosscheck.cpp: the Unicorn side of the cross-check, its comparison and shrinking.
#include "emulator/crosscheck.h"

#include <capstone/capstone.h>
#include <unicorn/unicorn.h>

#include <cstdio>
#include <cstring>

#include "common/io.h"
#include "emulator/lower.h"
#include "isa/asm.h"
#include "isa/compare.h"

namespace cpusim::xcheck {

namespace {

constexpr uint64_t kCodeBase = 0x100000, kCodeSize = 0x40000;
constexpr uint64_t kProgBase = 0x200000, kProgSize = 0x1000;
constexpr uint64_t kDataBase = 0x300000, kDataSize = 0x1000;

Mismatch make_mismatch(uint64_t step, std::string what) {
  Mismatch m;
  m.step = step;
  m.what = std::move(what);
  return m;
}

void must(uc_err e, const char* what) {
  if (e != UC_ERR_OK) throw Error(std::string("unicorn: ") + what + ": " + uc_strerror(e));
}

}  // namespace

struct Checker::Impl {
  isa::Config c;
  uc_engine* uc = nullptr;
  uc_hook hook = 0;
  lower::Program prog;
  size_t last_code_words = 0;
  // Unicorn keeps memory for every translation it ever made, even after the cache entries are
  // removed; a fresh engine every kProgramsPerEngine programs keeps memory flat and speed up.
  static constexpr int kProgramsPerEngine = 2000;
  int programs_on_engine = 0;
  void open();
  size_t sb = 0;
  uint64_t compared = 0;
  // Per run:
  const std::vector<uint8_t>* expected = nullptr;  // interpreter states
  uint64_t expected_states = 0;
  bool stop_at_last = false;  // the interpreter stopped at the step limit: stop Unicorn there too
  uint64_t boundaries = 0;
  int64_t prev_slot = -1;  // slot whose block runs after the previous boundary
  std::optional<Mismatch> mismatch;
  std::vector<uint8_t> actual;
  std::vector<uint8_t> image;

  void read_state(std::vector<uint8_t>& s, bool& out_of_range) {
    int ids[14];
    uint64_t vals[14] = {};
    void* ptrs[14];
    int n = 0;
    ids[n++] = UC_ARM64_REG_X21;
    ids[n++] = UC_ARM64_REG_X22;
    ids[n++] = UC_ARM64_REG_X23;
    ids[n++] = UC_ARM64_REG_X24;
    for (int r = 0; r < isa::kNumRegs; ++r) ids[n++] = UC_ARM64_REG_X9 + r;
    for (int i = 0; i < n; ++i) ptrs[i] = &vals[i];
    uc_reg_read_batch(uc, ids, ptrs, n);
    out_of_range = false;
    s.assign(sb, 0);
    s[isa::kPC] = uint8_t(vals[0]);
    out_of_range |= vals[0] > 255;
    const uint32_t ir = uint32_t(vals[1]);
    for (int i = 0; i < 4; ++i) s[isa::kIR + i] = uint8_t(ir >> (8 * i));
    if (c.profile == isa::Profile::bgpt) {
      s[isa::kAcc] = uint8_t(vals[2]);
      out_of_range |= vals[2] > 255;
    } else {
      s[isa::kFlags] = uint8_t((vals[2] ? isa::kFlagZ : 0) | (vals[3] ? isa::kFlagC : 0));
      out_of_range |= vals[2] > 1 || vals[3] > 1;
      uc_mem_read(uc, kDataBase, s.data() + isa::kHeaderBytes, c.memory_size);
    }
    for (int r = 0; r < isa::kNumRegs; ++r) {
      s[isa::kRegs + r] = uint8_t(vals[4 + r]);
      out_of_range |= vals[4 + r] > 255;
    }
  }

  static void on_code(uc_engine* uc, uint64_t addr, uint32_t, void* user) {
    auto* self = static_cast<Impl*>(user);
    if ((addr - self->prog.base) % lower::kStubBytes != lower::kStubHookOffset) return;
    const uint64_t k = ++self->boundaries;
    if (k >= self->expected_states) {
      self->mismatch = make_mismatch(k, "Unicorn fetched instruction " + std::to_string(k) +
                                            " but the interpreter recorded only " +
                                            std::to_string(self->expected_states - 1) +
                                            " after the initial state");
      self->mismatch->host_pc = addr;
      self->mismatch->host_slot = self->prev_slot;
      uc_emu_stop(uc);
      return;
    }
    bool out_of_range = false;
    self->read_state(self->actual, out_of_range);
    ++self->compared;
    const uint8_t* want = self->expected->data() + k * self->sb;
    if (out_of_range || isa::first_difference({want, self->sb}, self->actual, self->sb)) {
      Mismatch m;
      m.step = k;
      m.what =
          out_of_range ? "a host register holds a value outside its toy range" : "states differ";
      m.expected.assign(want, want + self->sb);
      m.actual = self->actual;
      m.host_pc = addr;
      m.host_slot = self->prev_slot;
      self->mismatch = m;
      uc_emu_stop(uc);
      return;
    }
    self->prev_slot = int64_t((addr - self->prog.base) / lower::kStubBytes);
    if (self->stop_at_last && k + 1 == self->expected_states) uc_emu_stop(uc);
  }
};

void Checker::Impl::open() {
  if (uc) uc_close(uc);
  uc = nullptr;
  must(uc_open(UC_ARCH_ARM64, UC_MODE_ARM, &uc), "open AArch64");
  must(uc_mem_map(uc, kCodeBase, kCodeSize, UC_PROT_READ | UC_PROT_EXEC), "map code");
  must(uc_mem_map(uc, kProgBase, kProgSize, UC_PROT_READ), "map program");
  must(uc_mem_map(uc, kDataBase, kDataSize, UC_PROT_READ | UC_PROT_WRITE), "map data");
  const uint64_t stubs_end = kCodeBase + lower::kStubBytes * isa::program_capacity(c) - 1;
  must(uc_hook_add(uc, &hook, UC_HOOK_CODE, reinterpret_cast<void*>(&Impl::on_code), this,
                   kCodeBase, stubs_end),
       "add hook");
  last_code_words = 0;
  programs_on_engine = 0;
}

Checker::Checker(const isa::Config& c) : impl_(std::make_unique<Impl>()) {
  impl_->c = c;
  impl_->sb = isa::state_bytes(c);
  impl_->open();
}

Checker::~Checker() {
  if (impl_->uc) uc_close(impl_->uc);
}

uint64_t Checker::instructions() const { return impl_->compared; }

std::optional<Mismatch> Checker::check(std::span<const uint8_t> image,
                                       std::span<const uint8_t> init,
                                       const emu::Mutation* mutation) {
  Impl& m = *impl_;
  const isa::Config& c = m.c;
  // The interpreter's states.
  std::vector<uint8_t> states;
  const emu::Outcome o = mutation ? emu::run_mutant(c, image, init, states, *mutation)
                                  : emu::run(c, image, init, states);
  m.expected = &states;
  m.expected_states = states.size() / m.sb;
  m.stop_at_last = o.stop == emu::Stop::step_limit;
  m.boundaries = 0;
  m.prev_slot = -1;
  m.mismatch.reset();
  m.image.assign(image.begin(), image.end());
  const unsigned pc0 = init[isa::kPC];
  if (pc0 >= isa::program_capacity(c)) {
    if (o.stop == emu::Stop::fault) return std::nullopt;  // both refuse to start
    return make_mismatch(0, "the interpreter ran from an initial PC outside the image");
  }
  // Unicorn: code, program, data, registers.
  if (++m.programs_on_engine > Impl::kProgramsPerEngine) m.open();
  m.prog = lower::lower(c, image, kCodeBase);
  // Drop translations of the previous program's code (a whole-cache flush costs ~100x more).
  const uint64_t code_end = kCodeBase + 4 * std::max(m.prog.code.size(), m.last_code_words);
  uc_ctl_remove_cache(m.uc, kCodeBase, code_end);
  must(uc_mem_write(m.uc, kCodeBase, m.prog.code.data(), 4 * m.prog.code.size()), "write code");
  m.last_code_words = m.prog.code.size();
  must(uc_mem_write(m.uc, kProgBase, image.data(), image.size()), "write program");
  if (c.profile == isa::Profile::toy)
    must(uc_mem_write(m.uc, kDataBase, init.data() + isa::kHeaderBytes, c.memory_size),
         "write data");
  auto set = [&](int reg, uint64_t v) { must(uc_reg_write(m.uc, reg, &v), "write register"); };
  set(UC_ARM64_REG_X19, kDataBase);
  set(UC_ARM64_REG_X20, kProgBase);
  set(UC_ARM64_REG_X21, init[isa::kPC]);
  uint32_t ir;
  std::memcpy(&ir, init.data() + isa::kIR, 4);
  set(UC_ARM64_REG_X22, ir);
  if (c.profile == isa::Profile::bgpt) {
    set(UC_ARM64_REG_X23, init[isa::kAcc]);
    set(UC_ARM64_REG_X24, 0);
  } else {
    set(UC_ARM64_REG_X23, (init[isa::kFlags] & isa::kFlagZ) ? 1 : 0);
    set(UC_ARM64_REG_X24, (init[isa::kFlags] & isa::kFlagC) ? 1 : 0);
  }
  set(UC_ARM64_REG_X25, 255);
  set(UC_ARM64_REG_X26, 0);
  for (int r = 0; r < isa::kNumRegs; ++r) set(UC_ARM64_REG_X9 + r, init[isa::kRegs + r]);
  if (isa::first_difference(init.subspan(0, m.sb), std::span(states).subspan(0, m.sb), m.sb))
    return make_mismatch(0, "initial states differ");
  // No timeout: Unicorn 2.0.1's per-run timeout thread can end a run early and still return
  // UC_ERR_OK (seen as spurious early stops in multi-million-program soaks). Runs are bounded
  // without it: every path between two toy instructions crosses a stub (blocks branch only
  // forward or to a stub; test Crosscheck.EveryLoopCrossesTheBoundaryHook), and the hook stops
  // Unicorn once it passes the interpreter's last recorded state.
  const uc_err err = uc_emu_start(m.uc, m.prog.stub(pc0), m.prog.exit, /*timeout=*/0, /*count=*/0);
  if (m.mismatch) {
    const uint64_t k = m.mismatch->step;
    if (k >= 1 && k < m.expected_states)
      m.mismatch->insn = isa::insn_at(states.data() + (k - 1) * m.sb + isa::kIR);
    return m.mismatch;
  }
  if (err != UC_ERR_OK)
    return make_mismatch(m.boundaries, std::string("Unicorn stopped: ") + uc_strerror(err));
  uint64_t fault = 0;
  uc_reg_read(m.uc, UC_ARM64_REG_X26, &fault);
  const bool host_fault = fault != 0;
  if (host_fault != (o.stop == emu::Stop::fault))
    return make_mismatch(
        m.boundaries, host_fault ? "Unicorn's code faulted, the interpreter did not"
                                 : "the interpreter faulted (" + emu::describe_fault(c.profile, o) +
                                       "), Unicorn's code did not");
  if (m.boundaries + 1 != m.expected_states)
    return make_mismatch(m.boundaries, "Unicorn stopped after " + std::to_string(m.boundaries) +
                                           " instructions, the interpreter after " +
                                           std::to_string(m.expected_states - 1));
  return std::nullopt;
}

std::string Checker::host_listing(int64_t slot, uint64_t addr) const {
  const lower::Program& p = impl_->prog;
  if (p.code.empty()) return "";
  csh h;
  if (cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &h) != CS_ERR_OK) return "(capstone unavailable)\n";
  std::string out;
  const int64_t center = (int64_t(addr) - int64_t(p.base)) / 4;
  auto dump = [&](int64_t from, int64_t to, const char* title) {
    out += title;
    for (int64_t i = std::max<int64_t>(0, from); i < std::min<int64_t>(int64_t(p.code.size()), to);
         ++i) {
      cs_insn* insn;
      const uint64_t a = p.base + 4 * i;
      const size_t n = cs_disasm(h, reinterpret_cast<const uint8_t*>(&p.code[i]), 4, a, 1, &insn);
      char line[256];
      if (n == 1) {
        std::snprintf(line, sizeof line, "  %s 0x%06llx: %08x  %s %s\n", a == addr ? "=>" : "  ",
                      (unsigned long long)a, p.code[i], insn[0].mnemonic, insn[0].op_str);
        cs_free(insn, n);
      } else {
        std::snprintf(line, sizeof line, "     0x%06llx: %08x  (undecodable)\n",
                      (unsigned long long)a, p.code[i]);
      }
      out += line;
    }
  };
  if (slot >= 0 && slot < int64_t(p.block.size())) {
    const int64_t from = (int64_t(p.block[slot]) - int64_t(p.base)) / 4;
    const int64_t to = slot + 1 < int64_t(p.block.size())
                           ? (int64_t(p.block[slot + 1]) - int64_t(p.base)) / 4
                           : int64_t(p.code.size());
    dump(from, to,
         ("host code of image slot " + std::to_string(slot) + ", the instruction executed:\n")
             .c_str());
  }
  dump(center - 2, center + 1, "host code at the boundary (the fetch of the next instruction):\n");
  cs_close(&h);
  return out;
}

std::string describe(const isa::Config& c, const Checker& checker, const Mismatch& m) {
  std::string s = "step " + std::to_string(m.step) + ": " + m.what + "\n";
  if (m.step >= 1) s += "  after executing: " + isa::disassemble(c.profile, m.insn) + "\n";
  if (!m.expected.empty() && !m.actual.empty())
    s += isa::render_differences(c, m.expected.data(), m.actual.data(), m.actual.size(), "unicorn",
                                 "  ", "interpreter");
  if (m.host_pc) s += checker.host_listing(m.host_slot, m.host_pc);
  return s;
}

Repro minimise(const isa::Config& c, Checker& checker, std::span<const uint8_t> image0,
               std::span<const uint8_t> init0, const emu::Mutation* mutation) {
  Repro r{std::vector<uint8_t>(image0.begin(), image0.end()),
          std::vector<uint8_t>(init0.begin(), init0.end()),
          {}};
  auto fails = [&](const std::vector<uint8_t>& img,
                   const std::vector<uint8_t>& st) -> std::optional<Mismatch> {
    return checker.check(img, st, mutation);
  };
  auto first = fails(r.image, r.init);
  if (!first) return r;
  r.mismatch = *first;
  const unsigned slots = isa::program_capacity(c);
  bool progress = true;
  while (progress) {
    progress = false;
    // Drop instruction i (later ones move up; the image stays zero-padded).
    for (unsigned i = 0; i < slots; ++i) {
      std::vector<uint8_t> img(r.image.size(), 0);
      bool any = false;
      for (unsigned j = 0, k = 0; j < slots; ++j) {
        if (j == i) continue;
        std::memcpy(img.data() + 4 * k++, r.image.data() + 4 * j, 4);
      }
      any = img != r.image;
      if (!any) continue;
      if (auto f = fails(img, r.init)) {
        r.image = img;
        r.mismatch = *f;
        progress = true;
        --i;
        if (i + 1 == 0) break;
      }
    }
    // Zero initial bytes (registers, ACC/FLAGS, data memory; not the PC).
    for (size_t b = isa::kAcc; b < r.init.size(); ++b) {
      if (r.init[b] == 0 || (b >= isa::kIR && b < isa::kIR + 4)) continue;
      auto st = r.init;
      st[b] = 0;
      if (auto f = fails(r.image, st)) {
        r.init = st;
        r.mismatch = *f;
        progress = true;
      }
    }
  }
  // Re-run so the checker's last program (for host listings) is the minimised one.
  if (auto f = fails(r.image, r.init)) r.mismatch = *f;
  return r;
}

std::string unicorn_version() {
  unsigned major = 0, minor = 0;
  uc_version(&major, &minor);  // the library's; the patch level is the headers'
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(UC_API_PATCH);
}

}  // namespace cpusim::xcheck
