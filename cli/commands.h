// cli/commands.h: one function per `cpusim` subcommand; each takes the arguments after the
// subcommand name and returns the process exit code. Errors are thrown as cpusim::Error.
#pragma once

#include <string>
#include <vector>

namespace cpusim::cli {

using Args = std::vector<std::string>;

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

}  // namespace cpusim::cli
