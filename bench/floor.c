// The floor the native backend is measured against: the same work in a C loop with nothing
// around it — vfork, setns into the namespace file, execve, waitpid — per run.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: floor <nsfile> <runs> <program> [heap-GiB]\n");
    return 2;
  }
  int runs = atoi(argv[2]);
  // Optional touched heap, to show that vfork's cost does not grow with it.
  size_t heap = argc > 4 ? (size_t)(atof(argv[4]) * 1024 * 1024 * 1024) : 0;
  if (heap > 0) {
    char* p = malloc(heap);
    if (p == NULL) return perror("malloc"), 1;
    for (size_t i = 0; i < heap; i += 4096) p[i] = 1;
  }
  char* const child_argv[] = {argv[3], NULL};
  char* const envp[] = {NULL};
  struct timespec t0, t1;
  for (int warm = 1; warm >= 0; warm--) {
    int n = warm ? runs / 10 + 1 : runs;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++) {
      int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
      if (fd < 0) return perror("open"), 1;
      pid_t pid = vfork();
      if (pid == 0) {
        if (setns(fd, CLONE_NEWNS) != 0) _exit(126);
        execve(argv[3], child_argv, envp);
        _exit(127);
      }
      close(fd);
      int status;
      if (pid < 0 || waitpid(pid, &status, 0) < 0 || status != 0) return fprintf(stderr, "run failed\n"), 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
  }
  double ms = ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / runs;
  printf("%.6f\n", ms);
  return 0;
}
