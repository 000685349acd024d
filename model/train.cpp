// model/train.cpp: the trainer (AdamW, warm-up + cosine, clipping, accumulation, held-out
// evaluation, atomic checkpoints with exact resume) and the checkpoint format.
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "common/io.h"
#include "datagen/dataset.h"
#include "datagen/rng.h"
#include "model/api.h"
#include "model/bgpt.h"
#include "model/compat.h"
#include "model/graphs.h"
#include "model/internal.h"

namespace cpusim::model {

namespace fs = std::filesystem;
using json = nlohmann::json;

json to_json(const ModelConfig& c) {
  return {{"patch_size", c.patch_size}, {"max_patches", c.max_patches}, {"patch_layers", c.patch_layers},
          {"byte_layers", c.byte_layers}, {"width", c.width},     {"heads", c.heads},
          {"copy_path", c.copy_path}, {"gelu", c.gelu}};
}

ModelConfig model_from_json(const json& j) {
  ModelConfig c;
  c.patch_size = j.at("patch_size");
  c.max_patches = j.at("max_patches");
  c.patch_layers = j.at("patch_layers");
  c.byte_layers = j.at("byte_layers");
  c.width = j.at("width");
  c.heads = j.at("heads");
  c.copy_path = j.at("copy_path");
  c.gelu = j.value("gelu", "tanh");  // absent from checkpoints made before the option
  return c;
}

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
            {"timing", t.timing}, {"profile", t.profile}};
  return j.dump(2);
}

// ---- data ------------------------------------------------------------------------------------

Layout layout_of(const isa::Config& c) {
  Layout l;
  l.image_patches = int64_t(isa::image_bytes(c) / isa::kPatchBytes);
  l.state_patches = int64_t(isa::state_bytes(c) / isa::kPatchBytes);
  return l;
}

Split load_split(const datagen::H5Reader& r, int split, uint64_t limit) {
  Split s;
  const uint64_t n = std::min<uint64_t>(r.size(split), limit ? limit : r.size(split));
  r.read(split, 0, n, s.bytes, s.offsets);
  return s;
}

Batch make_batch(const Split& data, const std::vector<uint64_t>& idx, const Layout& l, bool loss_on_all,
                 int64_t max_patches) {
  const int64_t S = 16;
  int64_t T = 0;
  for (uint64_t i : idx) T = std::max<int64_t>(T, int64_t(data.size(i) / S) + 1);
  T = std::min(T, max_patches);
  Batch b;
  const int64_t B = int64_t(idx.size());
  b.inputs = torch::full({B, T, S}, kPad, torch::kLong);   // [begin, patch 0, .., patch n-1]
  b.targets = torch::full({B, T, S}, kPad, torch::kLong);  // [patch 0, .., patch n-1, end]
  auto mask = torch::zeros({B, T}, torch::kBool);  // (B, T): targets scored
  auto in = b.inputs.accessor<int64_t, 3>();
  auto tg = b.targets.accessor<int64_t, 3>();
  auto mk = mask.accessor<bool, 2>();
  for (int64_t r = 0; r < B; ++r) {
    const uint8_t* t = data.trace(idx[r]);
    const int64_t n = std::min<int64_t>(int64_t(data.size(idx[r]) / S), T - 1);
    for (int64_t p = 0; p < n; ++p)
      for (int64_t k = 0; k < S; ++k) {
        in[r][p + 1][k] = t[p * S + k];
        tg[r][p][k] = t[p * S + k];
      }
    b.bytes += n * S;
    // Scored targets: the states after the first and the end patch (or everything).
    const int64_t first = loss_on_all ? 0 : l.image_patches + l.state_patches;
    for (int64_t p = first; p <= n && p < T; ++p) mk[r][p] = true;
  }
  b.rows = mask.view({-1}).nonzero().view({-1});  // on the host: no device wait
  return b;
}

OnDevice to_device(const Batch& b, const torch::Device& dev) {
  const int64_t S = b.inputs.size(2);
  auto put = [&](const torch::Tensor& t) {
    return dev.is_cuda() ? t.pin_memory().to(dev, t.scalar_type(), /*non_blocking=*/true) : t.to(dev);
  };
  OnDevice d;
  d.inputs = put(b.inputs);
  d.rows = put(b.rows);
  d.targets = put(b.targets.view({-1, S}).index_select(0, b.rows));  // (N, S)
  d.prev = put(b.inputs.view({-1, S}).index_select(0, b.rows));      // (N, S)
  d.bytes = b.bytes;
  return d;
}

