// harness/verify.cpp: re-execution and scoring of one trace file.
#include "harness/verify.h"

#include <algorithm>
#include <filesystem>

#include "common/io.h"
#include "datagen/dataset.h"

namespace cpusim::harness {

VerifyResult verify_trace(const isa::Config& c, std::span<const uint8_t> file,
                          const std::string& name) {
  const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
  if (file.size() < ib + sb)
    throw Error(name + ": too short (" + std::to_string(file.size()) +
                " bytes) to hold the program image and first state (" + std::to_string(ib + sb) +
                " bytes for --isa " + std::string(isa::profile_name(c.profile)) +
                " --memory-size " + std::to_string(c.memory_size) + ")");
  std::vector<uint8_t> states;
  VerifyResult r;
  r.outcome = emu::run(c, file.subspan(0, ib), file.subspan(ib, sb), states);
  if (r.outcome.stop == emu::Stop::fault)
    throw Error(name + ": re-execution stopped: " + emu::describe_fault(c.profile, r.outcome));
  r.trace = isa::score_trace(states, file.subspan(ib + sb), sb);
  return r;
}

void VerifyTotals::add(const VerifyResult& r) {
  ++traces;
  exact_traces += r.trace.exact();
  tally += r.trace.tally;
}

VerifyTotals verify_traces(const isa::Config& c,
                           const std::vector<std::span<const uint8_t>>& traces) {
  VerifyTotals total;
  total.machine = c;
  for (size_t i = 0; i < traces.size(); ++i)
    total.add(verify_trace(c, traces[i], "trace " + std::to_string(i)));
  return total;
}

namespace {

namespace fs = std::filesystem;

bool is_h5(const std::string& p) {
  const std::string ext = fs::path(p).extension().string();
  return ext == ".h5" || ext == ".hdf5";
}

// Files as given; folders expanded to their .bin files (recursively, sorted).
std::vector<std::string> expand(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::recursive_directory_iterator(p, ec))
        if (e.is_regular_file() && e.path().extension() == ".bin")
          found.push_back(e.path().string());
      if (ec) throw Error(p + ": cannot list folder: " + ec.message());
      if (found.empty()) throw Error(p + ": folder holds no .bin trace files");
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec) || is_h5(p)) {
      out.push_back(p);
    } else {
      throw Error(p + ": no such file or folder");
    }
  }
  return out;
}

}  // namespace

VerifyTotals verify_paths(const VerifyPaths& v) {
  VerifyTotals total;
  auto score = [&](const isa::Config& c, const std::string& name, std::span<const uint8_t> bytes) {
    const VerifyResult r = verify_trace(c, bytes, name);
    total.add(r);
    total.machine = c;
    if (v.each) v.each(name, r);
  };
  for (const std::string& path : expand(v.paths)) {
    if (!is_h5(path)) {
      score(v.machine_for(path), path, read_file(path));
      continue;
    }
    // An HDF5 set carries its own machine parameters; an explicit profile must agree.
    datagen::H5Reader set(path);
    const isa::Config c = set.info().isa;
    if (v.profile && c.profile != *v.profile)
      throw Error(path + ": a " + std::string(isa::profile_name(c.profile)) + " set, not --isa " +
                  std::string(isa::profile_name(*v.profile)));
    total.machine = c;
    for (int s = 0; s < 2; ++s)
      if (v.split == "all" || datagen::split_index(v.split) == s)
        set.for_each(s, set.size(s), [&](uint64_t i, std::span<const uint8_t> t) {
          score(c, path + ":" + datagen::kSplits[s] + "/" + std::to_string(i), t);
        });
  }
  return total;
}

}  // namespace cpusim::harness
