// System V IPC across fork, exec and exit: shared memory, semaphores, message queues.
// Prints only what must be the same natively and under tuml (no ids, pids or times).
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define E(x) ((x) < 0 ? errname(errno) : "ok")
static const char *errname(int e) {
  switch (e) {
  case EACCES: return "EACCES"; case EAGAIN: return "EAGAIN"; case EEXIST: return "EEXIST";
  case EFBIG: return "EFBIG"; case EIDRM: return "EIDRM"; case EINTR: return "EINTR";
  case EINVAL: return "EINVAL"; case ENOENT: return "ENOENT"; case ENOMSG: return "ENOMSG";
  case EPERM: return "EPERM"; case ERANGE: return "ERANGE"; case E2BIG: return "E2BIG";
  default: { static char b[32]; snprintf(b, sizeof b, "errno %d", e); return b; }
  }
}
static void ms(int n) { struct timespec t = { n / 1000, (n % 1000) * 1000000L }; nanosleep(&t, NULL); }
static int waitchild(pid_t p) {
  int st; waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
// Waits (up to 3 s) until a child sleeps in a call, so a slow machine keeps the order.
static void asleep(pid_t p) {
  char path[64], buf[256]; snprintf(path, sizeof path, "/proc/%d/stat", p);
  for (int i = 0; i < 300; i++) {
    FILE *f = fopen(path, "r"); char *rp = NULL;
    if (f) { if (fgets(buf, sizeof buf, f)) rp = strrchr(buf, ')'); fclose(f); }
    if (rp && rp[2] == 'S') break;
    ms(10);
  }
  ms(20);
}
union semun { int val; struct semid_ds *buf; unsigned short *array; struct seminfo *__buf; };
static void onalrm(int s) { (void)s; }
struct msg { long type; char text[64]; };

static key_t key(int kind) { return (key_t)(0x5e000000 | ((getpid() & 0xffff) << 4) | kind); }

static void shm_tests(const char *self) {
  printf("== shm\n");
  key_t k = key(1);
  int id = shmget(k, 10000, IPC_CREAT | IPC_EXCL | 0600);
  printf("create by key: %s\n", E(id));
  printf("again with IPC_EXCL: %s\n", E(shmget(k, 10000, IPC_CREAT | IPC_EXCL | 0600)));
  printf("same key: %s\n", shmget(k, 4096, 0) == id ? "same id" : "other");
  printf("bigger than the segment: %s\n", E(shmget(k, 20000, 0)));
  printf("missing key: %s\n", E(shmget(key(2), 4096, 0)));
  printf("size 0: %s\n", E(shmget(IPC_PRIVATE, 0, 0600)));
  char *p = shmat(id, NULL, 0);
  printf("shmat: %s aligned %d\n", p == (void *)-1 ? errname(errno) : "ok", ((unsigned long)p & 4095) == 0);
  strcpy(p, "parent");
  p[9999] = 'z';
  struct shmid_ds ds;
  shmctl(id, IPC_STAT, &ds);
  printf("stat: size %zu nattch %lu mode %o cpid-is-me %d lpid-is-me %d key-ok %d\n", ds.shm_segsz, (unsigned long)ds.shm_nattch,
    ds.shm_perm.mode & 07777, ds.shm_cpid == getpid(), ds.shm_lpid == getpid(), ds.shm_perm.__key == k);
  FILE *maps = fopen("/proc/self/maps", "r"); char line[512]; int sysv = 0;
  while (fgets(line, sizeof line, maps)) if (strstr(line, "/SYSV")) sysv++;
  fclose(maps);
  printf("maps lines naming /SYSV: %d\n", sysv);
  pid_t c = fork();
  if (c == 0) {
    struct shmid_ds d; shmctl(id, IPC_STAT, &d);
    printf("child: sees '%s' %c nattch %lu\n", p, p[9999], (unsigned long)d.shm_nattch);
    strcpy(p, "child wrote");
    fflush(stdout);
    _exit(0);
  }
  waitchild(c);
  shmctl(id, IPC_STAT, &ds);
  printf("after child exit: '%s' nattch %lu\n", p, (unsigned long)ds.shm_nattch);
  char *q = shmat(id, NULL, SHM_RDONLY);
  shmctl(id, IPC_STAT, &ds);
  printf("second attach: same data %d nattch %lu\n", strcmp(p, q) == 0, (unsigned long)ds.shm_nattch);
  c = fork();
  if (c == 0) { q[0] = 'x'; _exit(0); }
  printf("write to SHM_RDONLY attach: %s\n", waitchild(c) == 128 + SIGSEGV ? "SIGSEGV" : "no fault");
  printf("shmdt(unattached): %s\n", E(shmdt(p + 4096)));
  printf("shmdt(unaligned): %s\n", E(shmdt(p + 1)));
  printf("shmdt(second): %s\n", E(shmdt(q)));
  char *spot = shmat(id, NULL, 0);
  shmdt(spot);
  char *fixed = shmat(id, spot + 100, SHM_RND);
  printf("SHM_RND at a fixed address: %s\n", fixed == spot ? "rounded" : fixed == (void *)-1 ? errname(errno) : "elsewhere");
  if (fixed != (void *)-1) shmdt(fixed);
  printf("fixed over a mapping without SHM_REMAP: %s\n", shmat(id, p, 0) == (void *)-1 ? errname(errno) : "mapped");
  printf("unaligned without SHM_RND: %s\n", shmat(id, p + 5, 0) == (void *)-1 ? errname(errno) : "mapped");
  // exec drops the attaches of the old image: the new one sees only the parent's.
  char arg[32]; snprintf(arg, sizeof arg, "%d", id);
  c = fork();
  if (c == 0) { execl(self, self, "exec-check", arg, (char *)NULL); _exit(99); }
  waitchild(c);
  ds.shm_perm.mode = 0640;
  printf("IPC_SET: %s", E(shmctl(id, IPC_SET, &ds)));
  shmctl(id, IPC_STAT, &ds);
  printf(" mode %o\n", ds.shm_perm.mode & 0777);
  printf("SHM_LOCK: %s SHM_UNLOCK: %s\n", E(shmctl(id, SHM_LOCK, NULL)), E(shmctl(id, SHM_UNLOCK, NULL)));
  struct shminfo info;
  int r = shmctl(0, IPC_INFO, (struct shmid_ds *)&info);
  printf("IPC_INFO: %s shmmin %lu\n", r >= 0 ? "ok" : errname(errno), info.shmmin);
  struct shm_info si;
  printf("SHM_INFO: %s\n", shmctl(0, SHM_INFO, (struct shmid_ds *)&si) >= 0 && si.used_ids >= 1 ? "ok" : errname(errno));
  printf("bad cmd: %s\n", E(shmctl(id, 1234, &ds)));
  printf("IPC_RMID while attached: %s\n", E(shmctl(id, IPC_RMID, NULL)));
  shmctl(id, IPC_STAT, &ds);
  printf("doomed: dest %d key %d nattch %lu still readable '%s'\n", (ds.shm_perm.mode & SHM_DEST) != 0, ds.shm_perm.__key, (unsigned long)ds.shm_nattch, p);
  printf("key now free: %s\n", E(shmget(k, 4096, 0)));
  printf("last detach: %s", E(shmdt(p)));
  printf("; then IPC_STAT: %s\n", E(shmctl(id, IPC_STAT, &ds)));
  printf("bad id: %s\n", E(shmat(-1, NULL, 0) == (void *)-1 ? -1 : 0));
}

static void sem_tests(void) {
  printf("== sem\n");
  int id = semget(key(3), 3, IPC_CREAT | IPC_EXCL | 0600);
  printf("create: %s; more sems than the set: %s; nsems 0 new: %s\n", E(id), E(semget(key(3), 4, 0)), E(semget(IPC_PRIVATE, 0, 0600)));
  unsigned short all[3] = { 1, 2, 3 }, got[3];
  union semun u = { .array = all };
  printf("SETALL: %s\n", E(semctl(id, 0, SETALL, u)));
  u.array = got; semctl(id, 0, GETALL, u);
  printf("GETALL: %d %d %d GETVAL(2): %d\n", got[0], got[1], got[2], semctl(id, 2, GETVAL));
  u.val = 40000; printf("SETVAL 40000: %s\n", E(semctl(id, 0, SETVAL, u)));
  u.val = 1; printf("SETVAL on sem 7: %s\n", E(semctl(id, 7, SETVAL, u)));
  printf("GETVAL on sem -1: %s\n", E(semctl(id, -1, GETVAL)));
  struct sembuf big = { 5, 1, 0 };
  printf("sem_num past the set: %s\n", E(semop(id, &big, 1)));
  printf("no ops: %s\n", E(semop(id, &big, 0)));
  struct sembuf two[2] = { { 0, -1, 0 }, { 1, -3, IPC_NOWAIT } };
  printf("atomic pair that cannot complete: %s", E(semop(id, two, 2)));
  printf("; values %d %d\n", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL));
  struct sembuf same[2] = { { 2, -2, 0 }, { 2, -1, 0 } };
  printf("two ops on one sem: %s", E(semop(id, same, 2)));
  printf(" value %d\n", semctl(id, 2, GETVAL));
  struct sembuf z = { 1, 0, IPC_NOWAIT };
  printf("wait-for-zero, nowait: %s\n", E(semop(id, &z, 1)));
  struct timespec ts = { 0, 50000000 };
  struct sembuf down1 = { 0, -5, 0 };
  printf("semtimedop 50ms: %s\n", E(semtimedop(id, &down1, 1, &ts)));
  ts.tv_nsec = 2000000000L;
  printf("semtimedop bad timeout: %s\n", E(semtimedop(id, &down1, 1, &ts)));
  u.val = 0; semctl(id, 0, SETVAL, u);
  pid_t c = fork();
  if (c == 0) { struct sembuf d = { 0, -1, 0 }; _exit(semop(id, &d, 1) == 0 ? 0 : 1); }
  asleep(c);
  printf("GETNCNT with a sleeper: %d GETZCNT: %d\n", semctl(id, 0, GETNCNT), semctl(id, 0, GETZCNT));
  struct sembuf up = { 0, 1, 0 };
  semop(id, &up, 1);
  int st = waitchild(c);
  printf("sleeper woken: exit %d, value %d, GETPID is it %d\n", st, semctl(id, 0, GETVAL), semctl(id, 0, GETPID) == c);
  printf("GETNCNT after: %d\n", semctl(id, 0, GETNCNT));
  c = fork();
  if (c == 0) { struct sembuf w = { 0, 0, 0 }; _exit(semop(id, &w, 1) == 0 ? 0 : 1); }
  u.val = 2; semctl(id, 0, SETVAL, u);
  asleep(c);
  printf("GETZCNT with a zero-waiter: %d\n", semctl(id, 0, GETZCNT));
  struct sembuf d2 = { 0, -2, 0 };
  semop(id, &d2, 1);
  printf("zero-waiter woken: exit %d\n", waitchild(c));
  // SEM_UNDO: a process's adjustments are reversed when it exits.
  c = fork();
  if (c == 0) { struct sembuf s = { 1, 4, SEM_UNDO }, t = { 2, -1, SEM_UNDO }; semop(id, &s, 1); semop(id, &t, 1); _exit(0); }
  u.val = 1; semctl(id, 2, SETVAL, u);
  waitchild(c);
  printf("after SEM_UNDO child exit: %d %d\n", semctl(id, 1, GETVAL), semctl(id, 2, GETVAL));
  c = fork();
  if (c == 0) { struct sembuf s = { 1, 3, SEM_UNDO }; semop(id, &s, 1); u.val = 7; semctl(id, 1, SETVAL, u); _exit(0); }
  waitchild(c);
  printf("SETVAL clears the adjustment: %d\n", semctl(id, 1, GETVAL));
  // A signal ends a wait with EINTR, SA_RESTART or not.
  c = fork();
  if (c == 0) {
    struct sigaction sa = { .sa_handler = onalrm, .sa_flags = SA_RESTART };
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { 0, 0 }, { 0, 50000 } };
    setitimer(ITIMER_REAL, &it, NULL);
    struct sembuf d = { 0, -1, 0 };
    int r = semop(id, &d, 1);
    printf("child: semop after a signal: %s\n", E(r));
    fflush(stdout);
    _exit(0);
  }
  waitchild(c);
  // IPC_RMID wakes sleepers with EIDRM.
  c = fork();
  if (c == 0) {
    struct sembuf d = { 0, -1, 0 };
    int r = semop(id, &d, 1);
    printf("child: semop on a removed set: %s\n", E(r));
    fflush(stdout);
    _exit(0);
  }
  asleep(c);
  struct semid_ds ds; u.buf = &ds;
  semctl(id, 0, IPC_STAT, u);
  printf("IPC_STAT: nsems %lu mode %o\n", (unsigned long)ds.sem_nsems, ds.sem_perm.mode & 0777);
  // The woken child prints first: the parent reports only after it is gone.
  const char *rm = E(semctl(id, 0, IPC_RMID));
  waitchild(c);
  printf("IPC_RMID: %s\n", rm);
  printf("GETVAL after removal: %s\n", E(semctl(id, 0, GETVAL)));
}

