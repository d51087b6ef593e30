/* File-system benchmark run inside a machine (tuml or UML) on its ubd ext4 root:
 * create+write, stat and unlink of N small files, then sequential write and read of one
 * large file. Prints "RESULT <label> <metric> <value> <unit>" lines as ubench does, then
 * BENCH_DONE. Every phase that changes the disk ends with sync() inside its timing, so
 * metadata a kernel keeps in memory is counted too.
 *
 *   fsbench [-d dir] [-n files] [-z file-bytes] [-m MiB] [-l label]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *label = "fs";

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *path) {
    printf("ERROR %s %s: %s\n", what, path, strerror(errno));
    fflush(stdout);
    exit(1);
}

static void result(const char *metric, double value, const char *unit) {
    printf("RESULT %s %s %.3f %s\n", label, metric, value, unit);
    fflush(stdout);
}

/* Asks the kernel to forget cached file data, so the read phase reaches the disk. */
static int drop_caches(void) {
    sync();
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd < 0) return 0;
    int ok = write(fd, "3\n", 2) == 2;
    close(fd);
    return ok;
}

int main(int argc, char **argv) {
    const char *dir = "/fsbench";
    long files = 2000, fileBytes = 1024, mib = 64;
    int c;
    while ((c = getopt(argc, argv, "d:n:z:m:l:")) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'n': files = atol(optarg); break;
        case 'z': fileBytes = atol(optarg); break;
        case 'm': mib = atol(optarg); break;
        case 'l': label = optarg; break;
        default: fprintf(stderr, "usage: fsbench [-d dir] [-n files] [-z bytes] [-m MiB] [-l label]\n"); return 2;
        }
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) die("mkdir", dir);
    char path[4096];
    char *buf = malloc(1 << 20);
    if (!buf) return 1;
    for (int i = 0; i < 1 << 20; i++) buf[i] = (char)(i * 7 + 3);

    /* Small files: create+write+close, then stat, then unlink. */
    double t0 = now();
    for (long i = 0; i < files; i++) {
        snprintf(path, sizeof path, "%s/small-file-%ld", dir, i);
        int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
        if (fd < 0) die("open", path);
        if (write(fd, buf, fileBytes) != fileBytes) die("write", path);
        close(fd);
    }
    sync();
    result("create_write_us", (now() - t0) * 1e6 / files, "us");
    t0 = now();
    struct stat st;
    for (long i = 0; i < files; i++) {
        snprintf(path, sizeof path, "%s/small-file-%ld", dir, i);
        if (stat(path, &st) < 0 || st.st_size != fileBytes) die("stat", path);
    }
    result("stat_us", (now() - t0) * 1e6 / files, "us");
    t0 = now();
    for (long i = 0; i < files; i++) {
        snprintf(path, sizeof path, "%s/small-file-%ld", dir, i);
        if (unlink(path) < 0) die("unlink", path);
    }
    sync();
    result("unlink_us", (now() - t0) * 1e6 / files, "us");

    /* One large file: sequential 1 MiB writes ending in fsync, then sequential reads. */
    snprintf(path, sizeof path, "%s/large", dir);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0) die("open", path);
    t0 = now();
    for (long i = 0; i < mib; i++) if (write(fd, buf, 1 << 20) != 1 << 20) die("write", path);
    if (fsync(fd) < 0) die("fsync", path);
    close(fd);
    result("seq_write_MBps", mib * 1.048576 / (now() - t0), "MB/s");
    int dropped = drop_caches();
    fd = open(path, O_RDONLY);
    if (fd < 0) die("open", path);
    t0 = now();
    long total = 0;
    ssize_t n;
    while ((n = read(fd, buf, 1 << 20)) > 0) total += n;
    if (n < 0 || total != mib << 20) die("read", path);
    close(fd);
    result("seq_read_MBps", total / 1e6 / (now() - t0), "MB/s");
    printf("NOTE %s page cache %s before the read\n", label, dropped ? "dropped" : "not droppable");
    if (unlink(path) < 0) die("unlink", path);
    sync();
    printf("BENCH_DONE\n");
    return 0;
}
