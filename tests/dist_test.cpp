// tests/dist_test.cpp: data-parallel training on c10d's Gloo, with processes launched as
// torchrun launches them (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT): two processes
// give the one-process run's losses step by step, a checkpoint of two resumes on one, and a
// rank that dies or never comes makes the others stop within the c10d timeout.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/checkpoint.h"
#include "tests/model_util.h"
#include "tests/test_util.h"

namespace cpusim {
namespace {

namespace fs = std::filesystem;

struct Row {
  int64_t step;
  double loss, eval_loss;
};

std::vector<Row> rows(const std::string& log) {
  std::vector<Row> v;
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    v.push_back({j["step"], j["loss"], j.value("eval_loss", NAN)});
  }
  return v;
}

// A TCP port that is free now (the kernel's pick), for one rendezvous.
int port(int) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  int p = 0;
  if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    p = ntohs(a.sin_port);
  if (fd >= 0) close(fd);
  return p;
}

std::string env(int rank, int world, int p) {
  return "RANK=" + std::to_string(rank) + " LOCAL_RANK=" + std::to_string(rank) +
         " WORLD_SIZE=" + std::to_string(world) +
         " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(p) + " ";
}

// Both ranks in the background, then their exit statuses: "0 0" when both succeeded.
test::Shell two_ranks(const std::string& args, const std::string& dir, int p) {
  const std::string bin = test::cpusim_bin();
  return test::shell("bash -c '" + env(0, 2, p) + bin + " train " + args + " > " + dir +
                     ".r0 2>&1 & a=$!; " + env(1, 2, p) + bin + " train " + args + " > " + dir +
                     ".r1 2>&1 & b=$!; wait $a; x=$?; wait $b; echo $x $?'");
}

void expect_same(const std::vector<Row>& a, const std::vector<Row>& b, size_t from = 0) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = from; i < a.size(); ++i) {
    EXPECT_EQ(a[i].step, b[i].step);
    EXPECT_NEAR(a[i].loss, b[i].loss, 1e-5 * std::abs(a[i].loss)) << "step " << a[i].step;
    if (!std::isnan(a[i].eval_loss)) {
      EXPECT_NEAR(a[i].eval_loss, b[i].eval_loss, 1e-5 * a[i].eval_loss) << a[i].step;
    }
  }
}

TEST(Distributed, TwoGlooProcessesGiveTheOneProcessLossesAndResumeOnOne) {
  const std::string d = test::temp_dir("dist");
  const auto data = test::small_set(d, 40, 8, 8);
  const std::string bin = test::cpusim_bin();
  const std::string args =
      "--data " + data + " --preset tiny --copy-path --batch 8 --accum 2 --steps 8 --warmup 2 " +
      "--eval-every 4 --eval-traces 8 --threads 1 --precision fp32 --seed 3 -q";
  auto r = test::shell(bin + " train " + args + " -o " + d + "/one");
  ASSERT_EQ(r.status, 0) << r.output;
  r = two_ranks(args + " --allreduce during --timing -o " + d + "/two", d + "/two", port(0));
  EXPECT_EQ(r.output, "0 0\n") << test::shell("cat " + d + "/two.r0 " + d + "/two.r1").output;
  // The gradients' all-reduces start inside the backward pass, every bucket of every step.
  for (const char* rank : {".r0", ".r1"}) {
    const std::string out = test::shell("cat " + d + "/two" + rank).output;
    const auto at = out.find(" gradient buckets a step; ");
    ASSERT_NE(at, std::string::npos) << out;
    int started = -1, summed = -1;
    std::sscanf(out.c_str() + at,
                " gradient buckets a step; %d of %d all-reduces started during the backward pass",
                &started, &summed);
    EXPECT_GE(summed, 8) << out;
    EXPECT_EQ(started, summed) << out;
  }
  const auto one = rows(d + "/one/log.jsonl");
  ASSERT_EQ(one.size(), 8u);
  expect_same(one, rows(d + "/two/log.jsonl"));
  EXPECT_EQ(
      nlohmann::json::parse(test::shell("cat " + d + "/two/config.json").output)["world_size"], 2);
  // Stopped after 4 steps on two processes (summing after the backward pass, the CPU's default),
  // resumed on one: the same next losses.
  r = two_ranks(args + " --timing --stop-after 4 -o " + d + "/half", d + "/half", port(1));
  EXPECT_EQ(r.output, "0 0\n") << test::shell("cat " + d + "/half.r0 " + d + "/half.r1").output;
  const std::string half = test::shell("cat " + d + "/half.r0").output;
  EXPECT_NE(
      half.find("2 gradient buckets a step; 0 of 8 all-reduces started during the backward pass"),
      std::string::npos)
      << half;
  r = test::shell(bin + " train " + args + " --resume -o " + d + "/half");
  ASSERT_EQ(r.status, 0) << r.output;
  expect_same(one, rows(d + "/half/log.jsonl"));
  // The global batch must split evenly.
  r = two_ranks("--data " + data + " --preset tiny --batch 7 --steps 2 -q -o " + d + "/odd",
                d + "/odd", port(2));
  EXPECT_EQ(r.output, "2 2\n");
  EXPECT_NE(test::shell("cat " + d + "/odd.r0").output.find("multiple of WORLD_SIZE 2"),
            std::string::npos);
  r = test::shell(bin + " train " + args + " --allreduce sometimes -o " + d + "/bad");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output, "cpusim train: --allreduce sometimes: expected auto, during or after\n");
}

