// Paced RTP/MPEG-TS multicast sender for the receive benchmarks (RFC 3550 §5.1 header, PT 33,
// RFC 2250 payload of 7 null TS packets): sendmmsg() batches on a clock_nanosleep schedule.
// Built and run by scripts/bench/run.ts inside a private network namespace; by hand:
//   gcc -O2 -o /tmp/udp_blast scripts/bench/udp_blast.c
//   unshare -rn sh -c 'ip link set lo up; ip route add 224.0.0.0/4 dev lo; /tmp/udp_blast \
//     --group 239.1.2.3 --port 40000 --rate 20000 --packets 100000'
// Safety: refuses non-multicast groups and sends with IP_MULTICAST_TTL 0 (never leaves the host).
// Prints one JSON line: {"sent":N,"elapsedS":S,"rate":PPS,"errors":E}.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DATAGRAM 1328
#define MAX_BATCH 64

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t) {
  struct timespec ts;
  ts.tv_sec = (time_t)t;
  ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static void usage(void) {
  fprintf(stderr,
          "usage: udp_blast --group G --port P --rate PPS --packets N [--ssrc X] [--seq S]"
          " [--max-seconds S]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *group = NULL;
  long port = 0, packets = 0;
  double rate = 0, max_seconds = 0;
  uint32_t ssrc = 0x5eed1234u;
  uint32_t seq0 = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--group")) group = argv[i + 1];
    else if (!strcmp(argv[i], "--port")) port = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--rate")) rate = strtod(argv[i + 1], NULL);
    else if (!strcmp(argv[i], "--packets")) packets = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--ssrc")) ssrc = (uint32_t)strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--seq")) seq0 = (uint32_t)strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--max-seconds")) max_seconds = strtod(argv[i + 1], NULL);
    else usage();
  }
  if (group == NULL || port < 1 || port > 65535 || rate <= 0 || packets < 1) usage();
  struct in_addr addr;
  if (inet_pton(AF_INET, group, &addr) != 1 || (ntohl(addr.s_addr) >> 28) != 0xe) {
    fprintf(stderr, "udp_blast: %s is not an IPv4 multicast group\n", group);
    return 2;
  }
  if (max_seconds <= 0) max_seconds = (double)packets / rate + 5.0;

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  unsigned char ttl = 0, loop = 1;
  struct in_addr lo;
  inet_pton(AF_INET, "127.0.0.1", &lo);
  if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl) < 0 ||
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) < 0 ||
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo) < 0) {
    perror("setsockopt");
    return 1;
  }
  struct sockaddr_in to = {0};
  to.sin_family = AF_INET;
  to.sin_port = htons((uint16_t)port);
  to.sin_addr = addr;

  static unsigned char bufs[MAX_BATCH][DATAGRAM];
  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iovs[MAX_BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < MAX_BATCH; i++) {
    unsigned char *b = bufs[i];
    memset(b, 0xff, DATAGRAM);
    b[0] = 0x80;  // V=2, P=0, X=0, CC=0
    b[1] = 33;    // M=0, PT=33 (MP2T)
    b[8] = (unsigned char)(ssrc >> 24);
    b[9] = (unsigned char)(ssrc >> 16);
    b[10] = (unsigned char)(ssrc >> 8);
    b[11] = (unsigned char)ssrc;
    for (int k = 0; k < 7; k++) {  // 7 null TS packets: sync 0x47, PID 0x1FFF, payload only
      unsigned char *ts = b + 12 + k * 188;
      ts[0] = 0x47;
      ts[1] = 0x1f;
      ts[2] = 0xff;
      ts[3] = 0x10;
    }
    iovs[i].iov_base = b;
    iovs[i].iov_len = DATAGRAM;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
  }

  long sent = 0, errors = 0;
  const double ticks_per_packet = 90000.0 / rate;
  const double start = now_s();
  const double deadline = start + max_seconds;
  while (sent < packets) {
    double t = now_s();
    if (t > deadline) break;
    long due = (long)((t - start) * rate) + 1;
    if (due > packets) due = packets;
    if (due <= sent) {
      sleep_until(start + (double)sent / rate);
      continue;
    }
    int n = (int)(due - sent < MAX_BATCH ? due - sent : MAX_BATCH);
    for (int i = 0; i < n; i++) {
      long k = sent + i;
      uint32_t seq = (uint32_t)(seq0 + k) & 0xffff;
      uint32_t ts = (uint32_t)(uint64_t)((double)k * ticks_per_packet);
      unsigned char *b = bufs[i];
      b[2] = (unsigned char)(seq >> 8);
      b[3] = (unsigned char)seq;
      b[4] = (unsigned char)(ts >> 24);
      b[5] = (unsigned char)(ts >> 16);
      b[6] = (unsigned char)(ts >> 8);
      b[7] = (unsigned char)ts;
    }
    int r = sendmmsg(fd, msgs, (unsigned)n, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      errors++;
      if (errors > 1000) {
        perror("sendmmsg");
        break;
      }
      continue;
    }
    sent += r;
  }
  double elapsed = now_s() - start;
  printf("{\"sent\":%ld,\"elapsedS\":%.6f,\"rate\":%.1f,\"errors\":%ld}\n", sent, elapsed,
         elapsed > 0 ? (double)sent / elapsed : 0.0, errors);
  close(fd);
  return 0;
}
