// common/isolate.cpp: fork, parse, wait with a deadline.
#include "common/isolate.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#include "common/io.h"

namespace cpusim {

namespace {
std::atomic<bool> g_isolated{false};
}

void set_isolated_parsing(bool on) { g_isolated = on; }
bool isolated_parsing() { return g_isolated; }

double parse_deadline_s() {
  if (const char* e = std::getenv("CPUSIM_PARSE_TIMEOUT")) {
    char* end = nullptr;
    const double v = std::strtod(e, &end);
    if (end != e && v > 0) return v;
  }
  return 60;
}

std::string try_in_child(const std::function<void()>& parse, double seconds) {
  std::cout.flush(), std::cerr.flush(), std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t pid = ::fork();
  if (pid < 0) return "";  // no child to spare: parse in this process, as without isolation
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, 1), ::dup2(null, 2);
    g_isolated = false;
    try {
      parse();
    } catch (...) {
      // a clean refusal: the parent parses again and reports it
    }
    ::_exit(0);
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  int st = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return "";
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
      }
      char buf[64];
      std::snprintf(buf, sizeof buf, "did not finish in %g s", seconds);
      return buf;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (WIFSIGNALED(st)) return "crashed (signal " + std::to_string(WTERMSIG(st)) + ")";
  if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
    return "crashed (exit status " + std::to_string(WEXITSTATUS(st)) + ")";
  return "";
}

void check_in_child(const std::string& path, const char* library,
                    const std::function<void()>& parse) {
  if (!isolated_parsing()) return;
  const double s = parse_deadline_s();
  const std::string why = try_in_child(parse, s);
  if (why.empty()) return;
  if (why.rfind("did not", 0) == 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", s);
    throw Error(path + ": damaged: " + library + " did not finish reading it in " + buf +
                " s (CPUSIM_PARSE_TIMEOUT=SECONDS allows longer)");
  }
  throw Error(path + ": damaged: " + library + " " + why.substr(0, why.find(' ')) + " reading it" +
              why.substr(why.find(' ')));
}

}  // namespace cpusim