torch::Tensor select_rows(const torch::Tensor& feats, const torch::Tensor& rows) {
  return feats.flatten(0, 1).index_select(0, rows);  // (B, T, D) -> (N, D)
}

// The teacher-forced logits of a batch's scored rows, (N, S, V) in fp32.
static torch::Tensor scored_logits(BGPT& m, const OnDevice& b, const torch::Device& dev, bool bf16) {
  if (bf16) compat::autocast_bf16(dev, true);
  auto feats = m->patch_features(b.inputs);                                        // (B, T, D)
  auto logits = m->byte_logits(select_rows(feats, b.rows), b.targets, b.prev);  // (N, S, V)
  if (bf16) compat::autocast_bf16(dev, false);
  return logits.to(torch::kFloat);
}

torch::Tensor forward_loss(BGPT& m, const OnDevice& b, const torch::Device& dev, bool bf16) {
  const auto& tgt = b.loss_targets.defined() ? b.loss_targets : b.targets;  // -100: left out (ignore_index)
  return torch::nn::functional::cross_entropy(scored_logits(m, b, dev, bf16).view({-1, kVocab}), tgt.reshape({-1}));
}

void clear_grads(const std::vector<torch::Tensor>& params) {
  for (auto p : params) p.mutable_grad().reset();
}

// ---- optimizer -------------------------------------------------------------------------------

void adamw_step(torch::optim::AdamW& opt) {
  torch::NoGradGuard ng;
  auto& state = opt.state();
  for (auto& group : opt.param_groups()) {
    const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
    TORCH_CHECK(!o.amsgrad(), "adamw_step: amsgrad is not supported");
    // Parameters with a gradient, grouped by their step count (all equal in a normal run).
    struct Group {
      std::vector<torch::Tensor> params, grads, exp_avg, exp_avg_sq;
    };
    std::map<int64_t, Group> by_step;
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      const auto key = compat::state_key(state, p);
      auto it = state.find(key);
      if (it == state.end()) {
        auto st = std::make_unique<torch::optim::AdamWParamState>();
        st->step(0);
        st->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        st->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = state.insert({key, std::move(st)}).first;
      }
      auto& st = static_cast<torch::optim::AdamWParamState&>(*it->second);
      Group& g = by_step[st.step()];
      st.step(st.step() + 1);
      g.params.push_back(p);
      g.grads.push_back(p.grad());
      g.exp_avg.push_back(st.exp_avg());
      g.exp_avg_sq.push_back(st.exp_avg_sq());
    }
    for (auto& [step0, g] : by_step) {
      auto &ps = g.params, &gs = g.grads, &m = g.exp_avg, &v = g.exp_avg_sq;
      const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
      const double bc1 = 1 - std::pow(beta1, double(step0 + 1)), bc2 = 1 - std::pow(beta2, double(step0 + 1));
      if (o.weight_decay() != 0) at::_foreach_mul_(ps, c10::Scalar(1 - o.lr() * o.weight_decay()));
      at::_foreach_mul_(m, c10::Scalar(beta1));
      at::_foreach_add_(m, gs, c10::Scalar(1 - beta1));
      at::_foreach_mul_(v, c10::Scalar(beta2));
      at::_foreach_addcmul_(v, gs, gs, c10::Scalar(1 - beta2));
      auto denom = at::_foreach_sqrt(v);
      at::_foreach_div_(denom, c10::Scalar(std::sqrt(bc2)));
      at::_foreach_add_(denom, c10::Scalar(o.eps()));
      at::_foreach_addcdiv_(ps, m, denom, c10::Scalar(-o.lr() / bc1));
    }
  }
}

torch::Tensor clip_grad_norm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard ng;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return torch::zeros({});
  const auto norms = at::_foreach_norm(grads, c10::Scalar(2.0));
  const auto total = torch::stack(norms).norm(2);
  // The factor as clip_grad_norm_ computes it (in the gradients' precision), applied on the
  // device: a factor of 1 leaves the gradients as they are.
  if (max_norm > 0) compat::foreach_mul_(grads, (max_norm / (total + 1e-6)).clamp_max(1.0));
  return total;
}

// ---- checkpoints -----------------------------------------------------------------------------

