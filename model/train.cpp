// model/train.cpp: the training loop (AdamW, warm-up + cosine, clipping, accumulation, held-out
// evaluation, atomic checkpoints with exact resume). Its parts live beside it: batches
// (batch.h), the loss (loss.h), the optimizer (optim.h), checkpoints (checkpoint.h), the step's
// forward/backward with its timing, profiling and CUDA graphs (step.h).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <torch/version.h>
#include <thread>
#include <unistd.h>
#include <utility>

#include "common/io.h"
#include "common/version.h"
#include "datagen/dataset.h"
#include "datagen/rng.h"
#include "model/api.h"
#include "model/internal.h"
#include "model/dist.h"
#include "model/step.h"

namespace cpusim::model {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string torch_version() { return TORCH_VERSION; }

int64_t parameter_count(const ModelConfig& c) {
  BGPT m(c);
  int64_t n = 0;
  for (const auto& p : m->parameters()) n += p.numel();
  return n;
}

std::string config_json(const TrainConfig& t, int64_t parameters) {
  json j = {{"data", t.data},       {"out_dir", t.out_dir},   {"preset", t.preset},
            {"model", to_json(t.model)}, {"parameters", parameters}, {"steps", t.steps},
            {"epochs", t.epochs},   {"batch", t.batch},       {"accum", t.accum},
            {"lr", t.lr},           {"min_lr_ratio", t.min_lr_ratio}, {"warmup", t.warmup},
            {"weight_decay", t.weight_decay}, {"clip", t.clip}, {"device", t.device},
            {"precision", t.precision}, {"cuda_graphs", t.cuda_graphs},
            {"resume", t.resume},   {"loss_on", t.loss_on},   {"eval_every", t.eval_every},
            {"eval_traces", t.eval_traces}, {"checkpoint_every", t.checkpoint_every},
            {"max_minutes", t.max_minutes}, {"stop_after", t.stop_after}, {"seed", t.seed},
            {"timing", t.timing}, {"profile", t.profile}, {"state_prefix", t.state_prefix}, {"copy_state", t.copy_state},
            {"program_memory", t.program_memory}, {"overwrite", t.overwrite}, {"dist_timeout", t.dist_timeout},
            {"allreduce", t.allreduce},
            {"procs", t.procs}, {"build", {{"cpusim", version()}, {"commit", commit()}, {"libtorch", torch_version()}}}};
  return j.dump(2);
}

std::string summary_line(const TrainSummary& s) {
  char line[320];
  std::snprintf(line, sizeof line,
                "train: %lld steps in %.1f s; final loss %.4f; held-out loss %.4f (%.4f at step %lld), "
                "teacher-forced byte accuracy %.2f%% (%.2f%%)\n",
                (long long)s.steps, s.seconds, s.final_loss, s.eval_loss, s.start_eval_loss, (long long)s.start_step,
                100 * s.eval_byte_accuracy, 100 * s.start_eval_byte_accuracy);
  return line;
}

std::string summary_json(const TrainSummary& s, const std::string& run_dir) {
  json j = {{"run_dir", run_dir},
            {"steps", s.steps},
            {"seconds", s.seconds},
            {"final_loss", s.final_loss},
            {"eval_loss", s.eval_loss},
            {"eval_byte_accuracy", s.eval_byte_accuracy},
            {"start_step", s.start_step},
            {"start_eval_loss", s.start_eval_loss},
            {"start_eval_byte_accuracy", s.start_eval_byte_accuracy},
            {"stopped_on_nan", s.stopped_on_nan}};
  return j.dump(2);
}

namespace {

// The data a run trains and evaluates on, held in memory.
struct TrainData {
  isa::Config isa;
  Layout layout;
  Split train, test;
  std::string id;  // md5 of the first MiB of train bytes, and the train count (resume checks it)
};

TrainData load_data(const TrainConfig& t) {
  const datagen::H5Reader reader(t.data);
  TrainData d{reader.info().isa, layout_of(reader.info().isa), load_split(reader, 0, 0),
              load_split(reader, 1, uint64_t(t.eval_traces)), ""};
  if (d.train.count() == 0) throw Error(t.data + ": the train split is empty");
  int64_t longest = 0;
  for (uint64_t i = 0; i < d.train.count(); ++i) longest = std::max<int64_t>(longest, int64_t(d.train.size(i) / kPatchSize));
  if (longest + 1 > t.model.max_patches)
    std::cerr << "train: warning: traces of up to " << longest + 1 << " patches exceed the model's "
              << t.model.max_patches << "; longer traces are cut\n";
  const auto head = std::span<const uint8_t>(d.train.bytes.data(), std::min<size_t>(d.train.bytes.size(), 1 << 20));
  d.id = datagen::hex(datagen::md5(head)) + ":" + std::to_string(d.train.count());
  return d;
}

// The training order: a permutation per epoch from (seed, epoch); sample k of the run is the
// trace at position k, whatever the batch it lands in.
class Sampler {
 public:
  Sampler(uint64_t n, uint64_t seed) : n_(n), seed_(seed) {}
  uint64_t at(uint64_t pos) {
    const int64_t epoch = int64_t(pos / n_);
    if (epoch != epoch_) {
      order_.resize(n_);
      for (uint64_t i = 0; i < n_; ++i) order_[i] = i;
      datagen::Rng rng = datagen::Rng::for_item(seed_ ^ 0x5eedull, uint64_t(epoch));
      for (uint64_t i = n_ - 1; i > 0; --i) std::swap(order_[i], order_[rng.below(uint32_t(i + 1))]);
      epoch_ = epoch;
    }
    return order_[pos % n_];
  }

