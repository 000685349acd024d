// cli/print.h: what a subcommand prints when it is done, shared with `cpusim pipeline`, which
// runs the same stages and prints the same lines.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "datagen/generate.h"

namespace cpusim::cli {

// `cpusim datagen`'s first line: the machine, the lengths, the seed, the jobs (stderr).
void print_datagen_start(const datagen::DatagenConfig& c);
// Its summary: counts, speed, bytes on disk, peak memory; JSON or text (stdout).
nlohmann::json datagen_summary_json(const datagen::DatagenConfig& c, const datagen::SetSummary& s,
                                    const std::string& format, const std::string& out);
void print_datagen_summary(const datagen::DatagenConfig& c, const datagen::SetSummary& s,
                           const std::string& format, const std::string& out, bool json);

}  // namespace cpusim::cli
