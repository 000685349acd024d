// cli/cmd_verify.cpp: `cpusim verify`: re-execute trace files and score them (harness/verify.h),
// printed by harness/report.h.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "harness/report.h"

namespace cpusim::cli {

int cmd_verify(const Args& args) {
  IsaOptions io;
  std::vector<std::string> inputs;
  bool json = false, strict = false, per_file = false;
  std::string split = "all";
  po::options_description d("verify options");
  io.add(d);
  d.add_options()("path", po::value(&inputs)->required(), "trace files or folders of .bin traces")(
      "json", po::bool_switch(&json), "print one JSON object")("strict", po::bool_switch(&strict),
                                                               "exit 1 when any byte mismatches")(
      "per-file", po::bool_switch(&per_file), "also report each file")(
      "split", po::value(&split)->default_value("all"),
      "HDF5 sets: train, test or all (default all: a check of data covers the whole set)");
  po::positional_options_description pos;
  pos.add("path", -1);
  po::variables_map vm;
  if (!parse("verify", "[--isa P] [--memory-size M] [--json] [--strict] PATH...", d, pos, args, vm))
    return 0;
  const isa::Config given = io.config();  // the options are checked before any file is read
  harness::VerifyPaths v;
  v.paths = inputs;
  v.split = split;
  v.machine_for = [&](const std::string& path) { return io.config_for(path, vm); };
  if (!vm["isa"].defaulted()) v.profile = given.profile;
  nlohmann::json files = nlohmann::json::array();
  if (per_file)
    v.each = [&](const std::string& name, const harness::VerifyResult& r) {
      if (json)
        files.push_back(harness::verify_file_json(name, r));
      else
        std::cout << harness::verify_file_text(name, r);
    };
  const harness::VerifyTotals total = harness::verify_paths(v);
  const isa::Tally& t = total.tally;
  if (json) {
    auto j = harness::verify_json(total);
    j["isa"] = std::string(isa::profile_name(total.machine.profile));
    j["memory_size"] = total.machine.memory_size;
    if (per_file) j["files"] = files;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << harness::verify_text(total);
  }
  return strict && t.matched_bytes != t.bytes ? kExitDifferences : kExitOk;
}

}  // namespace cpusim::cli
