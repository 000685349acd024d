// model/train.cpp: the training loop (AdamW, warm-up + cosine, clipping, accumulation, held-out
// evaluation, atomic checkpoints with exact resume). Its parts live beside it: batches
// (batch.h), the loss (loss.h), the optimizer (optim.h), checkpoints (checkpoint.h), the step's
// forward/backward with its timing, profiling and CUDA graphs (step.h).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "common/io.h"
#include "datagen/dataset.h"
#include "datagen/rng.h"
#include "model/api.h"
#include "model/dist.h"
#include "model/internal.h"
#include "model/launch.h"
#include "model/run_files.h"
#include "model/step.h"

namespace cpusim::model {

namespace fs = std::filesystem;
using json = nlohmann::json;

int64_t parameter_count(const ModelConfig& c) {
  BGPT m(c);
  int64_t n = 0;
  for (const auto& p : m->parameters()) n += p.numel();
  return n;
}

namespace {

// The data a run trains and evaluates on, held in memory.
struct TrainData {
  isa::Config isa;
  Layout layout;
  Split train, test;
  std::string id;  // md5 of the first MiB of train bytes, and the train count (resume checks it)
};

// The splits of the open set `reader`, read once per process (--procs: once for all of them,
// the forked ranks inherit it).
TrainData load_data(const datagen::H5Reader& reader, const TrainConfig& t) {
  TrainData d{reader.info().isa, layout_of(reader.info().isa), load_split(reader, 0, 0),
              load_split(reader, 1, uint64_t(t.eval_traces)), ""};
  if (d.train.count() == 0) throw Error(t.data + ": the train split is empty");
  int64_t longest = 0;
  for (uint64_t i = 0; i < d.train.count(); ++i)
    longest = std::max<int64_t>(longest, int64_t(d.train.size(i) / kPatchSize));
  if (longest + 1 > t.model.max_patches)
    std::cerr << "train: warning: traces of up to " << longest + 1 << " patches exceed the model's "
              << t.model.max_patches << "; longer traces are cut\n";
  const auto head = std::span<const uint8_t>(d.train.bytes.data(),
                                             std::min<size_t>(d.train.bytes.size(), 1 << 20));
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
      for (uint64_t i = n_ - 1; i > 0; --i)
        std::swap(order_[i], order_[rng.below(uint32_t(i + 1))]);
      epoch_ = epoch;
    }
    return order_[pos % n_];
  }

 private:
  uint64_t n_, seed_;
  std::vector<uint64_t> order_;
  int64_t epoch_ = -1;
};

// Linear warm-up, then a cosine to min_lr_ratio * lr. With a time budget and the "clock"
// schedule the cosine also follows the clock (`budget_used`, 0..1; whichever is further along),
// so the rate has decayed when the budget ends; such runs then depend on the machine's speed.
double lr_at(const TrainConfig& t, int64_t s, int64_t total_steps, double budget_used) {
  if (s < t.warmup) return t.lr * double(s + 1) / t.warmup;
  const double by_steps = double(s - t.warmup) / std::max<int64_t>(1, total_steps - t.warmup);
  const double p = t.schedule == "steps" ? by_steps : std::max(by_steps, budget_used);
  return t.lr *
         (t.min_lr_ratio + (1 - t.min_lr_ratio) * 0.5 * (1 + std::cos(M_PI * std::min(1.0, p))));
}

// What every checkpoint of the run records besides its step.
json checkpoint_meta(const TrainConfig& t, const TrainData& d, int64_t total_steps) {
  return {{"format", "cpusim-checkpoint"},
          {"version", 1},
          {"preset", t.preset},
          {"model", to_json(t.model)},
          {"isa", isa_json(d.isa)},
          {"dataset", d.id},
          {"data", t.data},
          {"loss_on", t.loss_on},
          {"seed", t.seed},
          {"batch", t.batch},
          {"accum", t.accum},
          {"total_steps", total_steps}};
}