TEST(Distributed, AMissingOrDeadRankStopsTheOthersWithinTheTimeout) {
  const std::string d = test::temp_dir("dist-fail");
  const auto data = test::small_set(d, 40, 8, 8);
  const std::string bin = test::cpusim_bin();
  // Rank 1 never starts: rank 0 gives up on the rendezvous after --dist-timeout.
  auto r =
      test::shell(env(0, 2, port(3)) + "timeout 60 " + bin + " train --data " + data +
                  " --preset tiny --steps 2 --threads 1 --dist-timeout 3 -q -o " + d + "/alone");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("rank 0 of 2: rendezvous at 127.0.0.1"), std::string::npos) << r.output;
  // Rank 1 killed mid-run: rank 0 stops with one line naming itself, and its last checkpoint loads.
  const std::string args = "--data " + data +
                           " --preset tiny --batch 8 --steps 100000 --warmup 2 --eval-every 0 " +
                           "--checkpoint-every 2 --threads 1 --dist-timeout 10 -q -o " + d + "/run";
  const int p = port(4);
  r = test::shell("bash -c '" + env(0, 2, p) + bin + " train " + args + " > " + d +
                  "/r0 2>&1 & a=$!; " + env(1, 2, p) + bin + " train " + args +
                  " > /dev/null 2>&1 & b=$!; for i in $(seq 600); do [ -f " + d +
                  "/run/checkpoint.pt ] && break; sleep 0.1; done; sleep 1; kill -9 $b; "
                  "start=$SECONDS; wait $a; " +
                  "echo $? $((SECONDS - start))'");
  int status = -1, seconds = -1;  // the last line (bash reports the kill before it)
  const std::string out = r.output.substr(r.output.rfind('\n', r.output.size() - 2) + 1);
  std::istringstream(out) >> status >> seconds;
  EXPECT_EQ(status, 2) << r.output << test::shell("cat " + d + "/r0").output;
  EXPECT_LE(seconds, 120)
      << r.output;  // the c10d timeout (10 s), far below the run (100,000 steps)
  const std::string msg = test::shell("cat " + d + "/r0").output;
  EXPECT_NE(msg.find("cpusim train: rank 0:"), std::string::npos) << msg;
  EXPECT_NO_THROW(model::load_checkpoint(d + "/run/checkpoint.pt", torch::kCPU));
}

TEST(Distributed, ProcsForksTheRanksAndMatchesOneProcess) {
  const std::string d = test::temp_dir("dist-procs");
  const auto data = test::small_set(d, 40, 8, 8);
  const std::string bin = test::cpusim_bin();
  const std::string args =
      "--data " + data + " --preset tiny --copy-path --batch 8 --steps 6 --warmup 2 " +
      "--eval-every 3 --eval-traces 8 --threads 1 --precision fp32 --seed 5 -q";
  auto r = test::shell(bin + " train " + args + " -o " + d + "/one");
  ASSERT_EQ(r.status, 0) << r.output;
  r = test::shell(bin + " train " + args + " --procs 2 -o " + d + "/two");
  ASSERT_EQ(r.status, 0) << r.output;
  expect_same(rows(d + "/one/log.jsonl"), rows(d + "/two/log.jsonl"));
  const auto cfg = nlohmann::json::parse(test::shell("cat " + d + "/two/config.json").output);
  EXPECT_EQ(cfg["world_size"], 2);
  EXPECT_EQ(cfg["procs"], 2);
  // Refused once, before any process starts or anything is written.
  std::string odd = args;
  odd.replace(odd.find("--batch 8"), 9, "--batch 7");
  r = test::shell(bin + " train " + odd + " --procs 2 -o " + d + "/odd");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.output,
            "cpusim train: --batch 7 is the global batch: it must be a multiple of --procs 2\n");
  EXPECT_FALSE(fs::exists(d + "/odd/log.jsonl"));
  r = test::shell(bin + " train " + args + " --procs 2 -o " + d + "/two");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_NE(r.output.find("holds a run"), std::string::npos) << r.output;
  // Rank 1 killed mid-run: rank 0 names it and exits; rank 0 killed: rank 1 does not linger.
  const std::string slow = "--data " + data +
                           " --preset tiny --batch 8 --steps 100000 --warmup 2 --eval-every 0 " +
                           "--checkpoint-every 2 --dist-timeout 10 --procs 2 -q";
  r = test::shell("bash -c '" + bin + " train " + slow + " -o " + d + "/kill1 2> " + d +
                  "/kill1.err & a=$!; " + "for i in $(seq 600); do [ -f " + d +
                  "/kill1/checkpoint.pt ] && break; sleep 0.1; done; " +
                  "pkill -9 -P $a; start=$SECONDS; wait $a; echo $? $((SECONDS - start))'");
  int status = -1, seconds = -1;
  std::istringstream(r.output.substr(r.output.rfind('\n', r.output.size() - 2) + 1)) >> status >>
      seconds;
  const std::string msg = test::shell("cat " + d + "/kill1.err").output;
  EXPECT_EQ(status, 2) << r.output << msg;
  EXPECT_LE(seconds, 120)
      << r.output;  // the c10d timeout (10 s), far below the run (100,000 steps)
  EXPECT_EQ(msg, "cpusim train: rank 1 of 2: was killed by signal 9\n");
  EXPECT_NO_THROW(model::load_checkpoint(d + "/kill1/checkpoint.pt", torch::kCPU));
  r = test::shell("bash -c '" + bin + " train " + slow + " -o " + d +
                  "/kill0 2>/dev/null & a=$!; " + "for i in $(seq 600); do [ -f " + d +
                  "/kill0/checkpoint.pt ] && break; sleep 0.1; done; " +
                  "c=$(pgrep -P $a); kill -9 $a; wait $a; sleep 1; case $(ps -o stat= -p $c) in "
                  "\"\"|Z*) ;; *) echo lingers;; esac; " +
                  "echo done'");  // (a zombie where nothing reaps orphans is dead)
  EXPECT_NE(r.output.find("done"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("lingers"), std::string::npos) << r.output;
}

