/*
 * One TCP stream between two processes through ADDRESS, in plain C: the sender writes from a buffer of
 * BYTES, the receiver reads into a buffer of RECEIVE_BYTES (default BYTES), for SECONDS. The benchmark
 * suite's "C stream" peer: a one-sided write of BYTES lands in that much memory, while iperf3 reads every
 * block into the same buffer of at most 1 MiB, which stays in the CPU's caches. It prints the receiver's
 * GB/s and the bytes it received.
 *
 *   cc -O2 -o /tmp/stream bench/c/stream.c && /tmp/stream 127.0.0.1 16777216 2 [RECEIVE_BYTES]
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

/* Receives until the sender closes; prints GB/s and the bytes received. */
static void receive_all(int fd, char *buffer, size_t bytes) {
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  size_t total = 0;
  for (;;) {
    ssize_t count = recv(fd, buffer + total % bytes, bytes - total % bytes, 0);
    if (count <= 0) break;
    total += (size_t)count;
  }
  printf("%.4f GB/s, %zu bytes\n", (double)total / seconds_since(&start) / 1e9, total);
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s ADDRESS BYTES SECONDS [RECEIVE_BYTES]\n", argv[0]);
    return 2;
  }
  size_t bytes = strtoul(argv[2], NULL, 0);
  double duration = atof(argv[3]);
  size_t receive_bytes = argc == 5 ? strtoul(argv[4], NULL, 0) : bytes;
  /* Each side's own memory, touched before the stream starts, as a registered region is. */
  char *buffer = malloc(bytes);
  if (bytes == 0 || buffer == NULL) return 2;
  memset(buffer, 7, bytes);

  struct sockaddr_in address = {.sin_family = AF_INET};
  socklen_t length = sizeof address;
  if (inet_pton(AF_INET, argv[1], &address.sin_addr) != 1) {
    fprintf(stderr, "not an IPv4 address: %s\n", argv[1]);
    return 2;
  }
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
  char *received = malloc(receive_bytes);
  if (receive_bytes == 0 || received == NULL) return 2;
  memset(received, 0, receive_bytes);
  int fd = accept(listener, NULL, NULL);
  receive_all(fd, received, receive_bytes);
  wait(NULL);
  return 0;
}
