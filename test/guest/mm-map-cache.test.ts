// File mappings reuse the host fd the kernel opened inside the task (src/kernel/mm/inject.ts):
// a program that maps many files over and over (more than the cache holds), maps shared
// and writable, forks, and re-execs itself must see exactly what it sees natively.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const program = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define NFILES 24 /* more than the kernel keeps open per task */

static unsigned sum_mapped(const char *path, int writable)
{
	int fd = open(path, writable ? O_RDWR : O_RDONLY);
	if (fd < 0) { perror(path); exit(1); }
	off_t len = lseek(fd, 0, SEEK_END);
	char *p = mmap(NULL, len, PROT_READ | (writable ? PROT_WRITE : 0), writable ? MAP_SHARED : MAP_PRIVATE, fd, 0);
	close(fd); /* the mapping must outlive the guest fd */
	if (p == MAP_FAILED) { perror("mmap"); exit(1); }
	unsigned s = 0;
	for (off_t i = 0; i < len; i++) s = s * 31 + (unsigned char)p[i];
	if (writable) p[0] = 'W'; /* seen by read() below */
	munmap(p, len);
	return s;
}

static void pass(const char *dir, const char *who)
{
	char path[4096];
	unsigned total = 0;
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < NFILES; i++) {
			int j = round == 1 ? NFILES - 1 - i : i;
			snprintf(path, sizeof path, "%s/f%02d", dir, j);
			total = total * 7 + sum_mapped(path, 0);
		}
	printf("%s: mapped %d files 3 times, sum %08x\n", who, NFILES, total);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const char *hostdir = argv[1], *own = argv[2];
	if (argc > 3) { pass(hostdir, "after exec"); pass(own, "after exec (own)"); return 0; }
	/* Files this program writes itself (tmpfs or overlay inside the guest). */
	char path[4096];
	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof path, "%s/f%02d", own, i);
		FILE *f = fopen(path, "w");
		for (int k = 0; k < 3000 + i * 97; k++) fputc('a' + (k * (i + 3)) % 26, f);
		fclose(f);
	}
	pass(hostdir, "host files");
	pass(own, "own files");
	/* Shared writable: a store through the mapping is what read() returns. */
	snprintf(path, sizeof path, "%s/f00", own);
	printf("shared sum %08x\n", sum_mapped(path, 1));
	char c = 0;
	int fd = open(path, O_RDONLY);
	if (read(fd, &c, 1) != 1) return 1;
	close(fd);
	printf("first byte after shared store: %c\n", c);
	printf("again read-only: %08x\n", sum_mapped(path, 0));
	pid_t p = fork();
	if (p == 0) { pass(hostdir, "child"); _exit(0); }
	int st;
	waitpid(p, &st, 0);
	p = fork();
	if (p == 0) { execl("/proc/self/exe", argv[0], hostdir, own, "again", (char *)0); _exit(127); }
	waitpid(p, &st, 0);
	printf("exec child status %d\n", WEXITSTATUS(st));
	return 0;
}
`;

function tumlBoots(): boolean {
  return spawnSync(path.join(repo, 'tuml'), ['quiet', '--', '/bin/true'], { timeout: 20000 }).status === 0;
}

test('repeated file mappings, shared writable, fork and exec: identical natively and under tuml', (t) => {
  if (spawnSync('gcc', ['--version']).status !== 0) return t.skip('gcc is not installed (CI installs it)');
  if (!tumlBoots()) return t.skip('./tuml -- /bin/true does not run yet: the engine is not ready');
  // Under the repository: visible in the default machine (host / through hostfs).
  const dir = fs.mkdtempSync(path.join(repo, 'dist', 'guest-mm-'));
  try {
    const bin = path.join(dir, 'maps');
    fs.writeFileSync(path.join(dir, 'maps.c'), program);
    const cc = spawnSync('gcc', ['-O1', '-o', bin, path.join(dir, 'maps.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const hostFiles = path.join(dir, 'host');
    fs.mkdirSync(hostFiles);
    for (let i = 0; i < 24; i++) fs.writeFileSync(path.join(hostFiles, `f${String(i).padStart(2, '0')}`), Buffer.alloc(5000 + i * 1234, `${i}-host-`));
    const ownNative = path.join(dir, 'own-native');
    fs.mkdirSync(ownNative);
    const native = spawnSync(bin, [hostFiles, ownNative], { encoding: 'utf8', timeout: 60000 });
    assert.equal(native.status, 0, native.stderr);
    // The guest writes its own files under /tmp (its tmpfs: page-cache memfds).
    const guest = spawnSync(path.join(repo, 'tuml'), ['quiet', '--', '/bin/sh', '-c', `mkdir -p /tmp/own && exec ${bin} ${hostFiles} /tmp/own`], { encoding: 'utf8', timeout: 60000 });
    assert.equal(guest.stderr, '');
    assert.equal(guest.stdout.replace(/\(own\)/g, ''), native.stdout.replace(/\(own\)/g, ''));
    assert.equal(guest.status, 0);
    assert.match(native.stdout, /exec child status 0/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
