/*
 * Copies a buffer of BYTES again and again for SECONDS, in plain C, and prints the GB/s and the bytes copied:
 * the benchmark suite's peers beside the shared-memory transport.
 *
 *   memcpy             from one buffer to another in this process: a copy with nothing around it, the
 *                      ceiling of any copy between two processes
 *   process_vm_writev  from this process into a forked child's buffer, one system call a copy: the
 *                      single-copy limit of a one-sided transfer between two processes (the parent writes
 *                      into its child, which Yama's ptrace_scope=1 allows, the other way round it does not)
 *
 * Both buffers are touched before the copying starts, as a registered region is.
 *
 *   cc -O2 -o /tmp/copy bench/c/copy.c && /tmp/copy process_vm_writev 16777216 2
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct target {
  pid_t pid; /* the process that owns `buffer`: 0 for this one */
  char *buffer;
  int hold; /* closing it ends that process */
};

static double seconds_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void copy_memcpy(const struct target *to, const char *from, size_t bytes) {
  memcpy(to->buffer, from, bytes);
  /* The copy is never read: tell the compiler the memory is used, so it keeps every one. */
  __asm__ volatile("" : : "r"(to->buffer) : "memory");
}

static void copy_process_vm_writev(const struct target *to, const char *from, size_t bytes) {
  struct iovec local = {.iov_base = (void *)from, .iov_len = bytes};
  struct iovec remote = {.iov_base = to->buffer, .iov_len = bytes};
  if (process_vm_writev(to->pid, &local, 1, &remote, 1, 0) != (ssize_t)bytes) {
    perror("process_vm_writev");
    exit(1);
  }
}

/* A child that holds a touched buffer of `bytes`, says where it is, and lives until `hold` closes. */
static struct target start_child(size_t bytes) {
  int address[2], hold[2];
  if (pipe(address) != 0 || pipe(hold) != 0) exit(1);
  pid_t pid = fork();
  if (pid < 0) exit(1);
  if (pid == 0) {
    close(address[0]);
    close(hold[1]);
    char *buffer = malloc(bytes);
    if (buffer == NULL) exit(2);
    memset(buffer, 0, bytes);
    if (write(address[1], &buffer, sizeof buffer) != sizeof buffer) exit(1);
    char byte;
    while (read(hold[0], &byte, 1) > 0) {
    }
    exit(0);
  }
  close(address[1]);
  close(hold[0]);
  struct target target = {.pid = pid, .hold = hold[1]};
  if (read(address[0], &target.buffer, sizeof target.buffer) != sizeof target.buffer) exit(1);
  return target;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s memcpy|process_vm_writev BYTES SECONDS\n", argv[0]);
    return 2;
  }
  size_t bytes = strtoul(argv[2], NULL, 0);
  double duration = atof(argv[3]);
  char *from = malloc(bytes);
  if (bytes == 0 || from == NULL) return 2;
  memset(from, 7, bytes);

  void (*copy)(const struct target *, const char *, size_t);
  struct target to = {0};
  if (strcmp(argv[1], "memcpy") == 0) {
    copy = copy_memcpy;
    to.buffer = malloc(bytes);
    if (to.buffer == NULL) return 2;
    memset(to.buffer, 0, bytes);
  } else if (strcmp(argv[1], "process_vm_writev") == 0) {
    copy = copy_process_vm_writev;
    to = start_child(bytes);
  } else {
    fprintf(stderr, "not a mode: %s\n", argv[1]);
    return 2;
  }

  /* The clock is read once per MiB, or per 1024 copies of less: reading it costs as much as a small copy. */
  size_t batch = bytes < (1u << 20) ? (1u << 20) / bytes : 1;
  if (batch > 1024) batch = 1024;
  copy(&to, from, bytes);
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  size_t total = 0;
  double elapsed;
  do {
    for (size_t i = 0; i < batch; i++) copy(&to, from, bytes);
    total += batch * bytes;
    elapsed = seconds_since(&start);
  } while (elapsed < duration);
  printf("%.4f GB/s, %zu bytes\n", (double)total / elapsed / 1e9, total);
  if (to.pid != 0) {
    close(to.hold);
    waitpid(to.pid, NULL, 0);
  }
  return 0;
}
