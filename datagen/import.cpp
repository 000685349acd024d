// datagen/import.cpp: paper folders <-> HDF5 sets.
#include "datagen/import.h"

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "common/io.h"
#include "common/progress.h"
#include "datagen/dataset.h"
#include "datagen/paper_layout.h"
#include "datagen/validate.h"

namespace cpusim::datagen {

namespace fs = std::filesystem;

namespace {

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

// Why `bytes` (read from a file, then converted to c's layout in place) cannot be imported;
// "" if it can, with its re-execution's outcome in `o`.
std::string check_file(const ImportConfig& ic, std::vector<uint8_t>& bytes, emu::Outcome& o) {
  const isa::Config& c = ic.isa;
  if (ic.paper_layout) {
    std::string why;
    bytes = from_paper_layout(c, bytes, why);
    if (bytes.empty()) return why;
  }
  const Recheck r = recheck(c, bytes);
  o = r.outcome;
  if (r.verdict != Recheck::Verdict::differs) return r.why;  // "" when the same
  // The states differ: say what to check.
  const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
  if (ic.paper_layout)
    return r.why +
           " (a memory smaller than 1024 bytes caps the PC lower; this program reaches the cap)";
  if (c.profile == isa::Profile::bgpt && ib < kPaperMemory && bytes.size() >= kPaperMemory + sb &&
      (bytes.size() - kPaperMemory) % sb == 0)
    return r.why +
           "; is --isa/--memory-size right? (files with the paper's 1024-byte image: "
           "--paper-layout)";
  return r.why + "; is --isa/--memory-size right?";
}

}  // namespace

ImportResult import_folder(const ImportConfig& ic) {
  if (ic.paper_layout) require_paper_profile(ic.isa, "--paper-layout");
  std::error_code ec;
  if (!fs::is_directory(ic.input, ec)) throw Error(ic.input + ": not a folder");
  const std::vector<fs::path> files[2] = {bin_files(fs::path(ic.input) / "train"),
                                          bin_files(fs::path(ic.input) / "test")};
  if (files[0].empty() && files[1].empty())
    throw Error(ic.input + ": no train/*.bin or test/*.bin files");
  SetInfo info;
  info.isa = ic.isa;
  info.source = "import";
  auto writer = open_h5_writer(ic.output, info);
  ImportResult r;
  std::unordered_map<std::string, int> seen;
  uint64_t duplicates[2] = {0, 0};
  Progress progress("import", files[0].size() + files[1].size(), "files");
  for (int s = 0; s < 2; ++s)
    for (const fs::path& p : files[s]) {
      auto bytes = read_file(p);
      emu::Outcome o;
      if (std::string why = check_file(ic, bytes, o); !why.empty()) {
        r.refused.push_back({p.string(), why});
        continue;
      }
      const Digest h = md5(std::span(bytes).subspan(0, isa::image_bytes(ic.isa)));
      if (!seen.emplace(hex(h), s).second) {
        ++duplicates[s];
        continue;
      }
      writer->add(s, TraceRecord{bytes, o.steps, o.stop == emu::Stop::halted, h});
      ++r.imported;
      if (ic.progress) progress.update(r.imported + r.refused.size());
    }
  writer->set_duplicates(0, duplicates[0]);
  writer->set_duplicates(1, duplicates[1]);
  r.duplicates = duplicates[0] + duplicates[1];
  if (r.refused.empty() || ic.skip_invalid) {
    writer->commit();
    r.written = true;
  }
  return r;
}

ExportResult export_set(const std::string& input, const std::string& output, bool paper_layout) {
  H5Reader reader(input);
  const isa::Config& c = reader.info().isa;
  if (paper_layout) require_paper_profile(c, "--paper-layout");
  auto writer = open_bin_writer(output, reader.info(), paper_layout);
  ExportResult r;
  r.memory_size = c.memory_size;
  for (int s = 0; s < 2; ++s) {
    const auto steps = reader.steps(s);
    const auto hashes = reader.program_hashes(s);
    reader.for_each(s, reader.size(s), [&](uint64_t i, std::span<const uint8_t> t) {
      if (paper_layout) {
        r.run_differently += !same_in_paper_machine(c, t);
        writer->add(s, TraceRecord{to_paper_layout(c, t), steps[i], true, hashes[i]});
      } else {
        writer->add(s, TraceRecord{t, steps[i], true, hashes[i]});
      }
      ++r.traces;
    });
  }
  writer->commit();
  return r;
}

}  // namespace cpusim::datagen
