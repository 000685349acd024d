// cli/print.cpp: summaries shared by subcommands and the pipeline.
#include "cli/print.h"

#include <sys/resource.h>

#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

namespace cpusim::cli {

namespace {

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024.0;
}

}  // namespace

void print_datagen_start(const datagen::DatagenConfig& c) {
  std::cerr << "datagen: isa " << isa::profile_name(c.gen.isa.profile) << ", memory "
            << c.gen.isa.memory_size << ", lengths " << c.gen.min_len << ".."
            << datagen::max_len(c.gen) << ", seed " << c.seed << ", " << c.jobs << " jobs\n";
}

nlohmann::json datagen_summary_json(const datagen::DatagenConfig& c, const datagen::SetSummary& s,
                                    const std::string& format, const std::string& out) {
  const datagen::DatagenStats& st = s.stats;
  const double secs = st.seconds;
  const uint64_t n = st.traces[0] + st.traces[1], halted = st.halted[0] + st.halted[1];
  return {{"output", out},
          {"format", format},
          {"isa", std::string(isa::profile_name(c.gen.isa.profile))},
          {"train", st.traces[0]},
          {"test", st.traces[1]},
          {"duplicates_removed", st.duplicates[0] + st.duplicates[1]},
          {"halted", halted},
          {"step_limit_stops", n - halted},
          {"instructions", st.instructions},
          {"trace_bytes", st.bytes},
          {"file_bytes", s.file_bytes},
          {"seconds", secs},
          {"instances_per_s", secs > 0 ? n / secs : 0},
          {"mb_per_s", secs > 0 ? st.bytes / secs / 1e6 : 0},
          {"peak_rss_mib", peak_rss_mib()}};
}

void print_datagen_summary(const datagen::DatagenConfig& c, const datagen::SetSummary& s,
                           const std::string& format, const std::string& out, bool json) {
  if (json) {
    std::cout << datagen_summary_json(c, s, format, out).dump(2) << "\n";
    return;
  }
  const datagen::DatagenStats& st = s.stats;
  const double secs = st.seconds;
  const uint64_t n = st.traces[0] + st.traces[1], halted = st.halted[0] + st.halted[1];
  const uint64_t dups = st.duplicates[0] + st.duplicates[1];
  std::cout << std::fixed << std::setprecision(1) << "wrote " << out << ": " << st.traces[0]
            << " train + " << st.traces[1] << " test instances (" << dups
            << " duplicate programs removed)\n"
            << "halted " << halted << ", stopped at the step limit " << n - halted << "\n"
            << secs << " s, " << std::setprecision(0) << (secs > 0 ? n / secs : 0)
            << " instances/s, " << std::setprecision(1) << (secs > 0 ? st.bytes / secs / 1e6 : 0)
            << " MB/s of traces; " << st.bytes / 1e6 << " MB of traces in " << s.file_bytes / 1e6
            << " MB on disk; peak memory " << peak_rss_mib() << " MiB\n";
}

}  // namespace cpusim::cli
