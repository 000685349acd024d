// python/module.cpp: the compiled part of the `cpusim` Python package (pybind11, cpusim._cpusim,
// re-exported by python/cpusim/__init__.py): the assembler, the emulator, the verify score and a
// reader of cpusim's HDF5 trace sets, one call away from Python.
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
#include "datagen/folder_meta.h"
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
py::bytes run_on(const isa::Config& c, const py::bytes& program,
                 const std::optional<py::bytes>& state) {
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

py::bytes run(const py::bytes& program, const std::string& profile, unsigned memory_size,
              const std::optional<py::bytes>& state, unsigned step_limit) {
  return run_on(config_of(profile, memory_size, step_limit), program, state);
}

// The paper's score of trace files: each re-executed from its image and first state, as
// `cpusim verify --json` states it (harness/report.h).
py::object verify_on(const isa::Config& c, const std::vector<py::bytes>& traces) {
  std::vector<std::string> held(traces.begin(), traces.end());
  std::vector<std::span<const uint8_t>> views;
  for (const std::string& t : held) views.push_back(view(t));
  const auto j = cpusim::harness::verify_json(cpusim::harness::verify_traces(c, views));
  return py::module_::import("json").attr("loads")(j.dump());
}

py::object verify(const std::vector<py::bytes>& traces, const std::string& profile,
                  unsigned memory_size) {
  return verify_on(config_of(profile, memory_size), traces);
}

// One machine, stated once: its profile, memory size and step limit, and the calls that need
// them.
struct Machine {
  isa::Config config;
  std::string repr() const {
    return "cpusim.Machine(isa='" + std::string(isa::profile_name(config.profile)) +
           "', memory_size=" + std::to_string(config.memory_size) +
           ", step_limit=" + std::to_string(isa::step_limit(config)) + ")";
  }
};

Machine machine(const std::string& profile, unsigned memory_size, unsigned step_limit) {
  return Machine{config_of(profile, memory_size, step_limit)};
}

// The machine a trace folder's files are for (its cpusim.json, as `cpusim verify DIR` reads it).
Machine machine_of_folder(const std::string& path) {
  const auto meta = cpusim::datagen::find_folder_meta(path);
  if (!meta)
    throw Error(path + ": no " + cpusim::datagen::kFolderMetaName + " (not a folder " +
                "written by cpusim datagen or eval); state the machine with cpusim.Machine");
  return Machine{meta->files};
}

// A cpusim HDF5 trace set, read trace by trace or a slice at a time.
class TraceSet {
 public:
  explicit TraceSet(const std::string& path)
      : r_(std::make_unique<cpusim::datagen::H5Reader>(path)) {}
  Machine machine() const { return Machine{r_->info().isa}; }
  // Traces [first, first + count) of a split in one read, each as bytes.
  std::vector<py::bytes> traces(const std::string& split, uint64_t first, uint64_t count) const {
    const int s = cpusim::datagen::split_index(split);
    if (first > r_->size(s) || count > r_->size(s) - first)
      throw py::index_error("traces " + std::to_string(first) + ".." +
                            std::to_string(first + count) + " of " + std::to_string(r_->size(s)));
    std::vector<uint8_t> bytes;
    std::vector<uint64_t> off;
    r_->read(s, first, count, bytes, off);
    std::vector<py::bytes> out;
    for (uint64_t k = 0; k < count; ++k)
      out.emplace_back(reinterpret_cast<const char*>(bytes.data() + off[k]), off[k + 1] - off[k]);
    return out;
  }
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

PYBIND11_MODULE(_cpusim, m) {
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
  py::class_<Machine>(m, "Machine",
                      "A machine stated once: Machine(isa='bgpt', memory_size=0 (the profile's "
                      "default: bgpt 1024), step_limit=0 (the profile's)). Its run() traces are "
                      "what its verify() re-executes; TraceSet.machine() and machine_of(folder) "
                      "give a set's or a trace folder's.")
      .def(py::init(&machine), "isa"_a = "bgpt", "memory_size"_a = 0, "step_limit"_a = 0)
      .def_property_readonly(
          "isa",
          [](const Machine& mc) { return std::string(isa::profile_name(mc.config.profile)); })
      .def_property_readonly("memory_size", [](const Machine& mc) { return mc.config.memory_size; })
      .def_property_readonly("step_limit",
                             [](const Machine& mc) { return isa::step_limit(mc.config); })
      .def_property_readonly("state_size",
                             [](const Machine& mc) { return isa::state_bytes(mc.config); })
      .def_property_readonly("image_size",
                             [](const Machine& mc) { return isa::image_bytes(mc.config); })
      .def(
          "assemble",
          [](const Machine& mc, const std::string& text) {
            return to_bytes(isa::assemble(mc.config.profile, text));
          },
          "text"_a, "Assembly text -> program bytes (4 per instruction).")
      .def(
          "disassemble",
          [](const Machine& mc, const py::bytes& program) {
            return isa::disassemble_program(mc.config.profile, view(std::string(program)));
          },
          "program"_a, "Program bytes -> assembly text.")
      .def(
          "run",
          [](const Machine& mc, const py::bytes& program, const std::optional<py::bytes>& state) {
            return run_on(mc.config, program, state);
          },
          "program"_a, "state"_a = py::none(),
          "Runs a program from `state` (zeros by default): the trace file's bytes.")
      .def(
          "verify",
          [](const Machine& mc, const std::vector<py::bytes>& traces) {
            return verify_on(mc.config, traces);
          },
          "traces"_a, "Re-executes trace files (bytes) on this machine and scores them.")
      .def("__repr__", &Machine::repr)
      .def("__eq__", [](const Machine& a, const Machine& b) {
        return a.config.profile == b.config.profile &&
               a.config.memory_size == b.config.memory_size &&
               a.config.program_size == b.config.program_size &&
               isa::step_limit(a.config) == isa::step_limit(b.config);
      });
  m.def("machine_of", &machine_of_folder, "path"_a,
        "The Machine a trace folder's files are for (its cpusim.json), as `cpusim verify DIR` "
        "reads it.");
  py::class_<TraceSet>(m, "TraceSet", "A cpusim HDF5 trace set (cpusim datagen, dataset import).")
      .def(py::init<const std::string&>(), "path"_a)
      .def("machine", &TraceSet::machine, "The set's Machine (from its metadata).")
      .def("traces", &TraceSet::traces, "split"_a, "first"_a, "count"_a,
           "Traces [first, first + count) of a split in one read, each as bytes.")
      .def("info", &TraceSet::info)
      .def("count", &TraceSet::count, "split"_a = "train")
      .def("trace", &TraceSet::trace, "split"_a, "index"_a,
           "One trace's bytes: the image, then its states.");
}
