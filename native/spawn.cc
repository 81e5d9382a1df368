// clone(CLONE_VM | CLONE_VFORK) → reset signals → mark fds CLOEXEC → setns → chdir → dup2 →
// empty the signal mask → execve. The shape of glibc's posix_spawn (spawni.c) and Go's
// forkAndExecInChild: everything allocated before the clone, a straight-line child that only
// makes system calls, each failure reported as (step, errno) in memory shared with the parent.
#include "spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <pthread.h>

#include <atomic>

#include "linux.h"

namespace nsenter {

namespace {

// glibc's posix_spawn uses at least 32 KiB; the child here needs far less, but execve and the
// /proc fallback's getdents buffer live on it too.
constexpr size_t kStackSize = 64 * 1024;

enum Step { kStepNone = 0, kStepSetns, kStepChdir, kStepDup2, kStepExecve, kStepFcntl };

const char* StepName(int step) {
  switch (step) {
    case kStepSetns: return "setns";
    case kStepChdir: return "chdir";
    case kStepDup2: return "dup2";
    case kStepExecve: return "execve";
    case kStepFcntl: return "fcntl";
    default: return "clone";
  }
}

// What a child that failed before exec reports, in one write (far below PIPE_BUF).
struct Report {
  int step;
  int err;
  int index;
};

// Read by the child under CLONE_VM; prepared in full before the clone.
struct ChildArgs {
  char* const* candidates;
  size_t ncandidates;
  char* const* argv;
  char* const* envp;
  const char* dir;
  const int* ns_fds;
  const int* ns_types;
  size_t nns;
  int stdio[3];
  bool close_range;
  int report_fd;  // write end of a CLOEXEC pipe: exec closes it, a failure writes a Report
  // Written by the child in the parent's memory. `ran` proves CLONE_VM was honoured, and then
  // `report` is final when clone returns (CLONE_VFORK): no need to wait on the pipe, whose
  // write end a process forked meanwhile by another thread may also hold.
  volatile bool ran;
  Report report;
};

struct LinuxDirent64 {
  ino64_t d_ino;
  off64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// Every fd above 2 gets FD_CLOEXEC, so exec closes them all, even ones this process inherited
// without the flag. close_range when the kernel has it, else a walk of /proc/self/fd.
// The child runs on a stack ASan does not know and must not call into its runtime.
#if defined(__SANITIZE_ADDRESS__)
#define CHILD_CODE __attribute__((no_sanitize_address, noinline))
#else
#define CHILD_CODE __attribute__((noinline))
#endif

CHILD_CODE int MarkCloexec(bool use_close_range) {
  if (use_close_range &&
      syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) {
    return 0;
  }
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    alignas(8) char buf[4096];
    for (;;) {
      long n = syscall(SYS_getdents64, dir, buf, sizeof buf);
      if (n <= 0) break;
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<LinuxDirent64*>(buf + off);
        off += d->d_reclen;
        int fd = 0;
        const char* p = d->d_name;
        if (*p < '0' || *p > '9') continue;
        while (*p >= '0' && *p <= '9') fd = fd * 10 + (*p++ - '0');
        if (fd > 2 && fd != dir) fcntl(fd, F_SETFD, FD_CLOEXEC);
      }
    }
    close(dir);
    return 0;
  }
  // No /proc: every possible fd up to the limit.
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 1 << 20) max = 1 << 20;
  for (int fd = 3; fd < max; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
  return 0;
}

// A pipe rather than the shared memory alone: where CLONE_VM is not honoured (valgrind turns
// the clone into a fork) the parent would never see a write to memory.
[[noreturn]] CHILD_CODE void Fail(ChildArgs* a, int step, int err, int index = -1) {
  Report r{step, err, index};
  a->report = r;
  ssize_t n;
  do {
    n = write(a->report_fd, &r, sizeof r);
  } while (n < 0 && errno == EINTR);
  _exit(127);
}

CHILD_CODE int ChildMain(void* arg) {
  auto* a = static_cast<ChildArgs*>(arg);
  a->ran = true;

  // Default dispositions for every signal (Node ignores SIGPIPE; a handler must never run
  // here, in the parent's memory), but glibc's own 32 and 33, which it refuses to change.
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < _NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP || sig == 32 || sig == 33) continue;
    sigaction(sig, &sa, nullptr);
  }

  // Before setns: the fallback needs this process's /proc, which the target may not mount.
  MarkCloexec(a->close_range);

  // setns(CLONE_NEWNS) needs a single-threaded fs_struct (fs/namespace.c): true only here.
  for (size_t i = 0; i < a->nns; i++) {
    if (setns(a->ns_fds[i], a->ns_types[i]) != 0) Fail(a, kStepSetns, errno, static_cast<int>(i));
  }
  if (a->dir != nullptr && chdir(a->dir) != 0) Fail(a, kStepChdir, errno);

  // The sources are all >= 3 (the parent made sure), so no dup2 clobbers a later source.
  for (int fd = 0; fd < 3; fd++) {
    if (dup2(a->stdio[fd], fd) < 0) Fail(a, kStepDup2, errno);
  }

  sigset_t empty;
  sigemptyset(&empty);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, _NSIG / 8);

  // execvp's rules: keep searching past ENOENT-like errors, report EACCES if any candidate
  // had it, stop at anything else.
  int err = ENOENT;
  bool eacces = false;
  for (size_t i = 0; i < a->ncandidates; i++) {
    execve(a->candidates[i], a->argv, a->envp);
    err = errno;
    switch (err) {
      case EACCES:
        eacces = true;
        break;
      case ENOENT:
      case ENOTDIR:
      case ESTALE:
      case ENODEV:
      case ETIMEDOUT:
        break;
      default:
        Fail(a, kStepExecve, err);
    }
  }
  Fail(a, kStepExecve, eacces ? EACCES : err);
}

