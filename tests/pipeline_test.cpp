// tests/pipeline_test.cpp: the model commands end to end at toy size: the smoke pipeline writes
// every report file, eval's byte accuracy equals verify's on the written predictions, and the
// toy profile trains and evaluates too (its states span several patches).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/io.h"
#include "tests/test_util.h"

namespace cpusim {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(Pipeline, SmokeRunWritesReportsAndAgreesWithVerify) {
  const std::string d = test::temp_dir("pipeline");
  const std::string bin = test::cpusim_bin();
  auto r = test::shell(bin + " pipeline --preset smoke --device cpu -o " + d + "/p");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* f :
       {"data.h5", "model.pt", "run/log.jsonl", "run/checkpoint.pt", "run/config.json",
        "report-teacher/report.json", "report-teacher/report.md", "report-rollout/report.json",
        "report-rollout/report.md", "run/best.pt", "curves.png", "curves.png.dat",
        "report-rollout/by-step.png", "report-teacher/by-step.png"})
    EXPECT_TRUE(fs::exists(d + "/p/" + f)) << f;
  // Accuracy by step index: one row per state index scored, linked from report.md.
  {
    std::ifstream dat(d + "/p/report-rollout/by-step.dat"), md(d + "/p/report-rollout/report.md");
    int rows = 0;
    for (std::string line; std::getline(dat, line);) rows += !line.empty() && line[0] != '#';
    EXPECT_EQ(rows, int(read_json(d + "/p/report-rollout/report.json")["per_step"].size()));
    EXPECT_GE(rows, 2);
    const std::string text((std::istreambuf_iterator<char>(md)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("](by-step.png)"), std::string::npos);
  }
  const auto rollout = read_json(d + "/p/report-rollout/report.json");
  // The records of what made the results: the build and the machine, in config.json and reports.
  const auto cfg = read_json(d + "/p/run/config.json");
  EXPECT_FALSE(cfg["build"]["commit"].get<std::string>().empty());
  EXPECT_FALSE(cfg["build"]["libtorch"].get<std::string>().empty());
  EXPECT_EQ(cfg["machine"]["device"], "cpu");
  EXPECT_TRUE(cfg["machine"].contains("cpu_features"));
  EXPECT_EQ(rollout["build"]["commit"], cfg["build"]["commit"]);
  EXPECT_EQ(rollout["machine"]["device_name"], cfg["machine"]["device_name"]);
  // cpusim plot draws a run's curves; the training data as numbers beside the PNG.
  r = test::shell(bin + " plot -q " + d + "/p/run a=" + d + "/p/run -o " + d + "/p/two.png");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_GT(fs::file_size(d + "/p/two.png"), 1000u);
  std::ifstream dat(d + "/p/two.png.dat");
  int train_rows = 0;
  for (std::string line; std::getline(dat, line);) train_rows += !line.empty() && line[0] != '#';
  EXPECT_GE(train_rows, 2 * 20);  // 20 steps per run at least
  r = test::shell(bin + " plot " + d + "/nothing -o " + d + "/x.png");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("log.jsonl: cannot open"), std::string::npos) << r.output;
  // pipeline --json: one object with each stage's summary; bad --stages refused before any work.
  r = test::shell(bin + " pipeline --preset smoke --stages train --json -o " + d + "/p");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto pj = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(pj["train"]["steps"], 20);
  r = test::shell(bin + " pipeline --preset smoke --stages datagen,trian -o " + d + "/q");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("unknown stage 'trian'"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d + "/q"));
  for (const char* k : {"traces", "states", "byte_accuracy", "state_accuracy",
                        "changed_byte_accuracy", "baseline", "per_opcode", "first_divergence"})
    EXPECT_TRUE(rollout.contains(k)) << k;
  r = test::shell(bin + " verify --isa bgpt --memory-size 64 --json " + d +
                  "/p/predictions-rollout");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto v = nlohmann::json::parse(r.output);
  EXPECT_EQ(v["matched_bytes"], rollout["matched_bytes"]);
  EXPECT_EQ(v["state_bytes"], rollout["state_bytes"]);
  EXPECT_DOUBLE_EQ(v["byte_accuracy"].get<double>(), rollout["byte_accuracy"].get<double>());
  // Predictions in the paper's layout (1024-byte image) score the same with a 1024-byte machine.
  r = test::shell(bin + " eval --model " + d + "/p/model.pt --data " + d +
                  "/p/data.h5 --mode rollout -q --paper-layout" + " --write-predictions " + d +
                  "/p/paper-preds -o " + d + "/p/paper-report");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const auto& e : fs::directory_iterator(d + "/p/paper-preds")) {
    if (e.path().extension() != ".bin") continue;
    EXPECT_GE(fs::file_size(e.path()), 1024u + 16u) << e.path();
    EXPECT_EQ((fs::file_size(e.path()) - 1024) % 16, 0u) << e.path();
  }
  r = test::shell(bin + " verify --isa bgpt --json " + d + "/p/paper-preds");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto vp = nlohmann::json::parse(r.output);
  const auto paper = read_json(d + "/p/paper-report/report.json");
  EXPECT_EQ(vp["matched_bytes"], paper["matched_bytes"]);
  EXPECT_EQ(vp["state_bytes"], paper["state_bytes"]);
  EXPECT_EQ(paper["traces_run_differently_in_1024_bytes"], 0);  // programs of up to 6 instructions
  // The two decoders: the same report figures and the same predictions, file for file.
  for (const std::string mode : {"teacher", "rollout"}) {
    std::map<std::string, nlohmann::json> rep;
    for (const std::string dec : {"bytewise", "draft"}) {
      const std::string out = d + "/p/" + mode + "-" + dec;
      r = test::shell(bin + " eval --model " + d + "/p/model.pt --data " + d +
                      "/p/data.h5 -q --mode " + mode + " --decode " + dec +
                      " --write-predictions " + out + "-preds -o " + out);
      ASSERT_EQ(r.status, 0) << r.output;
      rep[dec] = read_json(out + "/report.json");
      EXPECT_EQ(rep[dec]["decode"], dec);
    }
    for (const char* k : {"byte_accuracy", "state_accuracy", "changed_byte_accuracy",
                          "matched_bytes", "state_bytes", "per_opcode", "first_divergence"})
      EXPECT_EQ(rep["bytewise"][k], rep["draft"][k]) << mode << " " << k;
    EXPECT_EQ(rep["bytewise"]["decoder_passes_per_patch"], 16.0);
    EXPECT_GE(rep["draft"]["decoder_passes_per_patch"].get<double>(), 1.0);
    EXPECT_LE(rep["draft"]["decoder_passes_per_patch"].get<double>(), 16.0);
    int files = 0;
    for (const auto& e : fs::directory_iterator(d + "/p/" + mode + "-bytewise-preds")) {
      const fs::path other = d + "/p/" + mode + "-draft-preds/" + e.path().filename().string();
      EXPECT_EQ(read_file(e.path()), read_file(other)) << other;
      ++files;
    }
    EXPECT_GT(files, 10) << mode;
  }
  r = test::shell(bin + " eval --model " + d + "/p/model.pt --data " + d +
                  "/p/data.h5 --decode greedy -o " + d + "/p/never");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--decode greedy: expected bytewise or draft"), std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(d + "/p/never"));
  // A set with the paper's 1024-byte memory is refused by the 64-byte model, with the way round.
  r = test::shell(bin + " datagen --isa bgpt --max-len 6 --train 0 --test 10 -q -o " + d +
                  "/p1024.h5");
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::shell(bin + " eval --model " + d + "/p/model.pt --data " + d + "/p1024.h5 -q -o " + d +
                  "/p/x");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--memory-size 64, the data is --isa bgpt --memory-size 1024"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("--paper-layout"), std::string::npos) << r.output;
  // Re-running one stage alone works from the files on disk.
  r = test::shell(bin + " pipeline --preset smoke --stages eval -o " + d + "/p");
  EXPECT_EQ(r.status, 0) << r.output;
}

