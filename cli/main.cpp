// cli/main.cpp: the `cpusim` executable (cli/dispatch.h).
#include "cli/dispatch.h"

int main(int argc, char** argv) { return cpusim::cli::dispatch(argc, argv); }
