/*
 * One TCP stream over loopback between two processes, in plain C: the sender writes from a buffer of BYTES,
 * the receiver reads into a buffer of BYTES. It shows what a buffer's size alone does to loopback bandwidth
 * (iperf3 stops at 1 MiB buffers; a 16 MiB one-sided write touches 16 MiB on each side).
 *
 *   cc -O2 -o /tmp/stream bench/c/stream.c && /tmp/stream 16777216 2
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds_since(const struct timespec *start) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void send_for(int fd, char *buffer, size_t bytes, double duration) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (seconds_since(&start) < duration) {
    for (size_t sent = 0; sent < bytes;) {
      ssize_t count = send(fd, buffer + sent, bytes - sent, 0);
      if (count <= 0) exit(1);
      sent += (size_t)count;
    }
  }
  close(fd);
}

static double receive_all(int fd, char *buffer, size_t bytes) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  size_t total = 0;
  for (;;) {
    ssize_t count = recv(fd, buffer + total % bytes, bytes - total % bytes, 0);
    if (count <= 0) break;
    total += (size_t)count;
  }
  return (double)total / seconds_since(&start) / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s BYTES SECONDS\n", argv[0]);
    return 2;
  }
  size_t bytes = strtoul(argv[1], NULL, 0);
  double duration = atof(argv[2]);
  char *buffer = malloc(bytes);
  if (bytes == 0 || buffer == NULL) return 2;
  memset(buffer, 7, bytes);

  struct sockaddr_in address = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t length = sizeof address;
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (bind(listener, (struct sockaddr *)&address, length) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, (struct sockaddr *)&address, &length) != 0) {
    perror("listen");
    return 1;
  }
  if (fork() == 0) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&address, length) != 0) return 1;
    send_for(fd, buffer, bytes, duration);
    return 0;
  }
  int fd = accept(listener, NULL, NULL);
  printf("%zu-byte buffers: %.2f GB/s\n", bytes, receive_all(fd, buffer, bytes));
  wait(NULL);
  return 0;
}