torch::Tensor string_tensor(const std::string& s) {
  auto t = torch::empty({int64_t(s.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
  return t;
}
std::string tensor_string(const torch::Tensor& t) {
  auto c = t.contiguous().to(torch::kCPU);
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), size_t(c.numel()));
}

void save_checkpoint(const std::string& path, BGPT& m, torch::optim::Optimizer* opt, const json& meta) {
  torch::serialize::OutputArchive a, ma, oa;
  m->save(ma);
  a.write("model", ma);
  if (opt) {
    opt->save(oa);
    a.write("optimizer", oa);
  }
  a.write("meta", string_tensor(meta.dump()));
  const std::string tmp = temp_sibling(path).string();
  try {
    a.save_to(tmp);
  } catch (const std::exception& e) {
    std::remove(tmp.c_str());
    throw Error(path + ": cannot write checkpoint: " + e.what());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw Error(path + ": cannot rename checkpoint into place: " + ec.message());
}

Checkpoint load_checkpoint(const std::string& path, const torch::Device& device) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such checkpoint");
  Checkpoint c;
  torch::serialize::InputArchive a;
  try {
    a.load_from(path, device);
  } catch (const std::exception&) {
    throw Error(path + ": not a cpusim checkpoint (unreadable archive); make one with cpusim train");
  }
  torch::Tensor meta;
  try {
    a.read("meta", meta);
    c.meta = json::parse(tensor_string(meta));
    if (c.meta.value("format", "") != "cpusim-checkpoint") throw std::runtime_error("format");
    c.model_config = model_from_json(c.meta.at("model"));
    c.isa = isa::default_config(isa::parse_profile(c.meta.at("isa").at("profile").get<std::string>()));
    c.isa.memory_size = c.meta.at("isa").at("memory_size");
    c.isa.program_size = c.meta.at("isa").at("program_size");
    c.isa.step_limit = c.meta.at("isa").at("step_limit");
    if (c.meta.at("isa").at("table_hash").get<std::string>() != std::to_string(isa::table_hash(c.isa.profile)))
      throw Error(path + ": made for another version of the " + std::string(isa::profile_name(c.isa.profile)) +
                  " opcode table");
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(path + ": damaged or foreign checkpoint (" + e.what() + "); make one with cpusim train");
  }
  c.model = BGPT(c.model_config);
  try {
    torch::serialize::InputArchive ma;
    a.read("model", ma);
    c.model->load(ma);
  } catch (const std::exception& e) {
    throw Error(path + ": checkpoint weights do not match its configuration");
  }
  c.model->to(device);
  c.archive = std::move(a);
  return c;
}

json isa_json(const isa::Config& c) {
  return {{"profile", std::string(isa::profile_name(c.profile))},
          {"memory_size", c.memory_size},
          {"program_size", c.program_size},
          {"step_limit", isa::step_limit(c)},
          {"table_hash", std::to_string(isa::table_hash(c.profile))}};
}

// ---- evaluation ------------------------------------------------------------------------------

EvalResult evaluate(BGPT& m, const Split& data, const Layout& l, bool loss_on_all, int batch,
                    const torch::Device& dev, bool bf16) {
  torch::NoGradGuard ng;
  m->eval();
  EvalResult r;
  // Summed on the device (the loss in double, as the host summed it) and read once at the end.
  auto loss_sum = torch::zeros({}, torch::TensorOptions().dtype(torch::kDouble).device(dev));
  auto correct = torch::zeros({}, torch::TensorOptions().dtype(torch::kLong).device(dev));
  int64_t bytes = 0;
  for (uint64_t first = 0; first < data.count(); first += batch) {
    std::vector<uint64_t> idx;
    for (uint64_t i = first; i < std::min<uint64_t>(first + batch, data.count()); ++i) idx.push_back(i);
    const OnDevice sc = to_device(make_batch(data, idx, l, loss_on_all, m->config.max_patches), dev);
    const auto& tgt = sc.targets;                       // (N, S)
    const auto logits = scored_logits(m, sc, dev, bf16);  // (N, S, V)
    loss_sum += torch::nn::functional::cross_entropy(logits.view({-1, kVocab}), tgt.view({-1}),
                                                     torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .to(torch::kDouble);
    correct += (logits.argmax(-1) == tgt).sum();
    bytes += tgt.numel();
  }
  m->train();
  r.loss = bytes ? loss_sum.item<double>() / bytes : 0;
  r.byte_accuracy = bytes ? double(correct.item<int64_t>()) / bytes : 0;
  return r;
}

// ---- training --------------------------------------------------------------------------------

torch::Device pick_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    if (!torch::cuda::is_available()) throw Error("--device cuda: no CUDA device is available to this libtorch");
    compat::prefer_flash_attention();
    return torch::kCUDA;
  }
  throw Error("--device " + name + ": expected cpu or cuda");
}

