// A small scenario for valgrind memcheck (npm run test:valgrind): native/spawn.cc without Node,
// through each outcome — success with pipes, execve ENOENT/EACCES, chdir ENOENT, setns EINVAL,
// open ENOENT — checking each result, many times over. Usage: spawn-harness <mnt ns> <net ns>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "../../native/spawn.h"

using nsenter::Spawn;
using nsenter::SpawnRequest;
using nsenter::SpawnResult;

static int failures = 0;

static void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "FAIL: %s\n", what);
    failures++;
  }
}

static SpawnRequest Request(const char* ns, std::initializer_list<std::string> argv) {
  SpawnRequest req;
  req.argv = argv;
  req.candidates = {req.argv[0]};
  req.envp = {"PATH=/usr/bin:/bin", "LANG=C"};
  req.ns_paths = {ns};
  req.ns_types = {0x00020000};  // CLONE_NEWNS
  return req;
}

static int Reap(const SpawnResult& res) {
  int status = 0;
  while (waitpid(res.pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (res.pidfd >= 0) close(res.pidfd);
  return status;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: spawn-harness <mnt ns file> <net ns file>\n");
    return 2;
  }
  const char* mnt = argv[1];
  const char* net = argv[2];
  for (int round = 0; round < 25; round++) {
    {  // success, stdout and stderr on one pipe
      SpawnRequest req = Request(mnt, {"/bin/sh", "-c", "echo out; echo err >&2"});
      req.stdio[1] = nsenter::kStdioPipe;
      req.stdio[2] = nsenter::kStdioShareStdout;
      SpawnResult res;
      Check(Spawn(req, &res), "spawn sh");
      std::string out;
      char buf[256];
      ssize_t n;
      while ((n = read(res.fds[1], buf, sizeof buf)) > 0) out.append(buf, n);
      close(res.fds[1]);
      Check(out == "out\nerr\n", "combined output");
      Check(Reap(res) == 0, "exit status 0");
    }
    {  // stdin pipe round trip through cat
      SpawnRequest req = Request(mnt, {"/bin/cat"});
      req.stdio[0] = nsenter::kStdioPipe;
      req.stdio[1] = nsenter::kStdioPipe;
      SpawnResult res;
      Check(Spawn(req, &res), "spawn cat");
      Check(write(res.fds[0], "abc", 3) == 3, "write stdin");
      close(res.fds[0]);
      char buf[8] = {0};
      Check(read(res.fds[1], buf, sizeof buf) == 3 && strcmp(buf, "abc") == 0, "cat output");
      close(res.fds[1]);
      Reap(res);
    }
    {  // execve ENOENT, searched over several candidates
      SpawnRequest req = Request(mnt, {"no-such-tool"});
      req.candidates = {"/usr/bin/no-such-tool", "/bin/no-such-tool"};
      SpawnResult res;
      Check(!Spawn(req, &res) && res.err == ENOENT && strcmp(res.syscall, "execve") == 0, "execve ENOENT");
    }
    {  // execve EACCES: a directory
      SpawnRequest req = Request(mnt, {"/tmp"});
      SpawnResult res;
      Check(!Spawn(req, &res) && res.err == EACCES, "execve EACCES");
    }
    {  // chdir ENOENT
      SpawnRequest req = Request(mnt, {"/bin/true"});
      req.dir = "/no/such/dir";
      SpawnResult res;
      Check(!Spawn(req, &res) && res.err == ENOENT && strcmp(res.syscall, "chdir") == 0, "chdir ENOENT");
    }
    {  // setns EINVAL: a network namespace given as a mount namespace
      SpawnRequest req = Request(net, {"/bin/true"});
      SpawnResult res;
      Check(!Spawn(req, &res) && res.err == EINVAL && strcmp(res.syscall, "setns") == 0 && res.index == 0,
            "setns EINVAL");
    }
    {  // open ENOENT
      SpawnRequest req = Request("/no/such/ns", {"/bin/true"});
      SpawnResult res;
      Check(!Spawn(req, &res) && res.err == ENOENT && strcmp(res.syscall, "open") == 0, "open ENOENT");
    }
  }
  if (failures == 0) printf("spawn-harness: all scenarios passed\n");
  return failures == 0 ? 0 : 1;
}
