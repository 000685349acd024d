// cli/torch_library.cpp: the executable's side of the model commands: the library that has them
// (and libtorch) is opened only when one of them runs, so that every other command starts in
// milliseconds instead of paying libtorch's start-up (its static initialisation among some 300
// shared libraries).
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/dispatch.h"

namespace cpusim::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kLibrary = "libcpusim-torch.so";

// Where the library may be: CPUSIM_TORCH_LIBRARY, else beside the executable (a build tree), else
// in lib/cpusim/ beside its bin/ (an install tree).
std::vector<fs::path> candidates() {
  if (const char* env = std::getenv("CPUSIM_TORCH_LIBRARY"); env && *env) return {env};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {kLibrary};  // the loader's search path
  const fs::path dir = exe.parent_path();
  return {dir / kLibrary, dir.parent_path() / CPUSIM_INSTALL_LIBDIR / "cpusim" / kLibrary};
}

}  // namespace

int run_model_command(int argc, char** argv) {
  const auto paths = candidates();
  std::string looked;
  for (const fs::path& p : paths) {
    std::error_code ec;
    if (paths.size() > 1 && !fs::exists(p, ec)) {
      looked += (looked.empty() ? "" : ", ") + p.string();
      continue;
    }
    void* lib = ::dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = ::dlerror();
      std::cerr << "cpusim " << argv[1] << ": cannot load the model commands' library "
                << p.string() << ": " << (why ? why : "unknown error") << "\n";
      return kExitUsage;
    }
    auto* entry = reinterpret_cast<int (*)(int, char**)>(::dlsym(lib, "cpusim_torch_main"));
    if (!entry) {
      std::cerr << "cpusim " << argv[1] << ": " << p.string()
                << " is not cpusim's model commands' library (no cpusim_torch_main)\n";
      return kExitUsage;
    }
    return entry(argc, argv);  // (the library stays loaded until the process ends)
  }
  std::cerr << "cpusim " << argv[1] << ": the model commands' library is missing (looked for "
            << looked << "); rebuild, reinstall, or name it with CPUSIM_TORCH_LIBRARY\n";
  return kExitUsage;
}

}  // namespace cpusim::cli