 private:
  uint64_t n_, seed_;
  std::vector<uint64_t> order_;
  int64_t epoch_ = -1;
};

// Linear warm-up, then a cosine to min_lr_ratio * lr. With a time budget the cosine also
// follows the clock (`budget_used`, 0..1; whichever is further along), so the rate has decayed
// when the budget ends; runs with a budget then depend on the machine's speed.
double lr_at(const TrainConfig& t, int64_t s, int64_t total_steps, double budget_used) {
  if (s < t.warmup) return t.lr * double(s + 1) / t.warmup;
  const double p = std::max(double(s - t.warmup) / std::max<int64_t>(1, total_steps - t.warmup), budget_used);
  return t.lr * (t.min_lr_ratio + (1 - t.min_lr_ratio) * 0.5 * (1 + std::cos(M_PI * std::min(1.0, p))));
}

// What every checkpoint of the run records besides its step.
json checkpoint_meta(const TrainConfig& t, const TrainData& d, int64_t total_steps) {
  return {{"format", "cpusim-checkpoint"}, {"version", 1},         {"preset", t.preset},
          {"model", to_json(t.model)},     {"isa", isa_json(d.isa)}, {"dataset", d.id},
          {"data", t.data},                {"loss_on", t.loss_on},  {"seed", t.seed},
          {"batch", t.batch},              {"accum", t.accum},      {"total_steps", total_steps}};
}

// --resume: the weights and optimizer state of RUN_DIR/checkpoint.pt, after checking that it
// was made by the same run. Returns its step.
int64_t resume(const TrainConfig& t, const TrainData& d, const std::string& path, BGPT& m, torch::optim::AdamW& opt,
               const torch::Device& dev, double& best_eval_loss) {
  Checkpoint c = load_checkpoint(path, dev);
  if (c.meta.at("preset") != t.preset || c.meta.at("model") != to_json(t.model))
    throw Error(path + ": made with preset " + c.meta.at("preset").get<std::string>() + " " + c.meta.at("model").dump() +
                ", not " + t.preset + "; resume with the same preset and options");
  if (c.meta.at("isa") != isa_json(d.isa))
    throw Error(path + ": made for ISA " + c.meta.at("isa").dump() + ", but " + t.data + " is " + isa_json(d.isa).dump());
  if (c.meta.at("dataset") != d.id)
    throw Error(path + ": trained on another dataset (" + c.meta.at("data").get<std::string>() + ")");
  if (c.meta.at("batch") != t.batch || c.meta.at("accum") != t.accum || c.meta.at("seed") != t.seed)
    throw Error(path + ": made with another --batch/--accum/--seed; resume with the same ones");
  {
    torch::NoGradGuard g;
    auto src = c.model->parameters();
    auto dst = m->parameters();
    for (size_t i = 0; i < dst.size(); ++i) dst[i].copy_(src[i]);
  }
  torch::serialize::InputArchive oa;
  c.archive.read("optimizer", oa);
  opt.load(oa);
  const int64_t step = c.meta.at("step");
  if (c.meta.contains("best_eval_loss")) best_eval_loss = c.meta.at("best_eval_loss");
  if (!t.quiet) std::cerr << "train: resumed from " << path << " at step " << step << "\n";
  return step;
}

void print_heldout(int64_t step, const EvalResult& e) {
  char line[160];
  std::snprintf(line, sizeof line, "train: at step %lld: held-out loss %.4f, teacher-forced byte accuracy %.2f%%\n",
                (long long)step, e.loss, 100 * e.byte_accuracy);
  std::cerr << line;
}

// One log row (log.jsonl), and the progress line on stderr (every half second on a terminal,
// every 10 s otherwise, and at each evaluation).
class RunLog {
 public:
  // A resumed run (append) first drops the rows after its checkpoint's step `first`: the steps
  // it is about to run again.
  // A log that is not `enabled` (the ranks after the first of a data-parallel run) writes nothing.
  RunLog(const std::string& path, bool append, int64_t first, bool quiet, bool enabled = true)
      : quiet_(quiet || !enabled), enabled_(enabled) {
    if (!enabled) return;
    if (append) keep_through(path, first);
    out_.open(path, append ? std::ios::app : std::ios::trunc);
    if (!out_) throw Error(path + ": cannot write");
  }
  void row(int64_t step, int64_t total, int64_t first, double loss, double lr, double secs, int64_t bytes,
           const EvalResult* ev, double budget_s) {
    json r = {{"step", step}, {"loss", loss}, {"lr", lr}, {"seconds", secs}, {"bytes_per_s", bytes / secs}};
    if (ev) r["eval_loss"] = ev->loss, r["eval_byte_accuracy"] = ev->byte_accuracy, r["eval_exact_patches"] = ev->exact_patches;
    if (!enabled_) return;
    out_ << r.dump() << "\n";
    out_.flush();
    const bool tty = isatty(2);
    if (quiet_ || !(secs - last_print_ > (tty ? 0.5 : 10) || ev || step == total)) return;
    last_print_ = secs;
    double eta = secs / double(step - first) * double(total - step);
    if (budget_s > 0) eta = std::min(eta, std::max(0.0, budget_s - secs));
    char line[256];
    std::snprintf(line, sizeof line, "%sstep %lld/%lld  loss %.4f  lr %.2e  %.0f B/s  %.1fs  ETA %.0fs%s",
                  tty ? "\r" : "", (long long)step, (long long)total, loss, lr, bytes / secs, secs, eta, tty ? "" : "\n");
    std::cerr << line;
    if (ev) {
      std::snprintf(line, sizeof line, "%s  held-out loss %.4f, teacher-forced byte accuracy %.2f%%\n", tty ? "\n" : "",
                    ev->loss, 100 * ev->byte_accuracy);
      std::cerr << line;
    }
  }