std::vector<char*> CStrings(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Moves fd to a number >= 3 so the child's dup2 onto 0..2 never overwrites a pending source.
int AboveStdio(int fd) {
  if (fd > 2) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  int saved = errno;
  close(fd);
  errno = saved;
  return moved;
}

// The stack is reused: under CLONE_VFORK no two children of one thread run on it at once.
struct Stack {
  void* base = nullptr;
  ~Stack() {
    if (base != nullptr) munmap(base, kStackSize);
  }
};
thread_local Stack tls_stack;

void* ChildStack() {
  if (tls_stack.base == nullptr) {
    void* p = mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    // A guard page at the bottom: an overflow faults instead of writing into parent memory.
    if (mprotect(p, static_cast<size_t>(sysconf(_SC_PAGESIZE)), PROT_NONE) != 0) {
      munmap(p, kStackSize);
      return nullptr;
    }
    tls_stack.base = p;
  }
  return static_cast<char*>(tls_stack.base) + kStackSize;  // stacks grow down
}

void CloseAll(std::vector<int>* fds) {
  for (int fd : *fds) {
    if (fd >= 0) close(fd);
  }
  fds->clear();
}

// Cleared if the kernel rejects CLONE_PIDFD at run time; any thread may spawn.
std::atomic<bool> g_pidfd_usable{true};

}  // namespace

const Features& DetectFeatures() {
  static const Features features = [] {
    Features f{false, false};
    const char* off = getenv("NODE_NSENTER_NO_PIDFD");
    if (off == nullptr || strcmp(off, "1") != 0) {
      int fd = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0));
      if (fd >= 0) {
        siginfo_t info;
        // ECHILD means P_PIDFD is understood (we are not our own child); EINVAL means it is not.
        bool waitid_ok = waitid(static_cast<idtype_t>(P_PIDFD), fd, &info, WEXITED | WNOHANG) != 0 &&
                         errno == ECHILD;
        bool signal_ok = syscall(SYS_pidfd_send_signal, fd, 0, nullptr, 0) == 0;
        f.pidfd = waitid_ok && signal_ok;
        close(fd);
      }
    }
    const char* no_close_range = getenv("NODE_NSENTER_NO_CLOSE_RANGE");
    f.close_range = (no_close_range == nullptr || strcmp(no_close_range, "1") != 0) &&
                    syscall(SYS_close_range, ~0U - 1, ~0U - 1, CLOSE_RANGE_CLOEXEC) == 0;
    return f;
  }();
  return features;
}