nlohmann::json read_json_file(const std::string& path) {
  return nlohmann::json::parse(test::shell("cat " + path).output);
}

// The report.json of an eval without what depends on the run's clock and process count.
nlohmann::json report_without_timing(const std::string& dir) {
  auto j = nlohmann::json::parse(test::shell("cat " + dir + "/report.json").output);
  for (const char* k : {"seconds", "predicted_states_per_s", "processes"}) j.erase(k);
  j["machine"].erase("blas_threads");  // (--procs gives each process its share of the cores)
  return j;
}

TEST(Distributed, TwoProcessesEvaluateToTheOneProcessReport) {
  const std::string d = test::temp_dir("dist-eval");
  const auto data = test::small_set(d, 40, 16, 8);
  const std::string bin = test::cpusim_bin();
  auto r = test::shell(bin + " train --data " + data +
                       " --preset tiny --copy-path --batch 8 --steps 30 --threads 1 " +
                       "--precision fp32 -q -o " + d + "/run");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* mode : {"teacher", "rollout"}) {
    const std::string m = mode, args = " eval --model " + d + "/run/model.pt --data " + data +
                                       " --mode " + m +
                                       " --batch 3 --threads 1 --precision fp32 -q";
    r = test::shell(bin + args + " --write-predictions " + d + "/p1-" + m + " -o " + d + "/one-" +
                    m);
    ASSERT_EQ(r.status, 0) << r.output;
    const int p = port(10 + (m == "teacher"));
    r = test::shell("bash -c '" + env(0, 2, p) + bin + args + " --write-predictions " + d + "/p2-" +
                    m + " -o " + d + "/two-" + m + " > " + d + "/e0 2>&1 & a=$!; " + env(1, 2, p) +
                    bin + args + " -o " + d + "/x-" + m + " > " + d +
                    "/e1 2>&1 & b=$!; wait $a; x=$?; wait $b; echo $x $?'");
    ASSERT_EQ(r.output, "0 0\n") << test::shell("cat " + d + "/e0 " + d + "/e1").output;
    EXPECT_EQ(report_without_timing(d + "/one-" + m), report_without_timing(d + "/two-" + m)) << m;
    EXPECT_EQ(test::shell("cd " + d + "/p1-" + m + " && md5sum *").output,
              test::shell("cd " + d + "/p2-" + m + " && md5sum *").output)
        << m;
    EXPECT_FALSE(fs::exists(d + "/x-" + m));  // only rank 0 writes the report
    // --procs 2: the same, the processes forked by eval itself.
    r = test::shell(bin + args + " --procs 2 --write-predictions " + d + "/p3-" + m + " -o " + d +
                    "/three-" + m);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(report_without_timing(d + "/one-" + m), report_without_timing(d + "/three-" + m))
        << m;
    EXPECT_EQ(read_json_file(d + "/three-" + m + "/report.json")["processes"], 2) << m;
    EXPECT_EQ(test::shell("cd " + d + "/p1-" + m + " && md5sum *").output,
              test::shell("cd " + d + "/p3-" + m + " && md5sum *").output)
        << m;
  }
  // A bad checkpoint is refused once, with the one process's message.
  r = test::shell(bin + " eval --model " + d + "/nothing.pt --data " + data + " --procs 2 -q -o " +
                  d + "/bad");
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("nothing.pt"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(d + "/bad"));
}

}  // namespace
}  // namespace cpusim