 private:
  static void keep_through(const std::string& path, int64_t first) {
    std::ifstream in(path);
    if (!in) return;
    std::string kept;
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      const json r = json::parse(line, nullptr, false);
      if (r.is_discarded() || !r.contains("step") || !r["step"].is_number_integer())  // a torn last line
        continue;
      if (r["step"].get<int64_t>() <= first) kept += line + "\n";
    }
    write_file_atomic(path, std::vector<uint8_t>(kept.begin(), kept.end()));
  }

  bool quiet_, enabled_;
  std::ofstream out_;
  double last_print_ = -1;
};

// What a run folder holds.
constexpr const char* kRunFiles[] = {"checkpoint.pt", "model.pt", "best.pt", "log.jsonl", "config.json"};

// Checks made before any work: the options, the run folder (a run in it is refused without
// --resume or --overwrite), the profile's path.
void check_run(const TrainConfig& t, bool leader) {
  if (t.loss_on != "states" && t.loss_on != "all") throw Error("--loss-on " + t.loss_on + ": expected states or all");
  if (t.allreduce != "auto" && t.allreduce != "during" && t.allreduce != "after")
    throw Error("--allreduce " + t.allreduce + ": expected auto, during or after");
  if (t.cuda_graphs && !t.profile.empty())  // the profiler's CUDA events would land inside captures
    throw Error("--profile and --cuda-graphs together: a graph replay has no operators to time; profile without --cuda-graphs");
  std::error_code ec;
  fs::create_directories(t.out_dir, ec);
  if (ec) throw Error(t.out_dir + ": cannot create run folder: " + ec.message());
  const fs::path dir(t.out_dir);
  require_writable(dir / "config.json");
  if (leader)  // a killed run's temporaries
    for (const char* f : kRunFiles) remove_stale_temps(dir / f);
  if (t.resume) {
    if (!fs::exists(dir / "checkpoint.pt", ec)) throw Error(t.out_dir + ": no checkpoint.pt to resume from");
  } else {
    for (const char* f : kRunFiles) {
      if (!fs::exists(dir / f, ec)) continue;
      if (!t.overwrite)
        throw Error(t.out_dir + ": holds a run (" + f + "); --resume continues it, --overwrite replaces it");
      if (leader) fs::remove(dir / f, ec);
    }
  }
  if (!t.profile.empty()) {  // fail now, not after the steps it is to record
    const auto tmp = temp_sibling(t.profile);
    if (!std::ofstream(tmp)) throw Error(t.profile + ": cannot write the profile");
    fs::remove(tmp, ec);
  }
}

// One run: the model, the optimizer and the data, and the steps that change them.
class Trainer {
 public:
  explicit Trainer(const TrainConfig& t)
      : t_(resolve(t)), dev_(pick_device(t_.device, dist_env().local_rank)), bf16_(use_bf16(t_.precision, dev_)),
        dist_(dist_env(), dev_, std::chrono::seconds(t_.dist_timeout)),
        lock_(dist_.leader() ? t_.out_dir : std::string(), "run folder"),
        data_((prepare(t_, dev_, bf16_, dist_), load_data(t_))), dir_(t_.out_dir),
        per_step_(uint64_t(t_.batch) * uint64_t(t_.accum)),
        m_(make_model(t_, dev_)),
        opt_(m_->parameters(), torch::optim::AdamWOptions(t_.lr).betas({0.9, 0.95}).weight_decay(t_.weight_decay)),
        sampler_(data_.train.count(), t_.seed),
        reducer_(dist_, m_->parameters()) {
    total_ = t_.steps > 0 ? t_.steps
                         : std::max<int64_t>(1, int64_t(std::ceil(t_.epochs * data_.train.count() / double(per_step_))));
    first_ = t_.resume ? resume(t_, data_, path("checkpoint.pt"), m_, opt_, dev_, best_eval_loss_) : 0;
    int64_t params = 0;
    for (const auto& p : m_->parameters()) params += p.numel();
    json cfg = json::parse(config_json(t_, params));
    cfg["machine"] = machine_json(dev_, bf16_);
    cfg["world_size"] = dist_.world();
    cfg["dist_backend"] = dist_.backend();
    if (dist_.leader()) write_file_atomic(path("config.json"), cfg.dump(2) + "\n");
    meta_ = checkpoint_meta(t_, data_, total_);
  }

