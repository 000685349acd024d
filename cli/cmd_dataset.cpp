// cli/cmd_dataset.cpp: `cpusim dataset info|import|export|merge` (datagen/dataset.h,
// datagen/import.h).
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "datagen/dataset.h"
#include "datagen/folder_meta.h"
#include "datagen/generate.h"
#include "datagen/import.h"

namespace cpusim::cli {

namespace {

int dataset_info(const Args& args) {
  std::string in;
  bool json = false;
  po::options_description d("dataset info options");
  d.add_options()("input", po::value(&in)->required(), "an HDF5 trace set")(
      "json", po::bool_switch(&json), "JSON");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  if (!parse("dataset info", "FILE.h5 [--json]", d, pos, args, vm)) return 0;
  datagen::H5Reader r(in);
  const auto& info = r.info();
  nlohmann::json j = {{"path", in},
                      {"isa", std::string(isa::profile_name(info.isa.profile))},
                      {"memory_size", info.isa.memory_size},
                      {"image_size", isa::image_bytes(info.isa)},
                      {"state_size", isa::state_bytes(info.isa)},
                      {"step_limit", isa::step_limit(info.isa)},
                      {"source", info.source},
                      {"seed", info.seed},
                      {"min_len", info.min_len},
                      {"max_len", info.max_len}};
  if (info.shards)
    j["shard"] = {{"index", info.shard},
                  {"of", info.shards},
                  {"candidates", info.candidates},
                  {"train", info.want_train},
                  {"test", info.want_test}};
  for (int s = 0; s < 2; ++s) {
    const auto si = r.split_info(s);
    j[datagen::kSplits[s]] = {{"traces", si.traces},
                              {"halted", si.halted},
                              {"duplicates_removed", si.duplicates},
                              {"bytes", si.bytes}};
  }
  if (json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << in << ": cpusim trace set, isa " << j["isa"].get<std::string>() << ", memory "
            << info.isa.memory_size << " bytes, image " << isa::image_bytes(info.isa)
            << " bytes, state " << isa::state_bytes(info.isa) << " bytes, step limit "
            << isa::step_limit(info.isa) << "\n"
            << "source " << info.source << ", seed " << info.seed << ", lengths " << info.min_len
            << ".." << info.max_len << "\n";
  for (int s = 0; s < 2; ++s) {
    const auto si = r.split_info(s);
    std::cout << datagen::kSplits[s] << ": " << si.traces << " traces, " << si.halted << " halted, "
              << si.bytes << " bytes, " << si.duplicates << " duplicate programs removed\n";
  }
  return 0;
}

int dataset_import(const Args& args) {
  constexpr size_t kListed = 20;  // refused files named one per line; the rest counted
  IsaOptions io;
  datagen::ImportConfig c;
  po::options_description d("dataset import options");
  io.add(d);
  d.add_options()("input", po::value(&c.input)->required(),
                  "a folder with train/ and test/ of .bin traces")(
      "output,o", po::value(&c.output)->required(), "HDF5 file to write")(
      "paper-layout", po::bool_switch(&c.paper_layout),
      "bgpt files with the paper's 1024-byte memory image, cut to --memory-size (programs that fit "
      "it)")("skip-invalid", po::bool_switch(&c.skip_invalid),
             "import the valid traces when some are refused");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  if (!parse("dataset import", "--isa P [--memory-size K] [--paper-layout] DIR -o OUT.h5", d, pos,
             args, vm))
    return 0;
  // The folder's cpusim.json (written by datagen --format bin and dataset export) says the machine
  // and the layout when no machine option is given.
  const auto meta = datagen::find_folder_meta(c.input);
  auto given = [&](const char* o) { return vm.count(o) && !vm[o].defaulted(); };
  if (meta && !given("isa") && !given("memory-size") && !given("program-size")) {
    c.isa = meta->files;
    if (meta->paper_layout) c.isa.memory_size = meta->set_memory_size, c.paper_layout = true;
  } else {
    c.isa = io.config();
  }
  const datagen::ImportResult r = datagen::import_folder(c);
  for (size_t i = 0; i < std::min(kListed, r.refused.size()); ++i)
    std::cerr << r.refused[i].path << ": " << r.refused[i].why << "\n";
  if (r.refused.size() > kListed)
    std::cerr << "... and " << r.refused.size() - kListed << " more refused\n";
  if (!r.written)
    throw Error(c.input + ": " + std::to_string(r.refused.size()) +
                " trace files refused (listed above); nothing written "
                "(--skip-invalid imports the rest)");
  std::cout << "imported " << r.imported << " traces into " << c.output << " (" << r.refused.size()
            << " refused, " << r.duplicates << " duplicate programs skipped)\n";
  return 0;
}

int dataset_export(const Args& args) {
  std::string in, out;
  bool paper_layout = false;
  po::options_description d("dataset export options");
  d.add_options()("input", po::value(&in)->required(), "an HDF5 trace set")(
      "output,o", po::value(&out)->required(), "folder to create (train/ and test/ of <md5>.bin)")(
      "paper-layout", po::bool_switch(&paper_layout),
      "bgpt: images zero-padded to the paper's 1024-byte memory");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  if (!parse("dataset export", "FILE.h5 [--paper-layout] -o DIR", d, pos, args, vm)) return 0;
  const datagen::ExportResult r = datagen::export_set(in, out, paper_layout);
  std::cout << "exported " << r.traces << " traces to " << out << "\n";
  if (r.run_differently && !quiet(vm))
    std::cerr
        << "export: note: " << r.run_differently << " of them reach the " << r.memory_size
        << "-byte memory's PC cap, so the paper's 1024-byte machine runs them to other states\n";
  return 0;
}

int dataset_merge(const Args& args) {
  std::vector<std::string> in;
  std::string out;
  bool json = false;
  po::options_description d("dataset merge options");
  d.add_options()("input", po::value(&in)->multitoken()->required(),
                  "the N shards (cpusim datagen --shard K/N), in any order")(
      "output,o", po::value(&out)->required(), "the HDF5 set to write")(
      "json", po::bool_switch(&json), "print the summary as JSON");
  po::positional_options_description pos;
  pos.add("input", -1);
  po::variables_map vm;
  if (!parse("dataset merge", "SHARD.h5... -o OUT.h5", d, pos, args, vm)) return 0;
  require_writable(out);
  const datagen::SetSummary s = datagen::merge_shards(in, out, !quiet(vm) && !json);
  const nlohmann::json j = {{"path", out},
                            {"shards", in.size()},
                            {"train", s.stats.traces[0]},
                            {"test", s.stats.traces[1]},
                            {"duplicates_removed", s.stats.duplicates[0] + s.stats.duplicates[1]},
                            {"candidates", s.stats.candidates},
                            {"file_bytes", s.file_bytes},
                            {"seconds", s.stats.seconds}};
  if (json)
    std::cout << j.dump(2) << "\n";
  else
    std::cout << "merged " << in.size() << " shards into " << out << ": " << s.stats.traces[0]
              << " train + " << s.stats.traces[1] << " test instances ("
              << s.stats.duplicates[0] + s.stats.duplicates[1] << " duplicate programs removed)\n";
  return 0;
}

}  // namespace

int cmd_dataset(const Args& args) {
  return dispatch(
      "dataset", args,
      {{"info", dataset_info},
       {"import", dataset_import},
       {"export", dataset_export},
       {"merge", dataset_merge}},
      "usage: cpusim dataset info|import|export ...\n"
      "  info FILE.h5 [--json]                          describe a trace set\n"
      "  import --isa P [--memory-size K] [--paper-layout] DIR -o OUT.h5\n"
      "                                                 read the paper's train/ test/ folders\n"
      "  export FILE.h5 [--paper-layout] -o DIR         write the paper's folder format\n"
      "  merge SHARD.h5... -o OUT.h5                    the set N `datagen --shard K/N` parts "
      "make\n");
}

}  // namespace cpusim::cli