static bool cpu_has_bf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

bool use_bf16(const std::string& precision, const torch::Device& dev) {
  if (precision == "fp32") return false;
  if (precision == "bf16") return true;
  if (precision == "auto") return dev.is_cuda() || cpu_has_bf16();
  throw Error("--precision " + precision + ": expected auto, bf16 or fp32");
}

// bf16 products on the CPU run in oneDNN on libtorch's own threads, which Debian's build leaves
// at 1; fp32 products run in OpenBLAS's threads, and more libtorch threads beside them only
// compete for the cores (measured: 30 steps of `small` take 21 s with 1, 31 s with 2).
void set_cpu_threads(int threads, bool bf16, const torch::Device& dev) {
  static const int library_default = torch::get_num_threads();  // before this function changes it
  if (threads > 0) torch::set_num_threads(threads);
  else if (bf16 && !dev.is_cuda()) torch::set_num_threads(int(std::max(1u, std::thread::hardware_concurrency())));
  else torch::set_num_threads(library_default);
}

// --timing: where a training step's time goes. Each lap waits for the device, so on a GPU the
// phases are the device's time for them (and the run is a little slower than without).
enum class Phase { batch, forward, backward, clip, optimizer, other, count };

class PhaseTimer {
 public:
  PhaseTimer(bool on, const torch::Device& dev) : on_(on), cuda_(dev.is_cuda()) {}
  void start() {
    if (on_) last_ = now();
  }
  void lap(Phase p) {
    if (!on_) return;
    const double t = now();
    secs_[size_t(p)] += t - last_;
    last_ = t;
  }
  std::string report(int64_t steps) const {
    static const char* names[] = {"batch", "forward", "backward", "clip", "optimizer", "log/eval/checkpoint"};
    double total = 0;
    for (double s : secs_) total += s;
    std::string r = "train: time per step " + fmt_ms(total, steps) + " ms:";
    for (size_t i = 0; i < size_t(Phase::count); ++i)
      r += std::string(i ? "," : "") + " " + names[i] + " " + fmt_ms(secs_[i], steps);
    return r + (cuda_ ? " (device synchronised after each phase)" : "");
  }