std::vector<double> log_losses(const std::string& path) {
  std::vector<double> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const auto row = nlohmann::json::parse(line);
    EXPECT_EQ(row["step"].get<size_t>(), out.size() + 1) << path;
    out.push_back(row["loss"].get<double>());
  }
  return out;
}

// A run made in pieces (--stop-after, a time budget, then --resume) is the uninterrupted run:
// the same set, the same loss at every step, and the evaluations of the finished model.
TEST(Pipeline, ARunMadeInPiecesIsOneRun) {
  const std::string d = test::temp_dir("pipeline-pieces");
  const std::string bin = test::cpusim_bin();
  auto r = test::shell(bin + " pipeline --preset smoke --stages datagen,train -q -o " + d + "/a");
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::shell(bin + " pipeline --preset smoke --stop-after 7 -o " + d + "/b");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(log_losses(d + "/b/run/log.jsonl").size(), 7u);
  const auto set_time = fs::last_write_time(d + "/b/data.h5");
  // The next piece: a time budget far shorter than the rest of the run.
  r = test::shell(bin + " pipeline --preset smoke --resume --max-minutes 0.0005 -o " + d + "/b");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("datagen (kept: --resume)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("at step 7)"), std::string::npos) << r.output;  // where it started
  EXPECT_GE(log_losses(d + "/b/run/log.jsonl").size(), 8u);
  r = test::shell(bin + " pipeline --preset smoke --resume -q -o " + d + "/b");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(fs::last_write_time(d + "/b/data.h5"), set_time);  // the set kept, not remade
  const auto la = log_losses(d + "/a/run/log.jsonl"), lb = log_losses(d + "/b/run/log.jsonl");
  ASSERT_EQ(la.size(), 20u);
  ASSERT_EQ(lb.size(), 20u);
  for (size_t i = 0; i < la.size(); ++i) EXPECT_DOUBLE_EQ(la[i], lb[i]) << "step " << i + 1;
  EXPECT_EQ(read_json(d + "/b/report-rollout/report.json")["traces"], 30);
  // The paper's task is a bgpt preset; its plan is the paper's distribution at 1 KB.
  r = test::shell(bin + " pipeline --preset paper-task --isa toy -o " + d + "/c");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("--isa bgpt"), std::string::npos) << r.output;
}

