/* Writes through a MAP_SHARED mapping of a file on the ubd root, and reads a file written
 * with write() through a mapping: both must agree with the disk afterwards. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "/mapped";
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror("open"); return 1; }
  char page[8192];
  memset(page, '.', sizeof page);
  if (write(fd, page, sizeof page) != sizeof page) { perror("write"); return 1; }
  char *m = mmap(0, sizeof page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (m == MAP_FAILED) { perror("mmap"); return 1; }
  memcpy(m + 100, "written through a shared mapping", 32);
  memcpy(m + 5000, "second page", 11);
  /* write() after the mapping exists must show through it. */
  if (pwrite(fd, "pwrite", 6, 200) != 6) { perror("pwrite"); return 1; }
  if (memcmp(m + 200, "pwrite", 6) != 0) { puts("pwrite not visible in the mapping"); return 1; }
  if (msync(m, sizeof page, MS_SYNC) != 0) { perror("msync"); return 1; }
  munmap(m, sizeof page);
  close(fd);
  /* read() after close sees the mapped writes. */
  fd = open(path, O_RDONLY);
  char buf[32];
  if (pread(fd, buf, 32, 100) != 32 || memcmp(buf, "written through a shared mapping", 32) != 0) { puts("mapped write lost"); return 1; }
  close(fd);
  puts("mmap ok");
  return 0;
}