 private:
  double now() const {
    if (cuda_) torch::cuda::synchronize();
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  static std::string fmt_ms(double secs, int64_t steps) {
    char b[32];
    std::snprintf(b, sizeof b, "%.1f", steps ? 1000 * secs / double(steps) : 0.0);
    return b;
  }
  bool on_, cuda_;
  double last_ = 0;
  std::array<double, size_t(Phase::count)> secs_{};
};

// Ends a --profile trace: written to a temporary name first, then into place.
static void finish_trace(std::unique_ptr<compat::OperatorTrace>& trace, const std::string& path,
                         const torch::Device& dev, int64_t steps) {
  if (dev.is_cuda()) torch::cuda::synchronize();
  try {
    trace->finish();
  } catch (const std::exception& e) {
    throw Error(e.what());
  }
  trace.reset();
  std::error_code ec;
  fs::rename(temp_sibling(path), path, ec);
  if (ec) throw Error(path + ": cannot write the profile: " + ec.message());
  std::cerr << "train: operator trace of " << steps << " steps written to " << path << "\n";
}

TrainSummary train(const TrainConfig& t) {
  const torch::Device dev = pick_device(t.device);
  const bool bf16 = use_bf16(t.precision, dev);
  set_cpu_threads(t.threads, bf16, dev);
  if (t.loss_on != "states" && t.loss_on != "all") throw Error("--loss-on " + t.loss_on + ": expected states or all");
  if (t.cuda_graphs && !t.profile.empty())  // the profiler's CUDA events would land inside captures
    throw Error("--profile and --cuda-graphs together: a graph replay has no operators to time; profile without --cuda-graphs");
  const bool loss_on_all = t.loss_on == "all";
  datagen::H5Reader reader(t.data);
  const isa::Config isa_cfg = reader.info().isa;
  const Layout l = layout_of(isa_cfg);
  const Split train_set = load_split(reader, 0, 0);
  const Split test_set = load_split(reader, 1, uint64_t(t.eval_traces));
  if (train_set.count() == 0) throw Error(t.data + ": the train split is empty");
  const int64_t max_trace_patches = [&] {
    int64_t m = 0;
    for (uint64_t i = 0; i < train_set.count(); ++i) m = std::max<int64_t>(m, int64_t(train_set.size(i) / 16));
    return m;
  }();
  if (max_trace_patches + 1 > t.model.max_patches)
    std::cerr << "train: warning: traces of up to " << max_trace_patches + 1 << " patches exceed the model's "
              << t.model.max_patches << "; longer traces are cut\n";

  std::error_code ec;
  fs::create_directories(t.out_dir, ec);
  if (ec) throw Error(t.out_dir + ": cannot create run folder: " + ec.message());
  if (!t.profile.empty()) {  // fail now, not after the steps it is to record
    const auto tmp = temp_sibling(t.profile);
    if (!std::ofstream(tmp)) throw Error(t.profile + ": cannot write the profile");
    fs::remove(tmp, ec);
  }
  const std::string ckpt_path = (fs::path(t.out_dir) / "checkpoint.pt").string();
  const std::string final_path = (fs::path(t.out_dir) / "model.pt").string();
  const std::string log_path = (fs::path(t.out_dir) / "log.jsonl").string();

  const uint64_t per_step = uint64_t(t.batch) * uint64_t(t.accum);
  const int64_t total_steps =
      t.steps > 0 ? t.steps : std::max<int64_t>(1, int64_t(std::ceil(t.epochs * train_set.count() / double(per_step))));
  const std::string dataset_id = datagen::hex(datagen::md5(std::span<const uint8_t>(
      train_set.bytes.data(), std::min<size_t>(train_set.bytes.size(), 1 << 20)))) + ":" + std::to_string(train_set.count());

  torch::manual_seed(t.seed);
  BGPT m(t.model);
  m->to(dev);
  torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(t.lr).betas({0.9, 0.95}).weight_decay(t.weight_decay));
  int64_t step = 0;
  json meta_base = {{"format", "cpusim-checkpoint"}, {"version", 1},         {"preset", t.preset},
                    {"model", to_json(t.model)},     {"isa", isa_json(isa_cfg)}, {"dataset", dataset_id},
                    {"data", t.data},                {"loss_on", t.loss_on},  {"seed", t.seed},
                    {"batch", t.batch},              {"accum", t.accum},      {"total_steps", total_steps}};

  if (t.resume) {
    Checkpoint c = load_checkpoint(ckpt_path, dev);
    if (c.meta.at("preset") != t.preset || c.meta.at("model") != to_json(t.model))
      throw Error(ckpt_path + ": made with preset " + c.meta.at("preset").get<std::string>() + " " +
                  c.meta.at("model").dump() + ", not " + t.preset + "; resume with the same preset and options");
    if (c.meta.at("isa") != isa_json(isa_cfg))
      throw Error(ckpt_path + ": made for ISA " + c.meta.at("isa").dump() + ", but " + t.data + " is " +
                  isa_json(isa_cfg).dump());
    if (c.meta.at("dataset") != dataset_id)
      throw Error(ckpt_path + ": trained on another dataset (" + c.meta.at("data").get<std::string>() + ")");
    if (c.meta.at("batch") != t.batch || c.meta.at("accum") != t.accum || c.meta.at("seed") != t.seed)
      throw Error(ckpt_path + ": made with another --batch/--accum/--seed; resume with the same ones");
    {
      torch::NoGradGuard g;
      auto src = c.model->parameters();
      auto dst = m->parameters();
      for (size_t i = 0; i < dst.size(); ++i) dst[i].copy_(src[i]);
    }
    torch::serialize::InputArchive oa;
    c.archive.read("optimizer", oa);
    opt.load(oa);
    step = c.meta.at("step");
    if (!t.quiet) std::cerr << "train: resumed from " << ckpt_path << " at step " << step << "\n";
  }
  int64_t params = 0;
  for (const auto& p : m->parameters()) params += p.numel();
  write_file_atomic((fs::path(t.out_dir) / "config.json").string(), config_json(t, params) + "\n");
  std::ofstream log(log_path, t.resume ? std::ios::app : std::ios::trunc);
  if (!log) throw Error(log_path + ": cannot write");

