// IPC behaviour a guest can see: pipes, AF_UNIX sockets, eventfd, timerfd, epoll, poll and
// select. Prints one deterministic line per check; run natively and under tuml, compare.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int sigpipes;
static void on_pipe(int s) { (void)s; sigpipes++; }
#define R(x) do { long _r = (long)(x); printf("%-48s = %ld%s%s\n", #x, _r < 0 ? -1L : _r, _r < 0 ? " " : "", _r < 0 ? strerrorname_np(errno) : ""); } while (0)

static void pipes(void) {
  int p[2];
  R(pipe2(p, O_CLOEXEC));
  R(fcntl(p[0], F_GETPIPE_SZ));
  R(fcntl(p[1], F_SETPIPE_SZ, 5000));
  R(fcntl(p[0], F_GETPIPE_SZ));
  char buf[70000];
  memset(buf, 'x', sizeof buf);
  fcntl(p[1], F_SETFL, O_NONBLOCK);
  R(write(p[1], buf, 4096));
  R(write(p[1], buf, 4096));
  R(write(p[1], buf, 10000));
  int n = 0;
  R(ioctl(p[0], FIONREAD, &n));
  printf("FIONREAD %d\n", n);
  struct stat st;
  fstat(p[0], &st);
  printf("S_ISFIFO %d\n", S_ISFIFO(st.st_mode));
  pid_t c = fork();
  if (c == 0) {
    close(p[1]);
    long total = 0;
    ssize_t k;
    while ((k = read(p[0], buf, sizeof buf)) > 0) total += k;
    printf("child read %ld then %zd\n", total, k);
    fflush(stdout);
    _exit(0);
  }
  close(p[0]);
  fcntl(p[1], F_SETFL, 0);
  R(write(p[1], buf, sizeof buf)); // blocks until the child drains it
  close(p[1]);
  waitpid(c, NULL, 0);
  R(pipe(p));
  close(p[0]);
  signal(SIGPIPE, on_pipe);
  R(write(p[1], "x", 1));
  printf("sigpipes %d\n", sigpipes);
  close(p[1]);
}

static void unix_stream(const char *dir) {
  int sv[2];
  R(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
  R(send(sv[0], "hello", 5, 0));
  char b[64] = {0};
  R(recv(sv[1], b, 3, MSG_PEEK));
  R(recv(sv[1], b, sizeof b, 0));
  printf("got %s\n", b);
  R(recv(sv[1], b, sizeof b, MSG_DONTWAIT));
  struct ucred uc;
  socklen_t ul = sizeof uc;
  R(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &ul));
  printf("peercred pid-ok %d uid %d\n", uc.pid == getpid(), uc.uid == geteuid());
  R(shutdown(sv[0], SHUT_WR));
  R(recv(sv[1], b, sizeof b, 0));
  R(send(sv[0], "x", 1, MSG_NOSIGNAL));
  close(sv[0]);
  close(sv[1]);

  // Path names in a directory, connect/accept, getsockname.
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  snprintf(a.sun_path, sizeof a.sun_path, "%s/s", dir);
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  R(bind(l, (struct sockaddr *)&a, sizeof a));
  R(bind(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, sizeof a));
  struct stat st;
  R(stat(a.sun_path, &st));
  printf("S_ISSOCK %d\n", S_ISSOCK(st.st_mode));
  int c = socket(AF_UNIX, SOCK_STREAM, 0);
  R(connect(c, (struct sockaddr *)&a, sizeof a));
  R(listen(l, 4));
  R(connect(c, (struct sockaddr *)&a, sizeof a));
  R(connect(c, (struct sockaddr *)&a, sizeof a));
  struct sockaddr_un peer;
  socklen_t pl = sizeof peer;
  int s = accept4(l, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK);
  printf("accept ok %d peerlen %d\n", s >= 0, pl);
  pl = sizeof peer;
  R(getsockname(s, (struct sockaddr *)&peer, &pl));
  printf("sockname matches %d len-ok %d\n", strcmp(peer.sun_path, a.sun_path) == 0, pl == (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1));
  fcntl(l, F_SETFL, O_NONBLOCK);
  R(accept(l, NULL, NULL));
  close(l);
  // Send fds: a pipe's read end through the connection.
  int p[2];
  pipe(p);
  char cbuf[CMSG_SPACE(sizeof(int))] = {0};
  struct iovec iov = { .iov_base = "F", .iov_len = 1 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &p[0], sizeof(int));
  R(sendmsg(c, &m, 0));
  close(p[0]);
  write(p[1], "via-scm", 7);
  close(p[1]);
  char rb[8];
  char rcbuf[64];
  struct iovec riov = { .iov_base = rb, .iov_len = sizeof rb };
  struct msghdr rm = { .msg_iov = &riov, .msg_iovlen = 1, .msg_control = rcbuf, .msg_controllen = sizeof rcbuf };
  R(recvmsg(s, &rm, MSG_CMSG_CLOEXEC));
  struct cmsghdr *rc = CMSG_FIRSTHDR(&rm);
  int fd = -1;
  if (rc && rc->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(rc), sizeof fd);
  printf("cmsg type %d controllen %zu cloexec %d\n", rc ? rc->cmsg_type : -1, (size_t)rm.msg_controllen, fd >= 0 ? (fcntl(fd, F_GETFD) & FD_CLOEXEC) : -1);
  memset(rb, 0, sizeof rb);
  R(read(fd, rb, 7));
  printf("read through passed fd: %.7s\n", rb);
  close(fd);
  close(c);
  R(recv(s, rb, 1, 0));
  close(s);
  R(connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, sizeof a));
  unlink(a.sun_path);
}

