// cli/torch_entry.cpp: the model commands' library's entry point, which the `cpusim` executable
// looks up after loading it (cli/torch_library.cpp): the whole command line, run here.
#include "cli/dispatch.h"

extern "C" __attribute__((visibility("default"))) int cpusim_torch_main(int argc, char** argv) {
  return cpusim::cli::dispatch(argc, argv);
}
