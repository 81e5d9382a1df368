// The child side of the native backend: plain C++, no Node-API. Everything the child needs is
// prepared here, in the parent, before the clone; the child itself only makes system calls.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace nsenter {

enum StdioMode { kStdioNull = 0, kStdioPipe = 1, kStdioShareStdout = 2 };

struct SpawnRequest {
  std::vector<std::string> candidates;  // paths to execve, in order (PATH already expanded)
  std::vector<std::string> argv;
  std::vector<std::string> envp;
  std::string dir;                       // "" = stay where setns leaves us
  std::vector<std::string> ns_paths;     // opened here, joined in the child
  std::vector<int> ns_types;             // CLONE_NEW* for each path
  int stdio[3] = {kStdioNull, kStdioNull, kStdioNull};
};

struct SpawnResult {
  pid_t pid = -1;
  int pidfd = -1;                 // -1 where the kernel has no CLONE_PIDFD
  int fds[3] = {-1, -1, -1};      // parent ends of the pipes
  int err = 0;                    // positive errno when the spawn failed
  const char* syscall = nullptr;  // the step that failed: open, setns, chdir, execve, ...
  int index = -1;                 // which namespace file, for open and setns
};

struct Features {
  bool pidfd;        // CLONE_PIDFD (5.2) together with pidfd_send_signal and waitid(P_PIDFD)
  bool close_range;  // close_range(CLOSE_RANGE_CLOEXEC) (5.11)
};

// Detects what the kernel offers (once). NODE_NSENTER_NO_PIDFD=1 and
// NODE_NSENTER_NO_CLOSE_RANGE=1 force the fallbacks of older kernels (tests use them).
const Features& DetectFeatures();

// Starts the child. On failure, fills err/syscall/index, reaps the child if one was created,
// closes every fd it opened, and returns false.
bool Spawn(const SpawnRequest& req, SpawnResult* res);

}  // namespace nsenter
