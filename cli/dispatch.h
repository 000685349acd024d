// cli/dispatch.h: the `cpusim` command line as a function, for the executable's main() and for
// the model commands' library, which the executable loads for train, eval, predict, pipeline and
// model (cli/dispatch.cpp).
#pragma once

namespace cpusim::cli {

// Runs `cpusim argv[1] argv[2..]`; returns the exit code (cli/commands.h).
int dispatch(int argc, char** argv);

// The executable's way to a model command: loads the model commands' library (beside the
// executable, or lib/cpusim/ of an install; CPUSIM_TORCH_LIBRARY names another) and runs the
// command line there. A library that cannot be loaded: one line, exit 2.
int run_model_command(int argc, char** argv);

}  // namespace cpusim::cli