static void unix_dgram(void) {
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  memcpy(a.sun_path, "\0tuml-ipc-test", 14);
  socklen_t al = offsetof(struct sockaddr_un, sun_path) + 14;
  int r = socket(AF_UNIX, SOCK_DGRAM, 0), w = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  R(bind(r, (struct sockaddr *)&a, al));
  int on = 1;
  R(setsockopt(r, SOL_SOCKET, SO_PASSCRED, &on, sizeof on));
  int sent = 0;
  while (sendto(w, "datagram", 8, 0, (struct sockaddr *)&a, al) == 8) sent++;
  printf("queued %d then %s\n", sent, strerrorname_np(errno));
  char b[4];
  struct sockaddr_un from;
  socklen_t fl = sizeof from;
  R(recvfrom(r, b, sizeof b, MSG_TRUNC, (struct sockaddr *)&from, &fl));
  printf("fromlen %d\n", fl);
  char cbuf[64];
  struct iovec iov = { .iov_base = b, .iov_len = sizeof b };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
  R(recvmsg(r, &m, 0));
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  struct ucred uc = {0};
  if (cm && cm->cmsg_type == SCM_CREDENTIALS) memcpy(&uc, CMSG_DATA(cm), sizeof uc);
  printf("trunc %d creds type %d pid-ok %d\n", !!(m.msg_flags & MSG_TRUNC), cm ? cm->cmsg_type : -1, uc.pid == getpid());
  int sp[2];
  R(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp));
  R(send(sp[0], "packet-one", 10, 0));
  R(recv(sp[1], b, 3, 0));
  R(recv(sp[1], b, 3, MSG_DONTWAIT));
  close(sp[0]);
  R(recv(sp[1], b, 3, 0));
  R(socket(AF_INET6 + 100, SOCK_STREAM, 0));
  R(socket(AF_UNIX, 9, 0));
}

static void events(void) {
  int e = eventfd(2, EFD_NONBLOCK | EFD_SEMAPHORE);
  uint64_t v;
  R(read(e, &v, 8));
  R(read(e, &v, 8));
  R(read(e, &v, 8));
  v = 7;
  R(write(e, &v, 8));
  R(read(e, &v, 4));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u64 = 11 }, out[4];
  R(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev));
  R(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev));
  R(epoll_wait(ep, out, 4, 0));
  R(epoll_wait(ep, out, 4, 0));
  R(write(e, &v, 8));
  R(epoll_wait(ep, out, 4, 0));
  printf("data %llu\n", (unsigned long long)out[0].data.u64);
  int t = timerfd_create(CLOCK_MONOTONIC, 0);
  struct itimerspec its = { .it_interval = { 0, 20000000 }, .it_value = { 0, 20000000 } };
  R(timerfd_settime(t, 0, &its, NULL));
  ev.events = EPOLLIN;
  ev.data.u64 = 22;
  R(epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev));
  R(epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL));
  int n = epoll_wait(ep, out, 4, 1000);
  printf("timer epoll %d data %llu\n", n, (unsigned long long)out[0].data.u64);
  usleep(50000);
  R(read(t, &v, 8));
  printf("expirations>=2 %d\n", v >= 2);
  struct pollfd pf = { .fd = e, .events = POLLIN };
  R(poll(&pf, 1, 10));
  printf("revents %d\n", pf.revents);
  pf.fd = 999;
  R(poll(&pf, 1, 0));
  printf("revents %d\n", pf.revents);
  fd_set rs;
  FD_ZERO(&rs);
  FD_SET(e, &rs);
  struct timeval tv = { 0, 30000 };
  R(select(e + 1, &rs, NULL, NULL, &tv));
  printf("tv left plausible %d\n", tv.tv_sec == 0 && tv.tv_usec > 20000 && tv.tv_usec <= 30000);
  while (read(e, &v, 8) == 8) {}
  FD_ZERO(&rs);
  FD_SET(e, &rs);
  tv.tv_sec = 0;
  tv.tv_usec = 20000;
  R(select(e + 1, &rs, NULL, NULL, &tv));
  printf("timed out, tv %ld.%06ld set %d\n", (long)tv.tv_sec, (long)tv.tv_usec, FD_ISSET(e, &rs));
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  char dir[] = "/tmp/tuml-ipcXXXXXX";
  if (!mkdtemp(dir)) return 1;
  pipes();
  unix_stream(dir);
  unix_dgram();
  events();
  rmdir(dir);
  return 0;
}
