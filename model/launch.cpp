// model/launch.cpp: the local launcher's processes (model/launch.h).
#include "model/launch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace cpusim::model {

namespace {

// A TCP port on 127.0.0.1 that is free now (the kernel's pick for port 0).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw Error(std::string("--procs: cannot open a socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok)
    throw Error(std::string("--procs: cannot find a free port on 127.0.0.1: ") +
                std::strerror(err));
  return ntohs(a.sin_port);
}

const char* const kLaunchVars[] = {"RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR",
                                   "MASTER_PORT"};

void set_launch_env(int rank, int world, int port) {
  ::setenv("RANK", std::to_string(rank).c_str(), 1);
  ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  ::setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
}

}  // namespace

LocalRanks::LocalRanks(int procs) : procs_(procs) {
  if (procs < 2) throw Error("--procs " + std::to_string(procs) + ": LocalRanks needs at least 2");
  for (const char* v : kLaunchVars) {
    const char* x = std::getenv(v);
    saved_env_.emplace_back(v, x ? x : "\x01");
  }
  const int port = free_port();
  std::cout.flush(), std::cerr.flush(), std::fflush(nullptr);  // nothing buffered is written twice
  const pid_t parent = ::getpid();
  for (int r = 1; r < procs; ++r) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) {
      join(true);
      throw Error(std::string("--procs: cannot make a pipe: ") + std::strerror(errno));
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int err = errno;
      ::close(p[0]), ::close(p[1]);
      join(true);
      throw Error("--procs " + std::to_string(procs) +
                  ": cannot start a process: " + std::strerror(err));
    }
    if (pid == 0) {  // rank r
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(3);  // the parent died before the line above
      ::close(p[0]);
      for (int fd : fds_) ::close(fd);
      fds_ = {p[1]};
      pids_.clear();
      rank_ = r;
      set_launch_env(r, procs, port);
      return;
    }
    ::close(p[1]);
    pids_.push_back(pid);
    fds_.push_back(p[0]);
  }
  set_launch_env(0, procs, port);
}

void LocalRanks::child_exit(const std::string& error, bool dist) {
  const std::string msg = error.empty() ? "" : (dist ? "D" : "E") + error;
  size_t off = 0;
  while (off < msg.size()) {
    const ssize_t n = ::write(fds_[0], msg.data() + off, msg.size() - off);
    if (n <= 0) break;
    off += size_t(n);
  }
  std::cout.flush(), std::cerr.flush();
  ::_exit(error.empty() ? 0 : 2);
}

std::string LocalRanks::join(bool stop) {
  if (rank_ != 0 || joined_) return "";
  joined_ = true;
  if (stop)
    for (pid_t pid : pids_) ::kill(pid, SIGTERM);
  std::string first, first_dist;
  for (size_t i = 0; i < pids_.size(); ++i) {
    std::string msg;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds_[i], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
      if (n > 0) msg.append(buf, size_t(n));
    ::close(fds_[i]);
    int st = 0;
    while (::waitpid(pids_[i], &st, 0) < 0 && errno == EINTR) {
    }
    const std::string who =
        "rank " + std::to_string(i + 1) + " of " + std::to_string(procs_) + ": ";
    if (!msg.empty()) {  // a DistError names its rank already
      std::string& slot = msg[0] == 'D' ? first_dist : first;
      if (slot.empty()) slot = (msg[0] == 'D' ? "" : who) + msg.substr(1);
    } else if (!stop && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
      const std::string how = WIFSIGNALED(st)
                                  ? "was killed by signal " + std::to_string(WTERMSIG(st))
                                  : "exited with status " + std::to_string(WEXITSTATUS(st));
      if (first.empty()) first = who + how;
    }
  }
  fds_.clear();
  pids_.clear();
  return !first.empty() ? first : first_dist;
}

LocalRanks::~LocalRanks() {
  if (rank_ != 0) return;
  join(true);
  for (const auto& [name, value] : saved_env_) {
    if (value == "\x01")
      ::unsetenv(name.c_str());
    else
      ::setenv(name.c_str(), value.c_str(), 1);
  }
}

}  // namespace cpusim::model