bool Spawn(const SpawnRequest& req, SpawnResult* res) {
  const Features& features = DetectFeatures();
  std::vector<int> to_close;  // fds only the child needs, closed once it has exec'd or failed
  auto fail = [&](const char* syscall_name, int err, int index = -1) {
    CloseAll(&to_close);
    for (int& fd : res->fds) {
      if (fd >= 0) close(fd);
      fd = -1;
    }
    res->err = err;
    res->syscall = syscall_name;
    res->index = index;
    return false;
  };

  if (req.ns_paths.size() != req.ns_types.size()) return fail("setns", EINVAL);
  std::vector<int> ns_fds;
  for (size_t i = 0; i < req.ns_paths.size(); i++) {
    int fd = open(req.ns_paths[i].c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("open", errno, static_cast<int>(i));
    to_close.push_back(fd);
    ns_fds.push_back(fd);
  }

  int child_stdio[3] = {-1, -1, -1};
  int devnull = -1;
  for (int fd = 0; fd < 3; fd++) {
    int mode = req.stdio[fd];
    if (mode == kStdioShareStdout && fd == 2 && req.stdio[1] == kStdioPipe) {
      child_stdio[2] = child_stdio[1];
      continue;
    }
    if (mode == kStdioPipe) {
      int p[2];
      if (pipe2(p, O_CLOEXEC) != 0) return fail("pipe", errno);
      int mine = fd == 0 ? p[1] : p[0];
      int theirs = fd == 0 ? p[0] : p[1];
      res->fds[fd] = mine;
      theirs = AboveStdio(theirs);
      if (theirs < 0) return fail("fcntl", errno);
      to_close.push_back(theirs);
      child_stdio[fd] = theirs;
    } else {
      if (devnull < 0) {
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (devnull < 0) return fail("open", errno);
        devnull = AboveStdio(devnull);
        if (devnull < 0) return fail("fcntl", errno);
        to_close.push_back(devnull);
      }
      child_stdio[fd] = devnull;
    }
  }

  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return fail("pipe", errno);
  report[0] = AboveStdio(report[0]);
  if (report[0] < 0) {
    int e = errno;
    close(report[1]);
    return fail("fcntl", e);
  }
  int report_read = report[0];
  report[1] = AboveStdio(report[1]);
  if (report[1] < 0) {
    int e = errno;
    close(report_read);
    return fail("fcntl", e);
  }
  to_close.push_back(report[1]);

  std::vector<char*> candidates = CStrings(req.candidates);
  std::vector<char*> argv = CStrings(req.argv);
  std::vector<char*> envp = CStrings(req.envp);

  ChildArgs args{};
  args.ran = false;
  args.report = Report{kStepNone, 0, -1};
  args.candidates = candidates.data();
  args.ncandidates = req.candidates.size();
  args.argv = argv.data();
  args.envp = envp.data();
  args.dir = req.dir.empty() ? nullptr : req.dir.c_str();
  args.ns_fds = ns_fds.data();
  args.ns_types = req.ns_types.data();
  args.nns = ns_fds.size();
  for (int fd = 0; fd < 3; fd++) args.stdio[fd] = child_stdio[fd];
  args.close_range = features.close_range;
  args.report_fd = report[1];

  void* stack = ChildStack();
  if (stack == nullptr) {
    int e = errno;
    close(report_read);
    return fail("mmap", e);
  }

  // All signals blocked across the clone: a handler must never run in the child, which shares
  // this memory. The child empties its mask just before execve.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int pidfd = -1;
  bool use_pidfd = features.pidfd && g_pidfd_usable;
  int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
  pid_t pid = clone(ChildMain, stack, flags | (use_pidfd ? CLONE_PIDFD : 0), &args, &pidfd);
  if (pid < 0 && use_pidfd && errno == EINVAL) {
    g_pidfd_usable = false;  // seccomp or an old kernel: fall back for good
    use_pidfd = false;
    pidfd = -1;
    pid = clone(ChildMain, stack, flags, &args, &pidfd);
  }
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  CloseAll(&to_close);

  if (pid < 0) {
    close(report_read);
    return fail("clone", clone_errno);
  }
  if (!use_pidfd) pidfd = -1;

  // Our write end is closed (CloseAll above). Where the child ran in our memory, its report is
  // already here; only where CLONE_VM was not honoured (valgrind makes a fork of it) do we
  // read the pipe, which the child's exec or exit closes.
  Report r = args.report;
  if (!args.ran) {
    ssize_t n;
    do {
      n = read(report_read, &r, sizeof r);
    } while (n < 0 && errno == EINTR);
    if (n != static_cast<ssize_t>(sizeof r)) r = Report{kStepNone, 0, -1};
  }
  close(report_read);

  if (r.step != kStepNone) {
    // The child failed before exec and has exited; reap it here, it was never visible.
    int status;
    while (waitpid(pid, &status, __WALL) < 0 && errno == EINTR) {
    }
    if (pidfd >= 0) close(pidfd);
    return fail(StepName(r.step), r.err, r.index);
  }

  res->pid = pid;
  res->pidfd = pidfd;
  return true;
}

}  // namespace nsenter