// --resume: the weights and optimizer state of RUN_DIR/checkpoint.pt, after checking that it
// was made by the same run. Returns its step.
int64_t resume(const TrainConfig& t, const TrainData& d, const std::string& path, BGPT& m,
               torch::optim::AdamW& opt, const torch::Device& dev, double& best_eval_loss) {
  Checkpoint c = load_checkpoint(path, dev);
  // (Compared as read, so a checkpoint made before a model field existed has its default.)
  if (c.meta.at("preset") != t.preset || to_json(c.model_config) != to_json(t.model))
    throw Error(path + ": made with preset " + c.meta.at("preset").get<std::string>() + " " +
                c.meta.at("model").dump() + ", not " + t.preset +
                "; resume with the same preset and options");
  if (c.meta.at("isa") != isa_json(d.isa))
    throw Error(path + ": made for ISA " + c.meta.at("isa").dump() + ", but " + t.data + " is " +
                isa_json(d.isa).dump());
  if (c.meta.at("dataset") != d.id)
    throw Error(path + ": trained on another dataset (" + c.meta.at("data").get<std::string>() +
                ")");
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

// One process's place in a run: its device and precision, the process group (a rendezvous with
// the other ranks, if any) and, on rank 0, the run folder's lock. Constructing it makes the
// checks every rank makes before any work.
struct Rank {
  explicit Rank(const TrainConfig& t);
  torch::Device dev;
  bool bf16;
  Dist dist;
  FolderLock lock;  // rank 0's, on the run folder: a second run into it is refused at once
};

Rank::Rank(const TrainConfig& t)
    : dev(pick_device(t.device, dist_env().local_rank)),
      bf16(use_bf16(t.precision, dev)),
      dist(dist_env(), dev, std::chrono::seconds(t.dist_timeout)),
      lock(dist.leader() ? t.out_dir : std::string(), "run folder") {
  set_cpu_threads(t.threads, bf16, dev);
  keep_freed_memory();  // a step's activations come and go at every step
  if (dist.active() && t.batch % dist.world())
    throw Error("--batch " + std::to_string(t.batch) +
                " is the global batch: it must be a multiple of WORLD_SIZE " +
                std::to_string(dist.world()));
  if (dist.active() && t.cuda_graphs)
    throw Error("--cuda-graphs with WORLD_SIZE > 1: not supported; leave it out");
  check_run(t, dist.leader());
}

// One run: the model, the optimizer and the data, and the steps that change them.
class Trainer {
 public:
  // The model (seeded) and its optimizer; reads and writes nothing.
  Trainer(const TrainConfig& t, Rank& rank, const TrainData& data)
      : t_(t),
        rank_(rank),
        dev_(rank.dev),
        data_(data),
        dir_(t.out_dir),
        per_step_(uint64_t(t.batch) * uint64_t(t.accum)),
        m_(make_model(t, dev_)),
        opt_(m_->parameters(),
             torch::optim::AdamWOptions(t.lr).betas({0.9, 0.95}).weight_decay(t.weight_decay)),
        sampler_(data.train.count(), t.seed),
        dp_(rank.dist, m_->parameters(),
            t.allreduce == "during" || (t.allreduce == "auto" && dev_.is_cuda())) {
    total_ = t.steps > 0
                 ? t.steps
                 : std::max<int64_t>(
                       1, int64_t(std::ceil(t.epochs * data.train.count() / double(per_step_))));
    meta_ = checkpoint_meta(t, data, total_);
  }
  // The run's start: --resume's checkpoint read back, or config.json written.
  void start();
  TrainSummary run();

 private:
  static BGPT make_model(const TrainConfig& t, const torch::Device& dev) {
    torch::manual_seed(t.seed);
    BGPT m(t.model);
    m->to(dev);
    return m;
  }
  bool leader() const { return rank_.dist.leader(); }
  std::string path(const char* name) const { return (dir_ / name).string(); }
  EvalResult heldout() {
    return evaluate(m_, data_.test, data_.layout, t_.loss_on == "all", t_.batch, dev_, rank_.bf16,
                    &rank_.dist);
  }
  // A step's batches (one per accumulation), on the device.
  std::vector<OnDevice> batches_for(int64_t s) {
    std::vector<OnDevice> v;
    for (int a = 0; a < t_.accum; ++a) {
      // This rank's slice of the global micro-batch: the same traces whatever the world size.
      const int per_rank = t_.batch / rank_.dist.world(), lo = rank_.dist.rank() * per_rank;
      std::vector<uint64_t> idx;
      for (int i = lo; i < lo + per_rank; ++i)
        idx.push_back(sampler_.at(uint64_t(s) * per_step_ + uint64_t(a) * t_.batch + i));
      v.push_back(
          to_device(make_batch(data_.train, idx, data_.layout, t_.loss_on == "all",
                               t_.model.max_patches, t_.model.state_prefix, t_.model.copy_stride),
                    dev_));
    }
    return v;
  }
  void checkpoint(int64_t s) {
    json mt = meta_;
    mt["step"] = s;
    mt["data_position"] = uint64_t(s) * per_step_;
    mt["rng"] = {{"seed", t_.seed},
                 {"epoch", int64_t(uint64_t(s) * per_step_ / data_.train.count())}};
    if (std::isfinite(best_eval_loss_)) mt["best_eval_loss"] = best_eval_loss_;
    if (leader()) save_checkpoint(path("checkpoint.pt"), m_, &opt_, mt);
  }
  // best.pt: the weights (no optimizer) of the lowest held-out loss so far.
  void keep_best(int64_t s, const EvalResult& e) {
    if (!(e.loss < best_eval_loss_)) return;
    best_eval_loss_ = e.loss;
    json mt = meta_;
    mt["step"] = s;
    mt["eval_loss"] = e.loss;
    if (leader()) save_checkpoint(path("best.pt"), m_, nullptr, mt);
  }
  double step(int64_t s, double lr, StepRunner& runner);
  void save_final(int64_t s);

  const TrainConfig& t_;
  Rank& rank_;
  torch::Device dev_;
  const TrainData& data_;
  fs::path dir_;
  uint64_t per_step_;
  BGPT m_;
  torch::optim::AdamW opt_;
  Sampler sampler_;
  DataParallel dp_;
  int64_t total_ = 0, first_ = 0, bytes_done_ = 0;
  double best_eval_loss_ = INFINITY;
  json meta_;
  std::vector<OnDevice> next_;  // the next step's batches, made while the device works
};

void Trainer::start() {
  first_ =
      t_.resume ? resume(t_, data_, path("checkpoint.pt"), m_, opt_, dev_, best_eval_loss_) : 0;
  int64_t params = 0;
  for (const auto& p : m_->parameters()) params += p.numel();
  json cfg = json::parse(config_json(t_, params));
  cfg["machine"] = machine_json(dev_, rank_.bf16);
  cfg["world_size"] = rank_.dist.world();
  cfg["dist_backend"] = rank_.dist.backend();
  if (leader()) write_file_atomic(path("config.json"), cfg.dump(2) + "\n");
}

// One optimizer step at learning rate `lr`; returns its loss (the step's one wait for the device).
double Trainer::step(int64_t s, double lr, StepRunner& runner) {
  for (auto& g : opt_.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
  const auto batches = runner.timed(
      Phase::batch, [&] { return next_.empty() ? batches_for(s) : std::exchange(next_, {}); });
  clear_grads(m_->parameters());
  std::vector<int64_t> scored;
  for (const OnDevice& b : batches) scored.push_back(b.targets.numel());
  const std::vector<double> weight = dp_.weights(scored);  // each rank's share of a micro-batch
  torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(dev_));
  int64_t bytes = 0;
  for (size_t a = 0; a < batches.size(); ++a) {
    dp_.before_backward(a, batches.size());
    loss_sum += runner.forward_backward(batches[a], a == 0, weight[a]);
    bytes += batches[a].bytes;
  }
  if (dp_.active()) runner.timed(Phase::allreduce, [&] { dp_.sum(loss_sum, bytes); });
  bytes_done_ += bytes;  // the log's bytes/s: the whole group's
  runner.update(opt_, t_.clip);
  // The next step's batches are made (and on a GPU, copied) while the device works on this
  // one; then the step's one wait for the device: its loss. A non-finite loss has reached the
  // weights by then, but they are not saved: the last checkpoint stays the last good one.
  if (s + 1 < total_) next_ = runner.timed(Phase::batch, [&] { return batches_for(s + 1); });
  return loss_sum.item<double>() / t_.accum;
}

// The final checkpoint at step `s`, and its weights alone as model.pt.
void Trainer::save_final(int64_t s) {
  checkpoint(s);
  json mt = meta_;
  mt["step"] = s;
  if (leader()) save_checkpoint(path("model.pt"), m_, nullptr, mt);
}

// Seconds since the run's first step, as rank 0 counts them, for every rank's time budget and
// schedule (the ranks must agree on both: one collective per reading when there are several).
class RunClock {
 public:
  RunClock(Dist& dist, double budget_minutes) : dist_(dist), budget_s_(60 * budget_minutes) {}
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  // The share of the time budget used (above 1: spent); 0 without a budget.
  double budget_used() {
    if (budget_s_ <= 0) return 0;
    if (!dist_.active()) return elapsed() / budget_s_;
    auto c = torch::full({1}, dist_.leader() ? elapsed() : 0.0, torch::kDouble);
    dist_.sum({c});
    return c.item<double>() / budget_s_;
  }
  double budget_s() const { return budget_s_; }

 private:
  Dist& dist_;
  double budget_s_;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
};

TrainSummary Trainer::run() {
  TrainSummary sum;
  sum.start_step = first_;
  if (data_.test
          .count()) {  // where held-out loss and accuracy start (before the time budget starts)
    const EvalResult e0 = heldout();
    sum.start_eval_loss = e0.loss, sum.start_eval_byte_accuracy = e0.byte_accuracy;
    if (!t_.quiet) print_heldout(first_, e0);
  }
  RunLog log(path("log.jsonl"), t_.resume, first_, t_.quiet, leader());
  RunClock clock(rank_.dist, t_.max_minutes);
  StepRunner runner(m_, dev_, rank_.bf16, t_, first_);
  auto stop_after_reached = [&](int64_t s) {
    return t_.stop_after > 0 && s - first_ >= t_.stop_after;
  };
  EvalResult ev;
  int64_t s = first_, evaluated_at = -1;
  m_->train();
  while (s < total_) {
    runner.begin(s);
    if (stop_after_reached(s)) break;
    const double used = clock.budget_used();
    if (used > 1) {
      if (!t_.quiet && leader())
        std::cerr << "\ntrain: time budget of " << t_.max_minutes << " min reached at step " << s
                  << "\n";
      break;
    }
    const double lr = lr_at(t_, s, total_, used);
    const double loss = step(s, lr, runner);
    if (!std::isfinite(loss)) {
      if (leader())
        std::cerr << "\ntrain: loss is " << loss << " at step " << s
                  << "; stopping. The last good checkpoint is " << path("checkpoint.pt") << "\n";
      sum.stopped_on_nan = true;
      break;
    }
    sum.final_loss = loss;
    ++s;
    // The run's last step (the last of the steps, of --stop-after, or of the time budget) is
    // evaluated like the periodic ones, so the log's last row and the summary have its figures.
    const bool last = s == total_ || stop_after_reached(s) || clock.budget_used() > 1;
    const bool do_eval =
        ((t_.eval_every > 0 && s % t_.eval_every == 0) || last) && data_.test.count();
    if (do_eval) {
      ev = heldout();
      keep_best(s, ev);
      evaluated_at = s;
    }
    log.row(s, total_, first_, loss, lr, clock.elapsed(), bytes_done_, do_eval ? &ev : nullptr,
            clock.budget_s());
    if (t_.checkpoint_every > 0 && s % t_.checkpoint_every == 0) checkpoint(s);
    runner.lap(Phase::other);
  }
  runner.end(s, t_.quiet);
  if (const std::string o = dp_.overlap_summary(); t_.timing && !o.empty())
    std::cerr << "train: rank " << rank_.dist.rank() << ": " << o << "\n";
  if (!sum.stopped_on_nan) {
    if (data_.test.count() && evaluated_at != s)
      ev = heldout(), keep_best(s, ev);  // (no step made this time)
    save_final(s);
  }
  if (!t_.quiet && isatty(2)) std::cerr << "\n";
  sum.steps = s;
  sum.seconds = clock.elapsed();
  sum.eval_loss = ev.loss;
  sum.eval_byte_accuracy = ev.byte_accuracy;
  return sum;
}

// One rank's run: the rank's checks, then the data (`shared`: read before the ranks were forked;
// else read from `set`), then the steps.
TrainSummary run_rank(const TrainConfig& t, const datagen::H5Reader* set, const TrainData* shared) {
  Rank rank(t);
  std::optional<TrainData> own;
  if (!shared) own = load_data(*set, t);
  Trainer trainer(t, rank, shared ? *shared : *own);
  trainer.start();
  return trainer.run();
}

}  // namespace