TEST(Pipeline, ToyProfileTrainsEvaluatesAndPredicts) {
  const std::string d = test::temp_dir("pipeline-toy");
  const std::string bin = test::cpusim_bin();
  auto r = test::shell(
      bin +
      " datagen --isa toy --memory-size 16 --program-size 64 --max-len 6 --step-limit 24 "
      "--train 200 --test 20 -q -o " +
      d + "/toy.h5");
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::shell(bin + " train --data " + d +
                  "/toy.h5 --preset tiny --copy-path --steps 6 --batch 4 --warmup 2 "
                  "--eval-every 3 --eval-traces 8 --threads 1 -q --timing --profile " +
                  d + "/prof.json -o " + d + "/run");
  ASSERT_EQ(r.status, 0) << r.output;
  // --profile: libtorch's operator trace of steps 3..6 (the run ends before step 7).
  EXPECT_NE(r.output.find("operator trace of 4 steps written"), std::string::npos) << r.output;
  const auto prof = read_json(d + "/prof.json");
  ASSERT_TRUE(prof.is_array());
  size_t products = 0;
  for (const auto& e : prof)
    products += e.value("name", "") == "aten::mm" || e.value("name", "") == "aten::addmm";
  EXPECT_GT(products, 0u);
  // --timing breaks a step down by phase, even with -q.
  EXPECT_NE(r.output.find("train: time per step"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(", optimizer "), std::string::npos) << r.output;
  for (const char* mode : {"teacher", "rollout"}) {
    r = test::shell(bin + " eval --model " + d + "/run/model.pt --data " + d + "/toy.h5 --mode " +
                    mode + " --limit 10 -q --json -o " + d + "/rep-" + mode);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto j = nlohmann::json::parse(r.output);
    EXPECT_EQ(j["isa"], "toy");
    EXPECT_EQ(j["traces"], 10);
  }
  const auto rep = read_json(d + "/rep-teacher/report.json");
  EXPECT_TRUE(rep["per_field"].contains("M[15]"));
  EXPECT_TRUE(rep["per_field"].contains("FLAGS"));
  std::ofstream(d + "/p.asm") << "LDI R0, 3\nST [2], R0\nHLT\n";
  r = test::shell(bin + " predict --model " + d + "/run/model.pt " + d + "/p.asm");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("states predicted exactly"), std::string::npos) << r.output;
  // The toy machine's three patches a state, predicted by either decoder: the same listing.
  for (const char* dec : {"bytewise", "draft"}) {
    const auto other = test::shell(bin + " predict --model " + d + "/run/model.pt " + d +
                                   "/p.asm --decode " + dec);
    EXPECT_EQ(other.output, r.output) << dec;
  }
  // A bgpt model refuses toy data.
  ASSERT_EQ(
      test::shell(bin + " pipeline --preset smoke --stages datagen,train -o " + d + "/b").status,
      0);
  r = test::shell(bin + " eval --model " + d + "/b/model.pt --data " + d + "/toy.h5 -q -o " + d +
                  "/x");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("the model was trained on --isa bgpt"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace cpusim