  TrainSummary run();

  // Options that depend on the data: --state-prefix reads one whole state, --program-memory its image.
  static TrainConfig resolve(TrainConfig t) {
    if (t.copy_state && !t.model.copy_path) throw Error("--copy-state: the copy path's form; give --copy-path too");
    if (t.state_prefix || t.program_memory || t.copy_state) {
      const isa::Config c = datagen::H5Reader(t.data).info().isa;
      if (t.state_prefix) t.model.state_prefix = int(isa::state_bytes(c));
      if (t.copy_state) t.model.copy_stride = int(isa::state_bytes(c) / isa::kPatchBytes);
      if (t.program_memory) t.model.program_memory = int(isa::image_bytes(c));
    }
    return t;
  }

 private:
  static void prepare(const TrainConfig& t, const torch::Device& dev, bool bf16, const Dist& dist) {
    set_cpu_threads(t.threads, bf16, dev);
    if (dist.active() && t.batch % dist.world())
      throw Error("--batch " + std::to_string(t.batch) + " is the global batch: it must be a multiple of WORLD_SIZE " +
                  std::to_string(dist.world()));
    if (dist.active() && t.cuda_graphs) throw Error("--cuda-graphs with WORLD_SIZE > 1: not supported; leave it out");
    check_run(t, dist.leader());
  }
  static BGPT make_model(const TrainConfig& t, const torch::Device& dev) {
    torch::manual_seed(t.seed);
    BGPT m(t.model);
    m->to(dev);
    return m;
  }
  std::string path(const char* name) const { return (dir_ / name).string(); }
  EvalResult heldout() {
    return evaluate(m_, data_.test, data_.layout, t_.loss_on == "all", t_.batch, dev_, bf16_, &dist_);
  }
  // A step's batches (one per accumulation), on the device.
  std::vector<OnDevice> batches_for(int64_t s) {
    std::vector<OnDevice> v;
    for (int a = 0; a < t_.accum; ++a) {
      // This rank's slice of the global micro-batch: the same traces whatever the world size.
      const int per_rank = t_.batch / dist_.world(), lo = dist_.rank() * per_rank;
      std::vector<uint64_t> idx;
      for (int i = lo; i < lo + per_rank; ++i) idx.push_back(sampler_.at(uint64_t(s) * per_step_ + uint64_t(a) * t_.batch + i));
      v.push_back(to_device(make_batch(data_.train, idx, data_.layout, t_.loss_on == "all", t_.model.max_patches,
                                       t_.model.state_prefix, t_.model.copy_stride),
                            dev_));
    }
    return v;
  }
  void checkpoint(int64_t s) {
    json mt = meta_;
    mt["step"] = s;
    mt["data_position"] = uint64_t(s) * per_step_;
    mt["rng"] = {{"seed", t_.seed}, {"epoch", int64_t(uint64_t(s) * per_step_ / data_.train.count())}};
    if (std::isfinite(best_eval_loss_)) mt["best_eval_loss"] = best_eval_loss_;
    if (dist_.leader()) save_checkpoint(path("checkpoint.pt"), m_, &opt_, mt);
  }
  // best.pt: the weights (no optimizer) of the lowest held-out loss so far.
  void keep_best(int64_t s, const EvalResult& e) {
    if (!(e.loss < best_eval_loss_)) return;
    best_eval_loss_ = e.loss;
    json mt = meta_;
    mt["step"] = s;
    mt["eval_loss"] = e.loss;
    if (dist_.leader()) save_checkpoint(path("best.pt"), m_, nullptr, mt);
  }
  double step(int64_t s, double lr, StepRunner& runner);
  void save_final(int64_t s);