static void msg_tests(void) {
  printf("== msg\n");
  int id = msgget(key(4), IPC_CREAT | 0600);
  printf("create: %s; again: %s\n", E(id), msgget(key(4), IPC_CREAT | 0600) == id ? "same id" : "other");
  struct msg m;
  long types[] = { 3, 1, 2, 2, 5 };
  for (int i = 0; i < 5; i++) { m.type = types[i]; snprintf(m.text, sizeof m.text, "m%d-type%ld", i, types[i]); msgsnd(id, &m, strlen(m.text) + 1, 0); }
  struct msqid_ds ds;
  msgctl(id, IPC_STAT, &ds);
  printf("queued: qnum %lu cbytes %lu qbytes %lu lspid-is-me %d\n", (unsigned long)ds.msg_qnum, (unsigned long)ds.__msg_cbytes, (unsigned long)ds.msg_qbytes, ds.msg_lspid == getpid());
  ssize_t n = msgrcv(id, &m, sizeof m.text, 2, 0); printf("type 2: %zd %s\n", n, m.text);
  n = msgrcv(id, &m, sizeof m.text, -4, 0); printf("type <= 4: %zd %s\n", n, m.text);
  n = msgrcv(id, &m, sizeof m.text, 3, MSG_EXCEPT); printf("not type 3: %zd %s\n", n, m.text);
  n = msgrcv(id, &m, 4, 0, 0); printf("too small: %s\n", E(n));
  n = msgrcv(id, &m, 4, 0, MSG_NOERROR); printf("MSG_NOERROR: %zd %.4s type %ld\n", n, m.text, m.type);
  n = msgrcv(id, &m, sizeof m.text, 0, 0); printf("any: %zd %s\n", n, m.text);
  printf("empty, IPC_NOWAIT: %s\n", E(msgrcv(id, &m, sizeof m.text, 0, IPC_NOWAIT)));
  m.type = 0; printf("type 0: %s\n", E(msgsnd(id, &m, 1, 0)));
  m.type = 1; printf("too big: %s\n", E(msgsnd(id, &m, 100000, 0)));
  pid_t c = fork();
  if (c == 0) { ms(50); struct msg o = { 7, "from child" }; msgsnd(id, &o, 11, 0); _exit(0); }
  n = msgrcv(id, &m, sizeof m.text, 7, 0);
  printf("blocking receive: %zd %s type %ld\n", n, m.text, m.type);
  waitchild(c);
  msgctl(id, IPC_STAT, &ds);
  ds.msg_qbytes = 100;
  printf("IPC_SET qbytes 100: %s\n", E(msgctl(id, IPC_SET, &ds)));
  m.type = 1; memset(m.text, 'a', sizeof m.text);
  msgsnd(id, &m, 60, 0);
  printf("full, IPC_NOWAIT: %s\n", E(msgsnd(id, &m, 60, IPC_NOWAIT)));
  c = fork();
  if (c == 0) { struct msg o = { 9, "late" }; _exit(msgsnd(id, &o, 60, 0) == 0 ? 0 : 1); }
  asleep(c);
  msgctl(id, IPC_STAT, &ds);
  printf("sender asleep: qnum %lu\n", (unsigned long)ds.msg_qnum);
  msgrcv(id, &m, sizeof m.text, 1, 0);
  printf("sender woken: exit %d\n", waitchild(c));
  n = msgrcv(id, &m, sizeof m.text, 0, 0); printf("its message: %zd %s type %ld\n", n, m.text, m.type);
  c = fork();
  if (c == 0) {
    struct msg i;
    ssize_t r = msgrcv(id, &i, sizeof i.text, 0, 0);
    printf("child: msgrcv on a removed queue: %s\n", E(r));
    fflush(stdout);
    _exit(0);
  }
  asleep(c);
  FILE *f = fopen("/proc/sysvipc/msg", "r"); char line[512]; int found = 0, k, qid; unsigned long cbytes, qnum;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "%d %d %*o %lu %lu", &k, &qid, &cbytes, &qnum) == 4 && k == key(4)) found += printf("/proc/sysvipc/msg: id-ok %d cbytes %lu qnum %lu\n", qid == id, cbytes, qnum) > 0;
  if (f) fclose(f);
  printf("/proc/sysvipc/msg lines with the key: %d\n", found);
  char cmd[128]; snprintf(cmd, sizeof cmd, "ipcs -q | grep -c 0x%08x", key(4));
  fflush(stdout);
  system(cmd);
  const char *rm = E(msgctl(id, IPC_RMID, NULL));
  waitchild(c);
  printf("IPC_RMID: %s\n", rm);
  printf("msgsnd after removal: %s\n", E(msgsnd(id, &m, 1, 0)));
}

