// common/isolate.h: a file of outside input parsed first in a child process with a deadline,
// where the parser is a library's (libhdf5, libtorch's TorchScript loader) that a damaged file
// can crash or hang (results/fuzzing.md): the command then refuses the file with one line
// instead of dying or hanging with it.
#pragma once

#include <functional>
#include <string>

namespace cpusim {

// Whether readers check their files in a child first. The cpusim command turns it on (cli/main);
// it is off by default, so library users, tests and fuzz targets parse in their own process.
void set_isolated_parsing(bool on);
bool isolated_parsing();

// The deadline: CPUSIM_PARSE_TIMEOUT seconds when set, else 60.
double parse_deadline_s();

// Runs `parse` in a forked child (its output discarded, isolated parsing off in it) and waits up
// to `seconds`. Returns "" when `parse` returned or threw (a clean refusal, which the caller
// meets again when it parses for real); else what went wrong: "crashed (signal 11)", "crashed
// (exit status 1)", "did not finish in 60 s" (the child is killed).
std::string try_in_child(const std::function<void()>& parse, double seconds);

// try_in_child(parse, parse_deadline_s()) when isolated parsing is on; throws cpusim::Error
// "<path>: damaged: libhdf5 crashed reading it (signal 11)" or "...: damaged: libhdf5 did not
// finish reading it in 60 s (...)" on failure.
void check_in_child(const std::string& path, const char* library,
                    const std::function<void()>& parse);

}  // namespace cpusim
