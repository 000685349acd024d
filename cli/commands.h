// cli/commands.h: one function per `cpusim` subcommand; each takes the arguments after the
// subcommand name and returns the process exit code. Errors are thrown as cpusim::Error
// (exit 2); anything else that escapes is an internal error (exit 3).
#pragma once

#include <string>
#include <vector>

namespace cpusim::cli {

using Args = std::vector<std::string>;

// Exit codes, the same for every command.
inline constexpr int kExitOk = 0;  // success
inline constexpr int kExitDifferences =
    1;  // a check found differences (verify --strict, cross-check
        // mismatches, self-test survivors, training stopped on NaN)
inline constexpr int kExitUsage =
    2;  // usage or bad input (options, files, data; also a failed write)
inline constexpr int kExitInternal = 3;  // internal error (a bug: please report it)
inline constexpr const char* kExitCodesHelp =
    "exit codes: 0 success; 1 a check found differences (verify --strict, crosscheck mismatches,\n"
    "self-test survivors, training stopped on a non-finite loss); 2 usage or bad input (also a "
    "failed\n"
    "write); 3 internal error.\n";

int cmd_asm(const Args& args);
int cmd_disasm(const Args& args);
int cmd_run(const Args& args);
int cmd_trace(const Args& args);
int cmd_verify(const Args& args);
int cmd_datagen(const Args& args);
int cmd_dataset(const Args& args);
int cmd_crosscheck(const Args& args);
int cmd_train(const Args& args);
int cmd_eval(const Args& args);
int cmd_predict(const Args& args);
int cmd_pipeline(const Args& args);
int cmd_model(const Args& args);
int cmd_plot(const Args& args);

}  // namespace cpusim::cli
