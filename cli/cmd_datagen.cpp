// cli/cmd_datagen.cpp: `cpusim datagen`: random programs run on the interpreter, written as a
// train/test set (datagen/generate.h).
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/print.h"
#include "common/io.h"
#include "datagen/generate.h"

namespace cpusim::cli {

int cmd_datagen(const Args& args) {
  IsaOptions io;
  datagen::DatagenConfig c;
  std::string out, format = "h5", shard;
  bool json = false, quiet = false;
  po::options_description d("datagen options");
  io.add(d);
  d.add_options()("train", po::value(&c.train)->default_value(1000),
                  "instances in the train split")("test", po::value(&c.test)->default_value(100),
                                                  "instances in the test split")(
      "seed", po::value(&c.seed)->default_value(0), "random seed")(
      "min-len", po::value(&c.gen.min_len)->default_value(1),
      "shortest program, instructions (HLT included)")(
      "max-len", po::value(&c.gen.max_len),
      "longest program (default: bgpt min(255, memory/4); toy min(32, program/4))")(
      "backward-branch", po::value(&c.gen.backward_branch)->default_value(0.25),
      "toy: chance a branch jumps back")(
      "jobs,j",
      po::value(&c.jobs)->default_value(std::max(1u, std::thread::hardware_concurrency())),
      "worker threads")("format", po::value(&format)->default_value("h5"),
                        "h5 (one HDF5 file) or bin (the paper's folders)")(
      "deflate-level", po::value(&c.deflate_level)->default_value(datagen::kDeflateLevel),
      "h5: how hard the traces are compressed, 0 (fastest) .. 3 (smallest files); any level reads "
      "back with plain zlib/h5py")(
      "shard", po::value(&shard),
      "K/N: this machine's part of a set N machines make together (K = 0..N-1); `cpusim dataset "
      "merge` of all N gives the one-machine set")(
      "candidates", po::value(&c.candidates)->default_value(0),
      "with --shard: candidates drawn over all shards (0: (train + test) * 1.25 + 4096; more when "
      "programs repeat often)")("output,o", po::value(&out)->required(),
                                "output .h5 file or folder")("json", po::bool_switch(&json),
                                                             "print the summary as JSON")(
      "quiet,q", po::bool_switch(&quiet), "no progress display");
  po::variables_map vm;
  if (!parse("datagen", "--isa P --train N --test M --seed S [--jobs J] [--format h5|bin] -o OUT",
             d, {}, args, vm))
    return 0;
  c.gen.isa = io.config();
  c.progress = !quiet;
  if (!shard.empty()) {
    unsigned k = 0, n = 0;
    char slash = 0, extra = 0;
    if (std::sscanf(shard.c_str(), "%u%c%u%c", &k, &slash, &n, &extra) != 3 || slash != '/' ||
        n < 1 || k >= n)
      throw Error("--shard " + shard + ": expected K/N with 0 <= K < N (e.g. 0/4)");
    c.shard = k, c.shards = n;
  }
  if (c.deflate_level < 0 || c.deflate_level > 3)
    throw Error("--deflate-level " + std::to_string(c.deflate_level) + ": expected 0..3");
  datagen::validate(c.gen);
  require_writable(out);  // a read-only output: refused before the start line and any work
  if (!quiet) print_datagen_start(c);
  keep_freed_memory();  // the chunks' buffers come and go at every chunk
  print_datagen_summary(c, datagen::make_set(c, format, out), format, out, json);
  return 0;
}

}  // namespace cpusim::cli
