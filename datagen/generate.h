// datagen/generate.h: `cpusim datagen`: random instances executed by the interpreter, in
// parallel, handed to a writer in a fixed order, so the same seed gives the same set whatever
// the number of jobs. Candidate i is drawn from Rng::for_item(seed, i); the first `train`
// distinct programs go to train, the next `test` to test; a program already in the set (either
// split) is dropped and counted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "datagen/dataset.h"
#include "datagen/generator.h"

namespace cpusim::datagen {

struct DatagenConfig {
  GenConfig gen;          // ISA and program distribution
  uint64_t train = 1000;  // instances in the train split
  uint64_t test = 100;    // instances in the test split
  uint64_t seed = 0;
  unsigned jobs = 1;     // worker threads
  bool progress = true;  // progress display on stderr
  // --shard K/N: this machine's part of a set N machines make together (shards > 1): every
  // candidate of the chunks of 512 candidates numbered K, K+N, K+2N, ... below `candidates`
  // (0: (train + test) * 1.25 + 4096), in order, not deduplicated; `dataset merge` dedupes.
  unsigned shard = 0, shards = 1;
  uint64_t candidates = 0;
  int deflate_level = kDeflateLevel;  // h5: the trace chunks' (dataset.h)
};

struct DatagenStats {
  uint64_t candidates = 0;
  uint64_t duplicates[2] = {0, 0};
  uint64_t halted[2] = {0, 0};
  uint64_t traces[2] = {0, 0};
  uint64_t bytes = 0;  // trace bytes written, before compression
  uint64_t instructions = 0;
  double seconds = 0;
};

// Generates and writes the set; `out` is committed by the caller. Throws cpusim::Error.
DatagenStats generate(const DatagenConfig& c, SetWriter& out);

// The root attributes a set generated with `c` carries.
SetInfo set_info(const DatagenConfig& c);

// `cpusim datagen`: generates the set into `path` ("h5": one HDF5 file; "bin": the paper's
// folders) and renames it into place. Returns the counts and the bytes on disk.
struct SetSummary {
  DatagenStats stats;
  uint64_t file_bytes = 0;
};
SetSummary make_set(const DatagenConfig& c, const std::string& format, const std::string& path);

// `cpusim dataset merge`: the set that one machine makes for the shards' seed and sizes (the
// same traces, splits, duplicate counts and attributes: the same file bytes), from all N shards
// of it in any order. Throws cpusim::Error when a shard is missing, repeated or from another
// set, or when the shards hold too few distinct programs (make them with a larger --candidates).
SetSummary merge_shards(const std::vector<std::string>& shards, const std::string& path,
                        bool progress);

}  // namespace cpusim::datagen
