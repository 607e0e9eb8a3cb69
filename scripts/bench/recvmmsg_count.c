// Kernel-ceiling receiver for the receive benchmarks: joins an IPv4 multicast group (RFC 1112) and
// counts datagrams with recvmmsg() in batches of 64, touching nothing but the count.
// Built and run by scripts/bench/run.ts inside a private network namespace; by hand:
//   gcc -O2 -o /tmp/recvmmsg_count scripts/bench/recvmmsg_count.c
//   /tmp/recvmmsg_count --group 239.1.2.3 --port 40000 --packets 100000 --seconds 10 [--rcvbuf B]
// Writes "ready" to stderr once joined; stops at --packets, after --seconds, or on SIGTERM/SIGINT,
// then prints one JSON line: {"received":N,"rcvbuf":BYTES,"cpuS":C} (C: its user + system CPU
// seconds, getrusage(2)).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define SLOT 2048

static volatile sig_atomic_t stop = 0;
static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  const char *group = NULL;
  long port = 0, packets = 0, rcvbuf = 0;
  double seconds = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--group")) group = argv[i + 1];
    else if (!strcmp(argv[i], "--port")) port = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--packets")) packets = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--seconds")) seconds = strtod(argv[i + 1], NULL);
    else if (!strcmp(argv[i], "--rcvbuf")) rcvbuf = strtol(argv[i + 1], NULL, 10);
    else {
      fprintf(stderr, "recvmmsg_count: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (group == NULL || port < 1 || port > 65535 || packets < 1 || seconds <= 0) {
    fprintf(stderr,
            "usage: recvmmsg_count --group G --port P --packets N --seconds S [--rcvbuf B]\n");
    return 2;
  }
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (rcvbuf > 0) {
    int size = (int)rcvbuf;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0) {
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    }
  }
  struct timeval tv = {0, 100000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in local = {0};
  local.sin_family = AF_INET;
  local.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, group, &local.sin_addr) != 1) {
    fprintf(stderr, "recvmmsg_count: bad group %s\n", group);
    return 2;
  }
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    perror("bind");
    return 1;
  }
  struct ip_mreq mreq;
  mreq.imr_multiaddr = local.sin_addr;
  mreq.imr_interface.s_addr = htonl(INADDR_ANY);
  if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) < 0) {
    perror("IP_ADD_MEMBERSHIP");
    return 1;
  }
  int actual = 0;
  socklen_t len = sizeof actual;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &actual, &len);
  fprintf(stderr, "ready\n");

  static unsigned char bufs[BATCH][SLOT];
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < BATCH; i++) {
    iovs[i].iov_base = bufs[i];
    iovs[i].iov_len = SLOT;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long received = 0;
  const double deadline = now_s() + seconds;
  while (!stop && received < packets && now_s() < deadline) {
    int r = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (r > 0) received += r;
    else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      perror("recvmmsg");
      break;
    }
  }
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double cpu = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
               (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
  printf("{\"received\":%ld,\"rcvbuf\":%d,\"cpuS\":%.3f}\n", received, actual, cpu);
  close(fd);
  return 0;
}