TrainSummary train(const TrainConfig& given) {
  if (given.procs < 1)
    throw Error("--procs " + std::to_string(given.procs) + ": expected at least 1");
  // --procs N without a launcher: N forked processes of one run on this machine (rank 0 is this
  // one), each with its share of the cores; on a 2-core machine two processes of one thread run
  // a `small` step ~20% faster than one process with both cores (results/distributed.md).
  const bool local = given.procs > 1 && dist_env().world <= 1;
  if (local) {
    check_local_cpu(given.procs, given.device);
    if (given.batch % given.procs)
      throw Error("--batch " + std::to_string(given.batch) +
                  " is the global batch: it must be a multiple of --procs " +
                  std::to_string(given.procs));
  }
  const datagen::H5Reader set(given.data);  // the set, opened once in this process
  const TrainConfig t =
      resolve_data_sizes(given, set.info().isa);  // the configuration's last layer
  if (!local) return run_rank(t, &set, nullptr);  // one process, or a launcher's rank
  check_run(t, false);  // what every rank would refuse, refused once, before the data is read
  const TrainData data = load_data(set, t);  // read once: the forked ranks inherit it
  return on_local_cpu_ranks(t.procs, t.device, t.threads, [&](int rank, int threads) {
    TrainConfig mine = t;
    mine.threads = threads;
    if (rank > 0) mine.quiet = true, mine.timing = false, mine.profile.clear();
    return run_rank(mine, nullptr, &data);
  });
}

}  // namespace cpusim::model
