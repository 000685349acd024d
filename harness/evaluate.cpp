// harness/evaluate.cpp: the evaluation loop behind `cpusim eval` and `cpusim pipeline`.
#include "harness/evaluate.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>

#include "common/io.h"
#include "common/progress.h"
#include "common/version.h"
#include "datagen/dataset.h"
#include "datagen/folder_meta.h"
#include "datagen/paper_layout.h"
#include "harness/report.h"

namespace cpusim::harness {

namespace fs = std::filesystem;

namespace {

void require_same_machine(const isa::Config& model, const isa::Config& data,
                          const std::string& what) {
  if (model.profile == data.profile && model.memory_size == data.memory_size &&
      isa::image_bytes(model) == isa::image_bytes(data))
    return;
  const bool smaller_bgpt = model.profile == isa::Profile::bgpt &&
                            data.profile == isa::Profile::bgpt &&
                            model.memory_size < data.memory_size;
  throw Error(
      what + ": the model was trained on --isa " + std::string(isa::profile_name(model.profile)) +
      " --memory-size " + std::to_string(model.memory_size) + ", the data is --isa " +
      std::string(isa::profile_name(data.profile)) + " --memory-size " +
      std::to_string(data.memory_size) +
      (smaller_bgpt
           ? " (to keep its programs that fit the smaller memory: `cpusim dataset export` it, then "
             "`cpusim dataset import --isa bgpt --memory-size " +
                 std::to_string(model.memory_size) + " --paper-layout --skip-invalid`)"
           : ""));
}

// Writes one predicted trace (prefix + predicted states) into the predictions folder.
void write_prediction(const EvalConfig& ec, const isa::Config& c, const std::string& dir,
                      uint64_t index, std::span<const uint8_t> prefix,
                      const std::vector<uint8_t>& pred) {
  std::vector<uint8_t> file(prefix.begin(), prefix.end());
  file.insert(file.end(), pred.begin(), pred.end());
  if (ec.paper_layout) file = datagen::to_paper_layout(c, file);
  char name[32];
  std::snprintf(name, sizeof name, "/%s-%07llu.bin", ec.split.c_str(), (unsigned long long)index);
  write_file(dir + name, file);  // (inside a temporary folder, renamed and synced as a whole)
}

// The predictor's states for a batch of traces: teacher-forced (the end symbol inside a state
// reads as 0, and is counted) or a rollout that stops where the longest true trace stops.
std::vector<std::vector<uint8_t>> predict(Predictor& p, Mode mode,
                                          const std::vector<std::span<const uint8_t>>& traces,
                                          const isa::Config& c, uint64_t& end_symbols) {
  const size_t ib = isa::image_bytes(c), sb = isa::state_bytes(c);
  std::vector<std::vector<uint8_t>> pred(traces.size());
  if (mode == Mode::teacher) {
    const auto t = p.predict_teacher(traces);
    for (size_t k = 0; k < traces.size(); ++k)
      for (int16_t v : t[k]) {
        end_symbols += v > 255;
        pred[k].push_back(uint8_t(v > 255 ? 0 : v));
      }
    return pred;
  }
  std::vector<std::span<const uint8_t>> prefixes;
  int max_steps = 0;
  for (const auto& t : traces) {
    prefixes.push_back(t.subspan(0, ib + sb));
    max_steps = std::max<int>(max_steps, int((t.size() - ib) / sb) - 1);
  }
  return p.rollout(prefixes, max_steps);
}

// The low `bytes` bytes of v appended little-endian, and read back.
void put_le(std::vector<uint8_t>& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

uint64_t get_le(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}

// A chunk's predictions appended to a rank's buffer: first (8 bytes), the end symbols read as 0
// (4), count (4), then each prediction's length (4) and bytes; little-endian.
void append_chunk(std::vector<uint8_t>& out, uint64_t first, uint64_t ends,
                  const std::vector<std::vector<uint8_t>>& pred) {
  auto put = [&](uint64_t v, int bytes) { put_le(out, v, bytes); };
  put(first, 8);
  put(ends, 4);
  put(pred.size(), 4);
  for (const auto& p : pred) {
    put(p.size(), 4);
    out.insert(out.end(), p.begin(), p.end());
  }
}

void read_chunks(const std::vector<uint8_t>& in,
                 std::map<uint64_t, std::vector<std::vector<uint8_t>>>& chunks, uint64_t& ends) {
  size_t at = 0;
  auto get = [&](int bytes) {
    if (at + size_t(bytes) > in.size()) throw Error("eval: a rank's predictions arrived truncated");
    const uint64_t v = get_le(in.data() + at, bytes);
    at += size_t(bytes);
    return v;
  };
  while (at < in.size()) {
    const uint64_t first = get(8);
    ends += get(4);
    const uint64_t count = get(4);
    auto& c = chunks[first];
    for (uint64_t k = 0; k < count; ++k) {
      const uint64_t len = get(4);
      if (at + len > in.size()) throw Error("eval: a rank's predictions arrived truncated");
      c.emplace_back(in.begin() + int64_t(at), in.begin() + int64_t(at + len));
      at += len;
    }
  }
}

// A predictor's work counts as bytes for a gather (little-endian 64-bit words), and back.
std::vector<uint8_t> encode_counts(const std::vector<uint64_t>& counts) {
  std::vector<uint8_t> out;
  for (uint64_t v : counts) put_le(out, v, 8);
  return out;
}

std::vector<uint64_t> decode_counts(const std::vector<uint8_t>& in) {
  if (in.size() % 8) throw Error("eval: a rank's work counts arrived truncated");
  std::vector<uint64_t> out;
  for (size_t at = 0; at < in.size(); at += 8) out.push_back(get_le(in.data() + at, 8));
  return out;
}

// Every trace's prediction, handed to `consume` chunk by chunk in order. One process predicts
// every chunk; a group (ec.collective) predicts chunk k on rank k % world, with the same
// batches, and rank 0 consumes them all in order. Returns whether this process consumed them.
using Consume = std::function<void(uint64_t, const std::vector<std::span<const uint8_t>>&,
                                   const std::vector<std::vector<uint8_t>>&)>;
bool predict_all(Predictor& p, const EvalConfig& ec, const datagen::H5Reader& set, int split,
                 uint64_t n, const isa::Config& c, uint64_t& end_symbols, Progress& progress,
                 const Consume& consume) {
  const int world = ec.collective ? ec.collective->world() : 1,
            rank = ec.collective ? ec.collective->rank() : 0;
  const uint64_t batch = uint64_t(std::max(1, ec.batch));
  std::vector<uint8_t> mine;
  set.for_each_chunk(split, n, batch,
                     [&](uint64_t first, const std::vector<std::span<const uint8_t>>& traces) {
                       if (world > 1 && int(first / batch % uint64_t(world)) != rank) return;
                       const uint64_t ends_before = end_symbols;
                       const auto pred = predict(p, ec.mode, traces, c, end_symbols);
                       if (world > 1)
                         append_chunk(mine, first, end_symbols - ends_before, pred);
                       else
                         consume(first, traces, pred);
                       if (ec.progress && rank == 0) progress.update(first + traces.size());
                     });
  if (world == 1) return true;
  const auto all = ec.collective->gather(mine);
  const auto counts = ec.collective->gather(encode_counts(p.work_counts()));
  if (rank != 0) return false;
  for (size_t k = 1; k < counts.size(); ++k) p.add_work_counts(decode_counts(counts[k]));
  std::map<uint64_t, std::vector<std::vector<uint8_t>>> chunks;
  end_symbols = 0;
  for (const auto& bytes : all) read_chunks(bytes, chunks, end_symbols);
  set.for_each_chunk(
      split, n, batch, [&](uint64_t first, const std::vector<std::span<const uint8_t>>& traces) {
        const auto it = chunks.find(first);
        if (it == chunks.end())
          throw Error("eval: no rank predicted traces " + std::to_string(first) + "..");
        consume(first, traces, it->second);
      });
  return true;
}

// The --write-predictions folder: made by rank 0 under a temporary name, renamed into place
// with its metadata once every prediction is in, removed when the evaluation fails (a killed
// run's, at the next run). Other ranks only know its path.
class PredictionsFolder {
 public:
  PredictionsFolder(const std::string& final_path, int rank) : final_(final_path) {
    if (final_.empty()) return;
    tmp_ = temp_sibling(final_).string();
    if (rank != 0) return;
    owner_ = true;
    std::error_code err;
    if (fs::exists(final_, err)) {
      fs::remove_all(tmp_, err);  // a killed run's
      throw Error(final_ + ": already exists; remove it or choose another --write-predictions");
    }
    fs::create_directories(tmp_, err);
    if (err) throw Error(final_ + ": cannot create: " + err.message());
  }
  ~PredictionsFolder() {
    std::error_code e;
    if (owner_ && std::uncaught_exceptions()) fs::remove_all(tmp_, e);
  }
  const std::string& path() const { return tmp_; }
  void finish(const isa::Config& c, bool paper_layout) {
    if (!owner_) return;
    datagen::write_folder_meta(tmp_, c, paper_layout);  // verify needs no --isa for it
    durable_rename(tmp_, final_);
    owner_ = false;
  }

 private:
  std::string final_, tmp_;
  bool owner_ = false;
};

// What the report says besides the counts: the predictor's description, the set, the machine.
nlohmann::json report_meta(nlohmann::json meta, const EvalConfig& ec, const isa::Config& c,
                           int world) {
  meta.update(nlohmann::json{{"data", ec.data},
                             {"split", ec.split},
                             {"isa", std::string(isa::profile_name(c.profile))},
                             {"memory_size", c.memory_size}});
  if (world > 1) meta["processes"] = world;
  if (!meta.contains("build")) meta["build"] = {{"cpusim", version()}, {"commit", commit()}};
  if (!meta.contains("machine"))
    meta["machine"] = {{"cpu", cpu_name()}, {"cpu_features", cpu_features()}};
  if (ec.paper_layout) meta["predictions_layout"] = "paper (1024-byte image)";
  return meta;
}

}  // namespace

EvalResult evaluate(Predictor& p, const EvalConfig& ec) {
  const int split = datagen::split_index(ec.split);
  datagen::H5Reader set(ec.data);
  const isa::Config& c = set.info().isa;
  const nlohmann::json who = p.describe();
  require_same_machine(p.isa(), c, who.value("model", std::string("the predictor")));
  if (ec.paper_layout) {
    datagen::require_paper_profile(c, "--paper-layout");
    if (ec.predictions.empty())
      throw Error("--paper-layout: it is the layout of --write-predictions, which is missing");
  }
  const uint64_t n = ec.limit ? std::min(ec.limit, set.size(split)) : set.size(split);
  if (n == 0) throw Error(ec.data + ": the " + ec.split + " split is empty");
  const int world = ec.collective ? ec.collective->world() : 1,
            rank = ec.collective ? ec.collective->rank() : 0;
  // The report folder is locked for the run (rank 0 writes it): a second eval into it is refused.
  std::optional<FolderLock> lock;
  if (rank == 0 && !ec.report_dir.empty()) {
    require_writable(fs::path(ec.report_dir) / "report.json");
    lock.emplace(ec.report_dir, "report folder");
  }
  PredictionsFolder preds(ec.predictions, rank);
  const std::string& preds_tmp = preds.path();
  EvalResult r{Scorer(c, ec.mode, ec.worst), {}, {}, 0};
  Progress progress(std::string("eval ") + mode_name(ec.mode), n, "traces");
  const size_t sb = isa::state_bytes(c), prefix_bytes = isa::image_bytes(c) + sb;
  uint64_t end_symbols = 0, predicted_states = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto consume = [&](uint64_t first, const std::vector<std::span<const uint8_t>>& traces,
                     const std::vector<std::vector<uint8_t>>& pred) {
    for (size_t k = 0; k < traces.size(); ++k) {
      predicted_states += pred[k].size() / sb;
      r.scorer.add(first + k, traces[k], pred[k]);
      if (!ec.predictions.empty()) {
        write_prediction(ec, c, preds_tmp, first + k, traces[k].subspan(0, prefix_bytes), pred[k]);
        if (ec.paper_layout)
          r.traces_run_differently += !datagen::same_in_paper_machine(c, traces[k]);
      }
    }
  };
  const bool scorer = predict_all(p, ec, set, split, n, c, end_symbols, progress, consume);
  if (!scorer) return r;  // another rank of a group: rank 0 writes the report
  if (ec.progress) progress.finish();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  preds.finish(c, ec.paper_layout);
  // The predictor described again: what predicting measured (the decoder's passes).
  r.meta = report_meta(p.describe(), ec, c, world);
  r.meta["seconds"] = secs;
  r.meta["predicted_states_per_s"] = secs > 0 ? predicted_states / secs : 0;
  if (ec.mode == Mode::teacher) r.meta["end_symbols_in_states"] = end_symbols;
  if (ec.paper_layout) r.meta["traces_run_differently_in_1024_bytes"] = r.traces_run_differently;
  r.chart = write_report(r.scorer, r.meta, ec.report_dir, ec.train_log);
  return r;
}

}  // namespace cpusim::harness