  // Sampling order: a permutation per epoch from (seed, epoch); position = step * per_step.
  std::vector<uint64_t> order;
  int64_t order_epoch = -1;
  auto sample = [&](uint64_t pos) {
    const int64_t epoch = int64_t(pos / train_set.count());
    if (epoch != order_epoch) {
      order.resize(train_set.count());
      for (uint64_t i = 0; i < order.size(); ++i) order[i] = i;
      datagen::Rng rng = datagen::Rng::for_item(t.seed ^ 0x5eedull, uint64_t(epoch));
      for (uint64_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.below(uint32_t(i + 1))]);
      order_epoch = epoch;
    }
    return order[pos % train_set.count()];
  };
  // With a time budget the cosine also follows the clock (whichever is further along), so the
  // rate has decayed when the budget ends; runs with a budget then depend on the machine's speed.
  double budget_used = 0;
  auto lr_at = [&](int64_t s) {
    if (s < t.warmup) return t.lr * double(s + 1) / t.warmup;
    const double p = std::max(double(s - t.warmup) / std::max<int64_t>(1, total_steps - t.warmup), budget_used);
    return t.lr * (t.min_lr_ratio + (1 - t.min_lr_ratio) * 0.5 * (1 + std::cos(M_PI * std::min(1.0, p))));
  };

  // A step's batches (one per accumulation), on the device.
  auto batches_for = [&](int64_t s) {
    std::vector<OnDevice> v;
    for (int a = 0; a < t.accum; ++a) {
      std::vector<uint64_t> idx;
      for (int i = 0; i < t.batch; ++i) idx.push_back(sample(uint64_t(s) * per_step + uint64_t(a) * t.batch + i));
      v.push_back(to_device(make_batch(train_set, idx, l, loss_on_all, t.model.max_patches), dev));
    }
    return v;
  };
  std::vector<OnDevice> next;
  ForwardBackward step_fb(m, dev, bf16, t.accum, t.cuda_graphs);

  TrainSummary sum;
  sum.start_step = step;
  if (test_set.count()) {  // where held-out loss and accuracy start (before the time budget starts)
    const EvalResult e0 = evaluate(m, test_set, l, loss_on_all, t.batch, dev, bf16);
    sum.start_eval_loss = e0.loss;
    sum.start_eval_byte_accuracy = e0.byte_accuracy;
    if (!t.quiet) {
      char line[160];
      std::snprintf(line, sizeof line, "train: at step %lld: held-out loss %.4f, teacher-forced byte accuracy %.2f%%\n",
                    (long long)step, e0.loss, 100 * e0.byte_accuracy);
      std::cerr << line;
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  int64_t bytes_done = 0;
  double last_print = -1;
  auto checkpoint = [&](int64_t s) {
    json meta = meta_base;
    meta["step"] = s;
    meta["data_position"] = uint64_t(s) * per_step;
    meta["rng"] = {{"seed", t.seed}, {"epoch", int64_t(uint64_t(s) * per_step / train_set.count())}};
    save_checkpoint(ckpt_path, m, &opt, meta);
  };
  m->train();
  EvalResult ev;
  const int64_t first_step = step;
  PhaseTimer timer(t.timing, dev);
  // --profile: steps 3..7 of this invocation (past the first steps' one-off costs).
  std::unique_ptr<compat::OperatorTrace> trace;
  constexpr int64_t kProfileFrom = 2, kProfileSteps = 5;
  while (step < total_steps) {
    if (!t.profile.empty() && step - first_step == kProfileFrom) {
      if (dev.is_cuda()) torch::cuda::synchronize();
      trace = std::make_unique<compat::OperatorTrace>(temp_sibling(t.profile).string(), dev.is_cuda());
    }
    if (trace && step - first_step == kProfileFrom + kProfileSteps) finish_trace(trace, t.profile, dev, kProfileSteps);
    if (t.stop_after > 0 && step - first_step >= t.stop_after) break;
    if (t.max_minutes > 0 && elapsed() > 60 * t.max_minutes) {
      if (!t.quiet) std::cerr << "\ntrain: time budget of " << t.max_minutes << " min reached at step " << step << "\n";
      break;
    }
    if (t.max_minutes > 0) budget_used = elapsed() / (60 * t.max_minutes);
    const double lr = lr_at(step);
    for (auto& g : opt.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    timer.start();
    if (next.empty()) next = batches_for(step);
    const std::vector<OnDevice> batches = std::exchange(next, {});
    timer.lap(Phase::batch);
    clear_grads(m->parameters());
    torch::Tensor loss_sum = torch::zeros({}, torch::TensorOptions().device(dev));
    for (size_t a = 0; a < batches.size(); ++a) {
      // Forward and backward; with --cuda-graphs one graph replay, timed as backward.
      loss_sum += step_fb.run(batches[a], a == 0, [&] { timer.lap(Phase::forward); });
      bytes_done += batches[a].bytes;
      timer.lap(Phase::backward);
    }
    clip_grad_norm(m->parameters(), t.clip);
    timer.lap(Phase::clip);
    adamw_step(opt);
    timer.lap(Phase::optimizer);
    // The next step's batches are made (and on a GPU, copied) while the device works on this
    // one; then the step's one wait for the device: its loss. A non-finite loss has reached the
    // weights by then, but they are not saved: the last checkpoint stays the last good one.
    if (step + 1 < total_steps) next = batches_for(step + 1);
    timer.lap(Phase::batch);
    const double loss = loss_sum.item<double>() / t.accum;
    if (!std::isfinite(loss)) {
      std::cerr << "\ntrain: loss is " << loss << " at step " << step << "; stopping. The last good checkpoint is "
                << ckpt_path << "\n";
      sum.stopped_on_nan = true;
      break;
    }
    ++step;
    sum.final_loss = loss;
    const bool do_eval = (t.eval_every > 0 && step % t.eval_every == 0) || step == total_steps;
    if (do_eval && test_set.count()) ev = evaluate(m, test_set, l, loss_on_all, t.batch, dev, bf16);
    const double secs = elapsed();
    json row = {{"step", step}, {"loss", loss}, {"lr", lr}, {"seconds", secs}, {"bytes_per_s", bytes_done / secs}};
    if (do_eval && test_set.count()) {
      row["eval_loss"] = ev.loss;
      row["eval_byte_accuracy"] = ev.byte_accuracy;
    }
    log << row.dump() << "\n";
    log.flush();
    if (!t.quiet && (secs - last_print > (isatty(2) ? 0.5 : 10) || do_eval || step == total_steps)) {
      last_print = secs;
      double eta = secs / (step - first_step) * (total_steps - step);
      if (t.max_minutes > 0) eta = std::min(eta, std::max(0.0, 60 * t.max_minutes - secs));
      char line[256];
      std::snprintf(line, sizeof line, "%sstep %lld/%lld  loss %.4f  lr %.2e  %.0f B/s  %.1fs  ETA %.0fs%s",
                    isatty(2) ? "\r" : "", (long long)step, (long long)total_steps, loss, lr, bytes_done / secs, secs,
                    eta, isatty(2) ? "" : "\n");
      std::cerr << line;
      if (do_eval && test_set.count()) {
        std::snprintf(line, sizeof line, "%s  held-out loss %.4f, teacher-forced byte accuracy %.2f%%\n",
                      isatty(2) ? "\n" : "", ev.loss, 100 * ev.byte_accuracy);
        std::cerr << line;
      }
    }
    if (t.checkpoint_every > 0 && step % t.checkpoint_every == 0) checkpoint(step);
    timer.lap(Phase::other);
  }
  if (trace) finish_trace(trace, t.profile, dev, step - first_step - kProfileFrom);
  if (t.timing) std::cerr << timer.report(step - first_step) << "\n";
  if (t.cuda_graphs && !t.quiet) std::cerr << "train: " << step_fb.describe() << "\n";
  if (!sum.stopped_on_nan) {
    if (test_set.count() && ev.loss == 0) ev = evaluate(m, test_set, l, loss_on_all, t.batch, dev, bf16);
    checkpoint(step);
    fs::copy_file(ckpt_path, temp_sibling(final_path), fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(temp_sibling(final_path), final_path, ec);
    if (ec) throw Error(final_path + ": cannot write: " + ec.message());
  }
  if (!t.quiet && isatty(2)) std::cerr << "\n";
  sum.steps = step;
  sum.seconds = elapsed();
  sum.eval_loss = ev.loss;
  sum.eval_byte_accuracy = ev.byte_accuracy;
  return sum;
}

}  // namespace cpusim::model
