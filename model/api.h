// model/api.h: what the rest of cpusim calls in model/, without torch headers: training,
// parameter counts, and a loaded model that predicts states (a harness::Predictor).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "harness/evaluate.h"
#include "harness/predictor.h"
#include "isa/isa.h"
#include "model/config.h"

namespace cpusim::model {

// This process's rank in a data-parallel launch (RANK when WORLD_SIZE > 1; else 0).
int dist_rank();
// The launch's processes as a harness::Collective for sharded evaluation (c10d, Gloo), after the
// rendezvous; null without WORLD_SIZE > 1. `timeout_s` bounds each wait for the other ranks.
std::unique_ptr<harness::Collective> launch_collective(int timeout_s);
// How `evaluate_model` runs: the Simulator's device, threads (0: libtorch's default; with procs
// > 1, the cores shared out) and precision; procs > 1 (CPU): that many processes of this
// machine; timeout_s: how long a rank waits for the others.
struct EvalRun {
  std::string decode = "draft";  // the Simulator's byte decoding (Decode)
  std::string device = "cpu";
  int threads = 0;
  std::string precision = "auto";
  int procs = 1;
  int timeout_s = 300;
};
// `cpusim eval` and the pipeline's eval stage: `c` with the model of `checkpoint`. Launched as
// several processes (WORLD_SIZE > 1): this rank predicts its share and rank 0 scores all of them
// (`*leader` tells which this is; only the leader's result is whole). Else with run.procs > 1:
// procs - 1 processes forked on this machine (LocalRanks) share the predictions with this one,
// which scores them and writes the report and predictions one process would write.
harness::EvalResult evaluate_model(const std::string& checkpoint, harness::EvalConfig c,
                                   const EvalRun& run, bool* leader = nullptr);
// The libtorch this binary runs on ("1.13.0").
std::string torch_version();
// Parameters of a model built from `c` (builds it on the CPU).
int64_t parameter_count(const ModelConfig& c);
// The resolved configuration as JSON text (for --dry-run and config.json).
std::string config_json(const TrainConfig& t, int64_t parameters);

struct TrainSummary {
  int64_t steps = 0;
  double seconds = 0;
  double final_loss = 0;
  double eval_loss = 0;
  double eval_byte_accuracy = 0;
  // The held-out figures before this invocation's first step (the start, or the resumed model).
  double start_eval_loss = 0;
  double start_eval_byte_accuracy = 0;
  int64_t start_step = 0;
  bool stopped_on_nan = false;
};
TrainSummary train(const TrainConfig& t);
// "train: N steps in S s; final loss ...; held-out loss ... (... at step K), teacher-forced byte
// accuracy ...%" (one line, with its newline).
std::string summary_line(const TrainSummary& s);
// The same as a JSON object's text (`cpusim train --json`): steps, seconds, final_loss, eval_loss,
// eval_byte_accuracy, start_step, start_eval_loss, start_eval_byte_accuracy, stopped_on_nan,
// run_dir.
std::string summary_json(const TrainSummary& s, const std::string& run_dir);

// `cpusim model info`: what a model file holds: its configuration, parameters, ISA, training data
// identity and steps (model/interop.cpp).
nlohmann::json model_info(const std::string& path);
// `cpusim model export`: the model of `path` as `format`: "safetensors" (weights, with the
// configuration and the checkpoint's record as header metadata), "torch" (a state_dict of cpusim's
// names that Python's torch.load reads) or "paper" ({'model': state_dict} with the names of the
// paper's bGPTLMHeadModel; the paper's architecture only). Written atomically.
void export_model(const std::string& path, const std::string& format, const std::string& out);
// `cpusim model import`: a cpusim safetensors export, or the paper's checkpoint (torch.save's zip:
// {'model': state_dict} or a bare state_dict; sizes from the shapes, `heads` or width / 64, the
// begin patch `begin_patch` ("bin": the paper's; "pad": cpusim's, for its own exports), for the
// machine `isa`), as a cpusim model file.
void import_model(const std::string& path, const isa::Config& isa, int heads,
                  const std::string& out, const std::string& begin_patch = "bin");

// How the Simulator decodes a patch's bytes, greedily either way, to the same bytes:
// bytewise: one byte-decoder pass per byte (KV-cached), the reference; draft: one pass over a
// whole drafted patch checks all its bytes at once, again from the first byte the model
// disagrees with (BGPTImpl::byte_draft). Drafts: in teacher mode the true next state, in
// rollouts the previous predicted state.
enum class Decode { bytewise, draft };
Decode parse_decode(const std::string& name);  // "bytewise" or "draft"; else a one-line Error
const char* decode_name(Decode d);

// A trained model loaded from a checkpoint, on the CPU or CUDA. `precision` as for training
// (auto, bf16, fp32); threads 0: libtorch's default, or one per core for bf16 on the CPU.
class Simulator : public harness::Predictor {
 public:
  Simulator(const std::string& checkpoint, const std::string& device = "cpu", int threads = 0,
            const std::string& precision = "fp32");
  ~Simulator() override;
  const isa::Config& isa() const override;
  const ModelConfig& config() const;
  int64_t parameters() const;
  void set_decode(Decode d);  // draft unless set

  // Teacher mode: for each trace (image + true states), the prediction of every state after the
  // first from the true history before it: state_bytes * (states - 1) values per trace, each a
  // byte or 256 (the model predicted the end symbol). A state spanning several patches (toy)
  // is predicted patch by patch with the true earlier patches of that state.
  std::vector<std::vector<int16_t>> predict_teacher(
      const std::vector<std::span<const uint8_t>>& traces) override;

  // Rollout: from the image and initial state only, feeding back its own states, until a
  // predicted state's IR is HLT, the model predicts the end symbol, or `max_steps` states.
  // Returns, per program, the predicted states after the first. Batched over programs; the
  // patch decoder keeps a KV cache (use_cache = false recomputes the whole history each patch).
  std::vector<std::vector<uint8_t>> rollout(const std::vector<std::span<const uint8_t>>& prefixes,
                                            int max_steps, bool use_cache);
  std::vector<std::vector<uint8_t>> rollout(const std::vector<std::span<const uint8_t>>& prefixes,
                                            int max_steps) override {
    return rollout(prefixes, max_steps, true);
  }
  // {"model": checkpoint path, "parameters": N, "copy_path": bool, "decode": ..., ...}, for
  // reports.
  nlohmann::json describe() const override;
  // {patch rows decoded, byte-decoder passes over them} since it was loaded (bytewise: 16 per
  // patch); a group's other ranks' are added to rank 0's.
  std::vector<uint64_t> work_counts() const override;
  void add_work_counts(const std::vector<uint64_t>& other) override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cpusim::model
