// cli/cmd_data.cpp: `cpusim datagen` and `cpusim dataset info|import|export`.
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "cli/options.h"
#include "common/io.h"
#include "common/progress.h"
#include "datagen/dataset.h"
#include "datagen/generate.h"
#include "emulator/emulator.h"

namespace cpusim::cli {

namespace fs = std::filesystem;

namespace {

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

uint64_t path_size(const fs::path& p) {
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return fs::file_size(p, ec);
  uint64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(p, ec))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

std::unique_ptr<datagen::SetWriter> open_writer(const std::string& format, const std::string& out,
                                                const datagen::SetInfo& info) {
  if (format == "h5") return datagen::open_h5_writer(out, info);
  if (format == "bin") return datagen::open_bin_writer(out, info);
  throw Error("--format " + format + ": expected h5 or bin");
}

// .bin files of a folder, sorted.
std::vector<fs::path> bin_files(const fs::path& dir) {
  std::vector<fs::path> v;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return v;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".bin") v.push_back(e.path());
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

int cmd_datagen(const Args& args) {
  IsaOptions io;
  datagen::DatagenConfig c;
  std::string out, format = "h5";
  bool json = false, quiet = false;
  unsigned min_len = 1, max_len = 0;
  po::options_description d("datagen options");
  io.add(d);
  d.add_options()("train", po::value(&c.train)->default_value(1000), "instances in the train split")
      ("test", po::value(&c.test)->default_value(100), "instances in the test split")
      ("seed", po::value(&c.seed)->default_value(0), "random seed")
      ("min-len", po::value(&min_len)->default_value(1), "shortest program, instructions (HLT included)")
      ("max-len", po::value(&max_len), "longest program (default: bgpt min(255, memory/4); toy min(32, program/4))")
      ("backward-branch", po::value(&c.gen.backward_branch)->default_value(0.25), "toy: chance a branch jumps back")
      ("jobs,j", po::value(&c.jobs)->default_value(std::max(1u, std::thread::hardware_concurrency())),
       "worker threads")
      ("format", po::value(&format)->default_value("h5"), "h5 (one HDF5 file) or bin (the paper's folders)")
      ("output,o", po::value(&out)->required(), "output .h5 file or folder")
      ("json", po::bool_switch(&json), "print the summary as JSON")
      ("quiet,q", po::bool_switch(&quiet), "no progress display");
  po::variables_map vm;
  if (!parse("datagen", "--isa P --train N --test M --seed S [--jobs J] [--format h5|bin] -o OUT", d, {}, args, vm))
    return 0;
  c.gen.isa = io.config();
  c.gen.min_len = min_len;
  c.gen.max_len = max_len;
  c.progress = !quiet;
  datagen::validate(c.gen);
  datagen::SetInfo info;
  info.isa = c.gen.isa;
  info.seed = c.seed;
  info.min_len = min_len;
  info.max_len = datagen::max_len(c.gen);
  info.backward_branch = c.gen.isa.profile == isa::Profile::toy ? c.gen.backward_branch : 0;
  std::cerr << "datagen: isa " << isa::profile_name(c.gen.isa.profile) << ", memory " << c.gen.isa.memory_size
            << ", lengths " << min_len << ".." << info.max_len << ", seed " << c.seed << ", " << c.jobs << " jobs\n";
  auto writer = open_writer(format, out, info);
  const datagen::DatagenStats st = datagen::generate(c, *writer);
  writer->commit();
  const double secs = st.seconds;
  const uint64_t n = st.traces[0] + st.traces[1];
  const uint64_t size = path_size(out);
  nlohmann::json j = {{"output", out},
                      {"format", format},
                      {"isa", std::string(isa::profile_name(c.gen.isa.profile))},
                      {"train", st.traces[0]},
                      {"test", st.traces[1]},
                      {"duplicates_removed", st.duplicates[0] + st.duplicates[1]},
                      {"halted", st.halted[0] + st.halted[1]},
                      {"step_limit_stops", n - st.halted[0] - st.halted[1]},
                      {"instructions", st.instructions},
                      {"trace_bytes", st.bytes},
                      {"file_bytes", size},
                      {"seconds", secs},
                      {"instances_per_s", secs > 0 ? n / secs : 0},
                      {"mb_per_s", secs > 0 ? st.bytes / secs / 1e6 : 0},
                      {"peak_rss_mib", peak_rss_mib()}};
  if (json) {
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << std::fixed << std::setprecision(1) << "wrote " << out << ": " << st.traces[0] << " train + "
              << st.traces[1] << " test instances (" << st.duplicates[0] + st.duplicates[1]
              << " duplicate programs removed)\n"
              << "halted " << st.halted[0] + st.halted[1] << ", stopped at the step limit "
              << n - st.halted[0] - st.halted[1] << "\n"
              << secs << " s, " << std::setprecision(0) << (secs > 0 ? n / secs : 0) << " instances/s, "
              << std::setprecision(1) << (secs > 0 ? st.bytes / secs / 1e6 : 0) << " MB/s of traces; "
              << st.bytes / 1e6 << " MB of traces in " << size / 1e6 << " MB on disk; peak memory "
              << peak_rss_mib() << " MiB\n";
  }
  return 0;
}

namespace {

int dataset_info(const Args& args) {
  std::string in;
  bool json = false;
  po::options_description d("dataset info options");
  d.add_options()("input", po::value(&in)->required(), "an HDF5 trace set")("json", po::bool_switch(&json), "JSON");
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
  for (int s = 0; s < 2; ++s) {
    const auto si = r.split_info(s);
    j[datagen::kSplits[s]] = {{"traces", si.traces}, {"halted", si.halted}, {"duplicates_removed", si.duplicates},
                              {"bytes", si.bytes}};
  }
  if (json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << in << ": cpusim trace set, isa " << j["isa"].get<std::string>() << ", memory " << info.isa.memory_size
            << " bytes, image " << isa::image_bytes(info.isa) << " bytes, state " << isa::state_bytes(info.isa)
            << " bytes, step limit " << isa::step_limit(info.isa) << "\n"
            << "source " << info.source << ", seed " << info.seed << ", lengths " << info.min_len << ".."
            << info.max_len << "\n";
  for (int s = 0; s < 2; ++s) {
    const auto si = r.split_info(s);
    std::cout << datagen::kSplits[s] << ": " << si.traces << " traces, " << si.halted << " halted, " << si.bytes
              << " bytes, " << si.duplicates << " duplicate programs removed\n";
  }
  return 0;
}

int dataset_import(const Args& args) {
  constexpr uint64_t kListed = 20;  // refused files named one per line; the rest counted
  IsaOptions io;
  std::string in, out;
  bool skip_invalid = false, paper_layout = false;
  po::options_description d("dataset import options");
  io.add(d);
  d.add_options()("input", po::value(&in)->required(), "a folder with train/ and test/ of .bin traces")
      ("output,o", po::value(&out)->required(), "HDF5 file to write")
      ("paper-layout", po::bool_switch(&paper_layout),
       "bgpt files with the paper's 1024-byte memory image, cut to --memory-size (programs that fit it)")
      ("skip-invalid", po::bool_switch(&skip_invalid), "import the valid traces when some are refused");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  if (!parse("dataset import", "--isa P [--memory-size K] [--paper-layout] DIR -o OUT.h5", d, pos, args, vm)) return 0;
  const isa::Config c = io.config();
  if (paper_layout) require_paper_profile(c, "--paper-layout");
  std::error_code ec;
  if (!fs::is_directory(in, ec)) throw Error(in + ": not a folder");
  const std::vector<fs::path> files[2] = {bin_files(fs::path(in) / "train"), bin_files(fs::path(in) / "test")};
  if (files[0].empty() && files[1].empty()) throw Error(in + ": no train/*.bin or test/*.bin files");
  datagen::SetInfo info;
  info.isa = c;
  info.source = "import";
  auto writer = datagen::open_h5_writer(out, info);
  const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
  uint64_t refused = 0, imported = 0;
  std::unordered_map<std::string, int> seen;
  uint64_t duplicates[2] = {0, 0};
  std::vector<uint8_t> states;
  Progress progress("import", files[0].size() + files[1].size(), "files");
  for (int s = 0; s < 2; ++s) {
    for (const fs::path& p : files[s]) {
      auto refuse = [&](const std::string& why) {
        if (refused < kListed) std::cerr << p.string() << ": " << why << "\n";
        ++refused;
      };
      auto bytes = read_file(p);
      if (paper_layout) {
        std::string why;
        bytes = from_paper_layout(c, bytes, why);
        if (bytes.empty()) {
          refuse(why);
          continue;
        }
      }
      if (bytes.size() < ib + sb) {
        refuse("too short (" + std::to_string(bytes.size()) + " bytes) for a " + std::to_string(ib) +
               "-byte image and a first state");
        continue;
      }
      states.clear();
      const emu::Outcome o = emu::run(c, std::span(bytes).subspan(0, ib), std::span(bytes).subspan(ib, sb), states);
      if (o.stop == emu::Stop::fault) {
        refuse("re-execution stopped: " + emu::describe_fault(c.profile, o));
        continue;
      }
      if (bytes.size() != ib + states.size() || !std::equal(states.begin(), states.end(), bytes.begin() + ib)) {
        std::string why;
        if (bytes.size() != ib + states.size()) {
          why = "its length differs from the emulator's trace (" + std::to_string(bytes.size()) + " bytes, expected " +
                std::to_string(ib + states.size()) + ")";
        } else {
          const auto m = std::mismatch(states.begin(), states.end(), bytes.begin() + std::ptrdiff_t(ib));
          why = "its state " + std::to_string((m.first - states.begin()) / std::ptrdiff_t(sb)) +
                " differs from the emulator's";
        }
        if (paper_layout)
          why += " (a memory smaller than 1024 bytes caps the PC lower; this program reaches the cap)";
        else if (c.profile == isa::Profile::bgpt && ib < kPaperMemory && bytes.size() >= kPaperMemory + sb &&
                 (bytes.size() - kPaperMemory) % sb == 0)
          why += "; is --isa/--memory-size right? (files with the paper's 1024-byte image: --paper-layout)";
        else
          why += "; is --isa/--memory-size right?";
        refuse(why);
        continue;
      }
      const datagen::Digest h = datagen::md5(std::span(bytes).subspan(0, ib));
      if (!seen.emplace(datagen::hex(h), s).second) {
        ++duplicates[s];
        continue;
      }
      writer->add(s, datagen::TraceRecord{bytes, o.steps, o.stop == emu::Stop::halted, h});
      ++imported;
      progress.update(imported + refused);
    }
  }
  writer->set_duplicates(0, duplicates[0]);
  writer->set_duplicates(1, duplicates[1]);
  if (refused > kListed) std::cerr << "... and " << refused - kListed << " more refused\n";
  if (refused && !skip_invalid)
    throw Error(in + ": " + std::to_string(refused) + " trace files refused (listed above); nothing written "
                "(--skip-invalid imports the rest)");
  writer->commit();
  std::cerr << "imported " << imported << " traces into " << out << " (" << refused << " refused, "
            << duplicates[0] + duplicates[1] << " duplicate programs skipped)\n";
  return 0;
}

int dataset_export(const Args& args) {
  std::string in, out;
  bool paper_layout = false;
  po::options_description d("dataset export options");
  d.add_options()("input", po::value(&in)->required(), "an HDF5 trace set")
      ("output,o", po::value(&out)->required(), "folder to create (train/ and test/ of <md5>.bin)")
      ("paper-layout", po::bool_switch(&paper_layout), "bgpt: images zero-padded to the paper's 1024-byte memory");
  po::positional_options_description pos;
  pos.add("input", 1);
  po::variables_map vm;
  if (!parse("dataset export", "FILE.h5 [--paper-layout] -o DIR", d, pos, args, vm)) return 0;
  datagen::H5Reader r(in);
  const isa::Config& c = r.info().isa;
  if (paper_layout) require_paper_profile(c, "--paper-layout");
  auto writer = datagen::open_bin_writer(out, r.info());
  uint64_t different = 0;
  std::vector<uint8_t> bytes;
  std::vector<uint64_t> offsets;
  uint64_t n = 0;
  for (int s = 0; s < 2; ++s) {
    const auto steps = r.steps(s);
    const auto hashes = r.program_hashes(s);
    const uint64_t size = r.size(s);
    for (uint64_t first = 0; first < size; first += 4096) {
      const uint64_t count = std::min<uint64_t>(4096, size - first);
      r.read(s, first, count, bytes, offsets);
      for (uint64_t k = 0; k < count; ++k) {
        const auto t = std::span<const uint8_t>(bytes).subspan(offsets[k], offsets[k + 1] - offsets[k]);
        if (paper_layout) {
          different += !same_in_paper_machine(c, t);
          const auto padded = to_paper_layout(c, t);
          writer->add(s, datagen::TraceRecord{padded, steps[first + k], true, hashes[first + k]});
        } else {
          writer->add(s, datagen::TraceRecord{t, steps[first + k], true, hashes[first + k]});
        }
        ++n;
      }
    }
  }
  writer->commit();
  std::cerr << "exported " << n << " traces to " << out << "\n";
  if (different)
    std::cerr << "export: note: " << different << " of them reach the " << c.memory_size
              << "-byte memory's PC cap, so the paper's 1024-byte machine runs them to other states\n";
  return 0;
}

}  // namespace

int cmd_dataset(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: cpusim dataset info|import|export ...\n"
                 "  info FILE.h5 [--json]                          describe a trace set\n"
                 "  import --isa P [--memory-size K] [--paper-layout] DIR -o OUT.h5\n"
                 "                                                 read the paper's train/ test/ folders\n"
                 "  export FILE.h5 [--paper-layout] -o DIR         write the paper's folder format\n";
    return args.empty() ? 2 : 0;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "info") return dataset_info(rest);
  if (args[0] == "import") return dataset_import(rest);
  if (args[0] == "export") return dataset_export(rest);
  throw Error("unknown dataset action '" + args[0] + "' (expected info, import or export)");
}

}  // namespace cpusim::cli
