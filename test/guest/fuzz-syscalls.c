// Every system call number with garbage arguments (zeros, ones, -1, bad pointers, a vsyscall
// address), each in a child under a 200 ms alarm. Not compared with the host: the kernel must
// simply survive it (no "kernel bug" in its log, the machine still answers).
// Usage: fuzz-syscalls [last-nr [first-nr [verbose]]]
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
/* Calls that would end or disturb the test itself rather than exercise the kernel. */
static int skipped(long nr) {
  switch (nr) {
  case SYS_exit: case SYS_exit_group: case SYS_kill: case SYS_tkill: case SYS_tgkill:
  case SYS_rt_sigqueueinfo: case SYS_rt_tgsigqueueinfo: case SYS_reboot: case SYS_pidfd_send_signal:
    return 1;
  }
  return 0;
}
int main(int argc, char **argv) {
  long patterns[][6] = {
    { 0, 0, 0, 0, 0, 0 }, { 1, 1, 1, 1, 1, 1 }, { -1, -1, -1, -1, -1, -1 },
    { 0, 1, 16, 0x7fffffff, -4096, 3 }, { 3, 0xffffffffff600000L, 4096, 2, 0, 0 },
  };
  int np = sizeof patterns / sizeof patterns[0], last = argc > 1 ? atoi(argv[1]) : 460, first = argc > 2 ? atoi(argv[2]) : 0, verbose = argc > 3;
  int crashed = 0, hung = 0;
  for (long nr = first; nr <= last; nr++) {
    if (skipped(nr)) continue;
    for (int p = 0; p < np; p++) {
      if (verbose) fprintf(stderr, "nr %ld pattern %d\n", nr, p);
      pid_t c = fork();
      if (c == 0) {
        struct itimerval it = { .it_value = { 0, 200000 } };
        setitimer(ITIMER_REAL, &it, NULL);
        long *a = patterns[p];
        syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        _exit(0);
      }
      int st;
      while (waitpid(c, &st, 0) < 0) ;
      if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) hung++;
      else if (WIFSIGNALED(st)) crashed++;
    }
  }
  /* reap anything a clone/fork-like call left behind */
  while (wait(NULL) > 0) ;
  printf("done\n");
  fprintf(stderr, "crashed %d hung %d\n", crashed, hung);
  return 0;
}
