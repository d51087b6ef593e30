/*
 * ptrace-floor.c - the cost of one trapped syscall under a minimal C tracer: the floor of
 * tuml's seccomp+ptrace design, measured on the machine the benchmark runs on.
 *
 * A child makes N getppid calls; the tracer answers each one itself (GETREGS, skip the
 * call, put a result in rax, SETREGS, resume), as tuml's kernel does. Two ways to trap:
 *   seccomp  the child's filter returns SECCOMP_RET_TRACE for getppid only; the tracer
 *            resumes with PTRACE_CONT (what tuml does: every other call runs natively)
 *   sysemu   no filter; PTRACE_SYSEMU stops at every syscall (what UML's skas does)
 *
 * Where the two processes run matters more than anything else on a VM (an idle vCPU must
 * be woken by an IPI at every hand-off), so a third argument chooses the placement:
 *   any    the host scheduler decides (default; what tuml gets)
 *   same   tracer and child pinned to CPU 0
 *   cross  tracer on CPU 0, child on CPU 1 (every hand-off crosses CPUs)
 *
 * Usage:  ptrace-floor [N [any|same|cross]]      (default 100000 any)
 * Prints: FLOOR <placement> seccomp_trace_cont_ns <ns per call>
 *         FLOOR <placement> sysemu_ns <ns per call>
 * Build:  gcc -O2 -static -o ptrace-floor ptrace-floor.c
 */
#define _GNU_SOURCE
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/audit.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ANSWER 4242

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fail(const char *what)
{
	perror(what);
	exit(1);
}

/* getppid traps to the tracer; everything else runs as usual. */
static void install_filter(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		fail("PR_SET_NO_NEW_PRIVS");
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		fail("seccomp");
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof s, &s))
		fail("sched_setaffinity");
}

static int cross; /* child on CPU 1 while the tracer is on CPU 0 */

static void child(long n, int use_filter)
{
	if (cross)
		pin(1);
	if (ptrace(PTRACE_TRACEME, 0, 0, 0))
		fail("PTRACE_TRACEME");
	raise(SIGSTOP);
	if (use_filter)
		install_filter();
	for (long i = 0; i < n; i++)
		if (syscall(SYS_getppid) != ANSWER)
			_exit(3);
	syscall(SYS_exit_group, 0);
}

/* Returns nanoseconds per trapped call (first stop to last answer). */
static double run(long n, int use_filter)
{
	pid_t p = fork();
	if (p < 0)
		fail("fork");
	if (p == 0)
		child(n, use_filter);
	int st;
	if (waitpid(p, &st, __WALL) != p || !WIFSTOPPED(st))
		fail("first stop");
	long opts = PTRACE_O_EXITKILL | (use_filter ? PTRACE_O_TRACESECCOMP : 0);
	if (ptrace(PTRACE_SETOPTIONS, p, 0, opts))
		fail("PTRACE_SETOPTIONS");
	int resume = use_filter ? PTRACE_CONT : PTRACE_SYSEMU;
	ptrace(resume, p, 0, 0);
	struct user_regs_struct r;
	long seen = 0;
	double t0 = 0, t1 = 0;
	for (;;) {
		if (waitpid(p, &st, __WALL) != p)
			fail("waitpid");
		if (WIFEXITED(st) || WIFSIGNALED(st))
			break;
		int sig = WSTOPSIG(st);
		int is_seccomp = (st >> 8) == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8));
		if (use_filter ? !is_seccomp : sig != SIGTRAP) {
			/* A signal for the child (not expected): pass it on. */
			ptrace(resume, p, 0, sig);
			continue;
		}
		if (ptrace(PTRACE_GETREGS, p, 0, &r))
			fail("PTRACE_GETREGS");
		if (r.orig_rax == SYS_getppid) {
			if (seen++ == 0)
				t0 = mono();
			t1 = mono();
			r.orig_rax = -1; /* skip the host call */
			r.rax = ANSWER;
			if (ptrace(PTRACE_SETREGS, p, 0, &r))
				fail("PTRACE_SETREGS");
		} else if (!use_filter && r.orig_rax == SYS_exit_group) {
			kill(p, SIGKILL); /* under SYSEMU nothing runs natively */
			waitpid(p, &st, __WALL);
			break;
		}
		ptrace(resume, p, 0, 0);
	}
	if (seen != n) {
		fprintf(stderr, "ptrace-floor: saw %ld of %ld calls\n", seen, n);
		exit(1);
	}
	/* t0..t1 spans seen-1 complete round trips. */
	return (t1 - t0) / (seen - 1) * 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	const char *where = argc > 2 ? argv[2] : "any";
	if (n < 2)
		n = 2;
	if (!strcmp(where, "same") || !strcmp(where, "cross")) {
		pin(0);
		cross = !strcmp(where, "cross");
	} else if (strcmp(where, "any")) {
		fprintf(stderr, "usage: %s [N [any|same|cross]]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("FLOOR %s seccomp_trace_cont_ns %.1f\n", where, run(n, 1));
	printf("FLOOR %s sysemu_ns %.1f\n", where, run(n, 0));
	return 0;
}