static void perm_tests(void) {
  printf("== permissions\n");
  int shm = shmget(key(5), 4096, IPC_CREAT | 0600), sem = semget(key(6), 1, IPC_CREAT | 0644), msg = msgget(key(7), IPC_CREAT | 0600);
  pid_t c = fork();
  if (c == 0) {
    if (setgid(65534) || setuid(65534)) { printf("setuid failed\n"); _exit(1); }
    printf("nobody: shmget %s shmat %s rmid %s\n", E(shmget(key(5), 4096, 0600)), shmat(shm, NULL, 0) == (void *)-1 ? errname(errno) : "ok", E(shmctl(shm, IPC_RMID, NULL)));
    struct sembuf d = { 0, 1, IPC_NOWAIT };
    printf("nobody: sem read %s semop %s setval %s\n", E(semctl(sem, 0, GETVAL)), E(semop(sem, &d, 1)), E(semctl(sem, 0, SETVAL, (union semun){ .val = 1 })));
    struct msg m = { 1, "x" };
    printf("nobody: msgsnd %s msgget %s stat %s\n", E(msgsnd(msg, &m, 1, 0)), E(msgget(key(7), 0)), E(msgctl(msg, IPC_STAT, &(struct msqid_ds){ 0 })));
    fflush(stdout);
    _exit(0);
  }
  waitchild(c);
  shmctl(shm, IPC_RMID, NULL); semctl(sem, 0, IPC_RMID); msgctl(msg, IPC_RMID, NULL);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && !strcmp(argv[1], "exec-check")) {
    struct shmid_ds ds;
    shmctl(atoi(argv[2]), IPC_STAT, &ds);
    printf("after exec: nattch %lu\n", (unsigned long)ds.shm_nattch);
    return 0;
  }
  shm_tests(argv[0]);
  sem_tests();
  msg_tests();
  perm_tests();
  return 0;
}
