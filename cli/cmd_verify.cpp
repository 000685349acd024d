// cli/cmd_verify.cpp: `cpusim verify`: re-execute trace files and score them (harness/verify.h).
#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "datagen/dataset.h"
#include "harness/verify.h"

namespace cpusim::cli {

namespace fs = std::filesystem;

namespace {

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
        if (e.is_regular_file() && e.path().extension() == ".bin") found.push_back(e.path().string());
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

nlohmann::json score_json(uint64_t traces, uint64_t exact_traces, const isa::Tally& t) {
  return {{"traces", traces},
          {"states", t.states},
          {"state_bytes", t.bytes},
          {"matched_bytes", t.matched_bytes},
          {"byte_accuracy", t.byte_accuracy()},
          {"exact_states", t.exact_states},
          {"state_accuracy", t.state_accuracy()},
          {"missing_bytes", t.missing_bytes},
          {"exact_traces", exact_traces}};
}

}  // namespace

int cmd_verify(const Args& args) {
  IsaOptions io;
  std::vector<std::string> inputs;
  bool json = false, strict = false, per_file = false;
  std::string split = "all";
  po::options_description d("verify options");
  io.add(d);
  d.add_options()("path", po::value(&inputs)->required(), "trace files or folders of .bin traces")
      ("json", po::bool_switch(&json), "print one JSON object")
      ("strict", po::bool_switch(&strict), "exit 1 when any byte mismatches")
      ("per-file", po::bool_switch(&per_file), "also report each file")
      ("split", po::value(&split)->default_value("all"), "HDF5 sets: train, test or all (default all: a check of data covers the whole set)");
  po::positional_options_description pos;
  pos.add("path", -1);
  po::variables_map vm;
  if (!parse("verify", "[--isa P] [--memory-size M] [--json] [--strict] PATH...", d, pos, args, vm))
    return 0;
  isa::Config c = io.config();
  harness::VerifyTotals total;
  nlohmann::json files = nlohmann::json::array();
  auto score = [&](const std::string& path, std::span<const uint8_t> bytes) {
    const harness::VerifyResult r = harness::verify_trace(c, bytes, path);
    total.add(r);
    if (!per_file) return;
    const isa::Tally& t = r.trace.tally;
    if (json) {
      auto j = score_json(1, r.trace.exact(), t);
      j["path"] = path;
      j["first_mismatch_state"] = r.trace.first_mismatch;
      files.push_back(j);
    } else {
      std::cout << path << ": " << t.matched_bytes << "/" << t.bytes << " bytes, " << t.exact_states << "/" << t.states
                << " states";
      if (r.trace.first_mismatch >= 0) std::cout << ", first mismatch at state " << r.trace.first_mismatch;
      std::cout << "\n";
    }
  };
  for (const std::string& path : expand(inputs)) {
    if (!is_h5(path)) {
      c = io.config_for(path, vm);
      score(path, read_file(path));
      continue;
    }
    // An HDF5 set carries its own machine parameters; an explicit --isa must agree.
    datagen::H5Reader set(path);
    if (!vm["isa"].defaulted() && set.info().isa.profile != c.profile)
      throw Error(path + ": a " + std::string(isa::profile_name(set.info().isa.profile)) + " set, not --isa " + io.isa);
    c = set.info().isa;
    for (int s = 0; s < 2; ++s)
      if (split == "all" || datagen::split_index(split) == s)
        set.for_each(s, set.size(s), [&](uint64_t i, std::span<const uint8_t> t) {
          score(path + ":" + datagen::kSplits[s] + "/" + std::to_string(i), t);
        });
  }
  const isa::Tally& t = total.tally;
  if (json) {
    auto j = score_json(total.traces, total.exact_traces, t);
    j["isa"] = std::string(isa::profile_name(c.profile));
    j["memory_size"] = c.memory_size;
    if (per_file) j["files"] = files;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << std::fixed << std::setprecision(4) << "traces        " << total.traces << " (" << total.exact_traces
              << " exact)\n"
              << "byte accuracy " << 100 * t.byte_accuracy() << "% (" << t.matched_bytes << "/" << t.bytes
              << " state bytes; " << t.missing_bytes << " missing)\n"
              << "exact states  " << 100 * t.state_accuracy() << "% (" << t.exact_states << "/" << t.states << ")\n";
  }
  return strict && t.matched_bytes != t.bytes ? kExitDifferences : kExitOk;
}

}  // namespace cpusim::cli