  const TrainConfig t_;
  torch::Device dev_;
  bool bf16_;
  Dist dist_;
  FolderLock lock_;  // rank 0's, on the run folder: a second run into it is refused at once
  TrainData data_;
  fs::path dir_;
  uint64_t per_step_;
  BGPT m_;
  torch::optim::AdamW opt_;
  Sampler sampler_;
  GradReducer reducer_;  // data-parallel: gradients summed during the backward pass
  uint64_t buckets_summed_ = 0, started_in_backward_ = 0;
  const bool overlap_ = t_.allreduce == "during" || (t_.allreduce == "auto" && dev_.is_cuda());
  int64_t total_ = 0, first_ = 0, bytes_done_ = 0;
  double best_eval_loss_ = INFINITY;
  json meta_;
  std::vector<OnDevice> next_;  // the next step's batches, made while the device works
};

// One optimizer step at learning rate `lr`; returns its loss (the step's one wait for the device).
double Trainer::step(int64_t s, double lr, StepRunner& runner) {
  for (auto& g : opt_.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
  const std::vector<OnDevice> batches = next_.empty() ? batches_for(s) : std::exchange(next_, {});
  runner.lap(Phase::batch);
  clear_grads(m_->parameters());
  // Data-parallel: each rank weighs its slice's mean loss by its share of the micro-batch's
  // scored bytes, so the summed gradients are those of the whole micro-batch's mean.
  std::vector<double> scale(batches.size(), 1.0);
  if (dist_.active()) {
    auto counts = torch::empty({int64_t(batches.size())}, torch::kDouble);
    for (size_t a = 0; a < batches.size(); ++a) counts[int64_t(a)] = double(batches[a].targets.numel());
    auto global = counts.clone();
    dist_.sum({global});
    for (size_t a = 0; a < batches.size(); ++a) scale[a] = counts[int64_t(a)].item<double>() / global[int64_t(a)].item<double>();
  }
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(dev_));
  int64_t bytes = 0;
  for (size_t a = 0; a < batches.size(); ++a) {
    // The last micro-batch's gradients are summed over the ranks as its backward pass makes them.
    if (dist_.active() && a + 1 == batches.size() && overlap_) reducer_.arm();
    loss_sum += runner.forward_backward(batches[a], a == 0, scale[a]);
    bytes += batches[a].bytes;
    runner.lap(Phase::backward);
  }
  if (dist_.active()) {  // what is left of the gradients' sums; the loss and the trace bytes
    reducer_.finish();
    buckets_summed_ += reducer_.buckets();
    started_in_backward_ += reducer_.started_in_backward();
    // (on the loss's device: no wait for it here)
    const auto dbl = loss_sum.options().dtype(torch::kDouble);
    auto totals = torch::stack({loss_sum.detach().to(torch::kDouble), torch::full({}, double(bytes), dbl)});
    dist_.sum({totals});
    loss_sum = totals[0];
    bytes = int64_t(totals[1].item<double>());
    runner.lap(Phase::allreduce);
  }
  bytes_done_ += bytes;  // the log's bytes/s: the whole group's
  clip_grad_norm(m_->parameters(), t_.clip);
  runner.lap(Phase::clip);
  adamw_step(opt_);
  runner.lap(Phase::optimizer);
  // The next step's batches are made (and on a GPU, copied) while the device works on this
  // one; then the step's one wait for the device: its loss. A non-finite loss has reached the
  // weights by then, but they are not saved: the last checkpoint stays the last good one.
  if (s + 1 < total_) next_ = batches_for(s + 1);
  runner.lap(Phase::batch);
  return loss_sum.item<double>() / t_.accum;
}

// The final checkpoint at step `s`, and its weights alone as model.pt.
void Trainer::save_final(int64_t s) {
  checkpoint(s);
  json mt = meta_;
  mt["step"] = s;
  if (dist_.leader()) save_checkpoint(path("model.pt"), m_, nullptr, mt);
}

TrainSummary Trainer::run() {
  TrainSummary sum;
  sum.start_step = first_;
  if (data_.test.count()) {  // where held-out loss and accuracy start (before the time budget starts)
    const EvalResult e0 = heldout();
    sum.start_eval_loss = e0.loss, sum.start_eval_byte_accuracy = e0.byte_accuracy;
    if (!t_.quiet) print_heldout(first_, e0);
  }
  RunLog log(path("log.jsonl"), t_.resume, first_, t_.quiet, dist_.leader());
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  // The first rank's clock, for every rank's time budget and schedule (ranks must agree on both).
  auto run_clock = [&] {
    if (!dist_.active()) return elapsed();
    auto c = torch::full({1}, dist_.leader() ? elapsed() : 0.0, torch::kDouble);
    dist_.sum({c});
    return c.item<double>();
  };
  const double budget_s = 60 * t_.max_minutes;
  StepRunner runner(m_, dev_, bf16_, t_, first_);
  EvalResult ev;
  int64_t s = first_, evaluated_at = -1;
  m_->train();
  while (s < total_) {
    runner.begin(s);
    if (t_.stop_after > 0 && s - first_ >= t_.stop_after) break;
    const double clock = budget_s > 0 ? run_clock() : 0;
    if (budget_s > 0 && clock > budget_s) {
      if (!t_.quiet && dist_.leader())
        std::cerr << "\ntrain: time budget of " << t_.max_minutes << " min reached at step " << s << "\n";
      break;
    }
    const double lr = lr_at(t_, s, total_, budget_s > 0 ? clock / budget_s : 0);
    const double loss = step(s, lr, runner);
    if (!std::isfinite(loss)) {
      if (dist_.leader()) std::cerr << "\ntrain: loss is " << loss << " at step " << s << "; stopping. The last good checkpoint is "
                << path("checkpoint.pt") << "\n";
      sum.stopped_on_nan = true;
      break;
    }
    sum.final_loss = loss;
    ++s;
    // The run's last step (the last of the steps, of --stop-after, or of the time budget) is
    // evaluated like the periodic ones, so the log's last row and the summary have its figures.
    const bool last = s == total_ || (t_.stop_after > 0 && s - first_ >= t_.stop_after) ||
                      (budget_s > 0 && run_clock() > budget_s);
    const bool do_eval = ((t_.eval_every > 0 && s % t_.eval_every == 0) || last) && data_.test.count();
    if (do_eval) {
      ev = heldout();
      keep_best(s, ev);
      evaluated_at = s;
    }
    log.row(s, total_, first_, loss, lr, elapsed(), bytes_done_, do_eval ? &ev : nullptr, budget_s);
    if (t_.checkpoint_every > 0 && s % t_.checkpoint_every == 0) checkpoint(s);
    runner.lap(Phase::other);
  }
  runner.end(s, t_.quiet);
  if (t_.timing && dist_.active() && buckets_summed_)
    std::cerr << "train: rank " << dist_.rank() << ": " << reducer_.buckets() << " gradient buckets a step; "
              << started_in_backward_ << " of " << buckets_summed_
              << " all-reduces started during the backward pass\n";
  if (!sum.stopped_on_nan) {
    if (data_.test.count() && evaluated_at != s) {  // (a run that made no step this time)
      ev = heldout();
      keep_best(s, ev);
    }
    save_final(s);
  }
  if (!t_.quiet && isatty(2)) std::cerr << "\n";
  sum.steps = s;
  sum.seconds = elapsed();
  sum.eval_loss = ev.loss;
  sum.eval_byte_accuracy = ev.byte_accuracy;
  return sum;
}

}  // namespace

