// python/module.cpp: the `cpusim` Python module (pybind11): the assembler, the emulator, the
// verify score and a reader of cpusim's HDF5 trace sets, one call away from Python.
//
//   PYTHONPATH=build/python python3 -c "import cpusim;
//   print(cpusim.run(cpusim.assemble('INC')).hex())"
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>

#include "common/io.h"
#include "datagen/dataset.h"
#include "emulator/emulator.h"
#include "harness/report.h"
#include "isa/asm.h"
#include "isa/isa.h"

namespace py = pybind11;
using namespace pybind11::literals;
using cpusim::Error;

namespace {

namespace isa = cpusim::isa;

isa::Config config_of(const std::string& profile, unsigned memory_size, unsigned step_limit = 0) {
  isa::Config c = isa::default_config(isa::parse_profile(profile));
  if (memory_size) c.memory_size = memory_size;
  c.step_limit = step_limit;
  isa::validate(c);
  return c;
}

std::span<const uint8_t> view(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

py::bytes to_bytes(const std::vector<uint8_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}

// The trace file's bytes (image, then every state) of `program` from `state` (zeros by default).
py::bytes run(const py::bytes& program, const std::string& profile, unsigned memory_size,
              const std::optional<py::bytes>& state, unsigned step_limit) {
  const isa::Config c = config_of(profile, memory_size, step_limit);
  std::string prog = program;
  if (prog.size() % isa::kInsnBytes)
    throw Error("program of " + std::to_string(prog.size()) +
                " bytes is not a whole number of 4-byte instructions");
  if (prog.size() > isa::image_bytes(c))
    throw Error("program of " + std::to_string(prog.size()) + " bytes does not fit a " +
                std::to_string(isa::image_bytes(c)) + "-byte image");
  prog.resize(isa::image_bytes(c), '\0');
  std::string init = state ? std::string(*state) : std::string(isa::state_bytes(c), '\0');
  if (init.size() != isa::state_bytes(c))
    throw Error("state of " + std::to_string(init.size()) + " bytes; this machine's states have " +
                std::to_string(isa::state_bytes(c)));
  std::vector<uint8_t> trace;
  const auto o = cpusim::emu::run_trace(c, view(prog), view(init), trace);
  if (o.stop == cpusim::emu::Stop::fault) throw Error(cpusim::emu::describe_fault(c.profile, o));
  return to_bytes(trace);
}

// The paper's score of trace files: each re-executed from its image and first state, as
// `cpusim verify --json` states it (harness/report.h).
py::object verify(const std::vector<py::bytes>& traces, const std::string& profile,
                  unsigned memory_size) {
  const isa::Config c = config_of(profile, memory_size);
  std::vector<std::string> held(traces.begin(), traces.end());
  std::vector<std::span<const uint8_t>> views;
  for (const std::string& t : held) views.push_back(view(t));
  const auto j = cpusim::harness::verify_json(cpusim::harness::verify_traces(c, views));
  return py::module_::import("json").attr("loads")(j.dump());
}

// A cpusim HDF5 trace set, read trace by trace.
class TraceSet {
 public:
  explicit TraceSet(const std::string& path)
      : r_(std::make_unique<cpusim::datagen::H5Reader>(path)) {}
  py::dict info() const {
    const auto& i = r_->info();
    return py::dict("isa"_a = std::string(isa::profile_name(i.isa.profile)),
                    "memory_size"_a = i.isa.memory_size, "image_size"_a = isa::image_bytes(i.isa),
                    "state_size"_a = isa::state_bytes(i.isa), "source"_a = i.source,
                    "seed"_a = i.seed, "train"_a = r_->size(0), "test"_a = r_->size(1));
  }
  uint64_t count(const std::string& split) const {
    return r_->size(cpusim::datagen::split_index(split));
  }
  py::bytes trace(const std::string& split, uint64_t i) const {
    const int s = cpusim::datagen::split_index(split);
    if (i >= r_->size(s))
      throw py::index_error("trace " + std::to_string(i) + " of " + std::to_string(r_->size(s)));
    std::vector<uint8_t> bytes;
    std::vector<uint64_t> off;
    r_->read(s, i, 1, bytes, off);
    return to_bytes(bytes);
  }

 private:
  std::unique_ptr<cpusim::datagen::H5Reader> r_;
};

}  // namespace

PYBIND11_MODULE(cpusim, m) {
  m.doc() =
      "cpusim: the paper's CPU (bgpt) and cpusim's toy machine: assembler, emulator, verify score, "
      "trace sets";
  py::register_exception<Error>(m, "Error", PyExc_ValueError);
  m.def(
      "assemble",
      [](const std::string& text, const std::string& profile) {
        return to_bytes(isa::assemble(isa::parse_profile(profile), text));
      },
      "text"_a, "isa"_a = "bgpt", "Assembly text -> program bytes (4 per instruction).");
  m.def(
      "disassemble",
      [](const py::bytes& program, const std::string& profile) {
        return isa::disassemble_program(isa::parse_profile(profile), view(std::string(program)));
      },
      "program"_a, "isa"_a = "bgpt", "Program bytes -> assembly text, one instruction per line.");
  m.def("run", &run, "program"_a, "isa"_a = "bgpt", "memory_size"_a = 0, "state"_a = py::none(),
        "step_limit"_a = 0,
        "Runs a program (bytes, zero-padded to the image) from `state` (zeros by default), as "
        "`cpusim run`:\n"
        "returns the trace file's bytes (the image, then every state, the initial one first).\n"
        "memory_size 0: the profile's default (bgpt 1024); raises cpusim.Error on a fault.");
  m.def("verify", &verify, "traces"_a, "isa"_a = "bgpt", "memory_size"_a = 0,
        "Re-executes trace files (bytes) and scores every state byte after the first, as `cpusim "
        "verify`.");
  m.def(
      "state_size",
      [](const std::string& p, unsigned ms) { return isa::state_bytes(config_of(p, ms)); },
      "isa"_a = "bgpt", "memory_size"_a = 0);
  m.def(
      "image_size",
      [](const std::string& p, unsigned ms) { return isa::image_bytes(config_of(p, ms)); },
      "isa"_a = "bgpt", "memory_size"_a = 0);
  py::class_<TraceSet>(m, "TraceSet", "A cpusim HDF5 trace set (cpusim datagen, dataset import).")
      .def(py::init<const std::string&>(), "path"_a)
      .def("info", &TraceSet::info)
      .def("count", &TraceSet::count, "split"_a = "train")
      .def("trace", &TraceSet::trace, "split"_a, "index"_a,
           "One trace's bytes: the image, then its states.");
}