namespace {

// --procs N: N forked processes of one run on this machine (rank 0 is this one), each with its
// share of the cores for libtorch and OpenBLAS; on a 2-core machine two processes of one thread
// run a `small` step ~20% faster than one process with both cores (results/distributed.md).
TrainSummary train_local(const TrainConfig& t) {
  if (t.device != "cpu")
    throw Error("--procs " + std::to_string(t.procs) + " is for the CPU; on GPUs launch one process per GPU (torchrun; README: Beyond one machine)");
  if (t.batch % t.procs)
    throw Error("--batch " + std::to_string(t.batch) + " is the global batch: it must be a multiple of --procs " +
                std::to_string(t.procs));
  check_run(Trainer::resolve(t), false);  // what every rank would refuse, refused once
  TrainConfig rt = t;
  const int cores = int(std::max(1u, std::thread::hardware_concurrency()));
  if (rt.threads <= 0) rt.threads = std::max(1, cores / t.procs);
  return on_local_ranks(t.procs, rt.threads, [&](int rank) {
    TrainConfig mine = rt;
    if (rank > 0) mine.quiet = true, mine.timing = false, mine.profile.clear();
    return Trainer(mine).run();
  });
}

}  // namespace

TrainSummary train(const TrainConfig& t) {
  if (t.procs < 1) throw Error("--procs " + std::to_string(t.procs) + ": expected at least 1");
  if (t.procs == 1 || dist_env().world > 1) return Trainer(t).run();  // a launcher's ranks run as they are
  return train_local(t);
}

}  // namespace cpusim::model
