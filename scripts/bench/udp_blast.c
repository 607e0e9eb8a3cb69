// Paced RTP/MPEG-TS multicast sender for the receive benchmarks (RFC 3550 §5.1 header, RFC 2250
// payload of 7 TS packets of ISO/IEC 13818-1): sendmmsg() batches on a clock_nanosleep schedule, to
// one group or to N consecutive groups (one stream each), with null TS packets or a real transport
// stream (PAT, PMT, H.264-sized video PES with PTS/DTS and PCR, AAC-sized audio PES, null padding).
// Built and run by scripts/bench/run.ts inside a private network namespace; by hand:
//   gcc -O2 -o /tmp/udp_blast scripts/bench/udp_blast.c
//   unshare -rn sh -c "ip link set lo up; ip route add 224.0.0.0/4 dev lo; /tmp/udp_blast
//     --group 239.1.2.3 --port 40000 --rate 20000 --packets 100000 [--groups 50] [--payload ts]"
// --rate and --packets are per group; group i is --group + i (the address as a 32-bit number),
// with SSRC --ssrc + i. Safety: refuses non-multicast groups and sends with IP_MULTICAST_TTL 0
// (never leaves the host). Prints one JSON line: {"sent":N,"elapsedS":S,"rate":PPS,"errors":E,
// "cpuS":C} (sent and rate over all groups; C = its user + system CPU seconds, getrusage(2)).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TS_PACKETS 7
#define TS_SIZE 188
#define RTP_HEADER 12
#define DATAGRAM (RTP_HEADER + TS_PACKETS * TS_SIZE)
#define MAX_BATCH 64
#define MAX_GROUPS 256

// The transport stream of --payload ts, the layout of scripts/bench/ts_bench.ts: one programme,
// PMT on 0x1000, H.264 video on 0x100 (also the PCR PID), AAC audio on 0x101.
#define PMT_PID 0x1000
#define VIDEO_PID 0x100
#define AUDIO_PID 0x101
#define NULL_PID 0x1fff
#define PSI_MS 100.0
#define PCR_MS 30.0
#define FPS 25.0
#define AUDIO_BPS 128000.0
#define AUDIO_FRAME_MS (1024.0 * 1000.0 / 48000.0)
#define PTS_DELAY_90K 18000 // 200 ms of presentation delay behind the PCR
#define VIDEO_SHARE 0.85    // of the TS rate; the rest is audio, PSI, PCR and null padding

/** One stream's muxer state. */
struct ts_state {
  double packet_ms;    // duration of one TS packet at the stream's rate
  long packets;        // TS packets written
  double next_psi_ms;  // next PAT + PMT
  int psi_step;        // 0: PAT due next, 1: PMT due next
  double last_pcr_ms;  // last PCR written
  long video_frame, audio_frame;
  int video_left, audio_left;  // PES bytes still to write of the current frame (0: none)
  int video_pes_bytes, audio_pes_bytes;
  unsigned char cc[2];  // continuity counters of the video and audio PIDs
  unsigned char pat_cc, pmt_cc;
};

static uint32_t crc_table[256];

static void crc_init(void) {  // CRC-32/MPEG-2 (ISO/IEC 13818-1 Annex A): poly 0x04C11DB7, no reflection
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i << 24;
    for (int k = 0; k < 8; k++) c = (c & 0x80000000u) ? (c << 1) ^ 0x04c11db7u : c << 1;
    crc_table[i] = c;
  }
}

static uint32_t crc32_mpeg2(const unsigned char *p, int n) {
  uint32_t c = 0xffffffffu;
  for (int i = 0; i < n; i++) c = (c << 8) ^ crc_table[((c >> 24) ^ p[i]) & 0xff];
  return c;
}

static unsigned char pat_packet[TS_SIZE], pmt_packet[TS_SIZE];

/** A packet holding one long section (§2.4.4): pointer_field 0, section, CRC_32, 0xFF stuffing. */
static void section_packet(unsigned char *out, int pid, int table_id, int id,
                           const unsigned char *body, int body_len) {
  memset(out, 0xff, TS_SIZE);
  out[0] = 0x47;
  out[1] = 0x40 | (pid >> 8);
  out[2] = pid & 0xff;
  out[3] = 0x10;
  out[4] = 0;
  unsigned char *s = out + 5;
  int section_length = 5 + body_len + 4;
  s[0] = table_id;
  s[1] = 0xb0 | (section_length >> 8);
  s[2] = section_length & 0xff;
  s[3] = id >> 8;
  s[4] = id & 0xff;
  s[5] = 0xc1;  // version 0, current
  s[6] = 0;
  s[7] = 0;
  memcpy(s + 8, body, body_len);
  uint32_t crc = crc32_mpeg2(s, 8 + body_len);
  s[8 + body_len] = crc >> 24;
  s[9 + body_len] = crc >> 16;
  s[10 + body_len] = crc >> 8;
  s[11 + body_len] = crc;
}

static void tables_init(void) {
  const unsigned char pat[] = {0, 1, 0xe0 | (PMT_PID >> 8), PMT_PID & 0xff};
  section_packet(pat_packet, 0, 0x00, 1, pat, sizeof pat);
  const unsigned char pmt[] = {
      0xe0 | (VIDEO_PID >> 8), VIDEO_PID & 0xff, 0xf0, 0,                   // PCR PID, no descriptors
      0x1b, 0xe0 | (VIDEO_PID >> 8), VIDEO_PID & 0xff, 0xf0, 0,           // H.264
      0x0f, 0xe0 | (AUDIO_PID >> 8), AUDIO_PID & 0xff, 0xf0, 0,           // AAC (ADTS)
  };
  section_packet(pmt_packet, PMT_PID, 0x02, 1, pmt, sizeof pmt);
}

static void ts_init(struct ts_state *s, double bitrate) {
  memset(s, 0, sizeof *s);
  s->packet_ms = TS_SIZE * 8 * 1000.0 / bitrate;
  s->last_pcr_ms = -1e9;
  s->video_pes_bytes = (int)(bitrate * VIDEO_SHARE / 8 / FPS);
  s->audio_pes_bytes = (int)(AUDIO_BPS / 8 * AUDIO_FRAME_MS / 1000) + 14;
}

static void write_timestamp(unsigned char *p, int prefix, uint64_t v) {  // §2.4.3.7 PTS/DTS
  v &= 0x1ffffffffull;
  p[0] = (unsigned char)((prefix << 4) | ((v >> 29) & 0x0e) | 1);
  p[1] = (unsigned char)(v >> 22);
  p[2] = (unsigned char)(((v >> 14) & 0xfe) | 1);
  p[3] = (unsigned char)(v >> 7);
  p[4] = (unsigned char)(((v << 1) & 0xfe) | 1);
}

/**
 * One TS packet of the stream into `out`, at mux time packets × packet_ms. Slot priority: PAT then
 * PMT when due (every 100 ms), a PCR on the video PID when due (every 30 ms; in an adaptation-field
 * only packet when no video is pending, which does not advance the counter, §2.4.3.3), audio while
 * a frame is pending, video while a frame is pending, else a null packet.
 */
static void ts_packet(struct ts_state *s, unsigned char *out) {
  double now = (double)s->packets * s->packet_ms;
  s->packets++;
  memset(out, 0xff, TS_SIZE);
  out[0] = 0x47;
  if (now >= s->next_psi_ms) {
    memcpy(out, s->psi_step == 0 ? pat_packet : pmt_packet, TS_SIZE);
    out[3] = 0x10 | ((s->psi_step == 0 ? s->pat_cc++ : s->pmt_cc++) & 15);
    if (++s->psi_step == 2) {
      s->psi_step = 0;
      s->next_psi_ms += PSI_MS;
    }
    return;
  }
  if (s->audio_left == 0 && now >= s->audio_frame * AUDIO_FRAME_MS) s->audio_left = s->audio_pes_bytes;
  if (s->video_left == 0 && now >= s->video_frame * 1000.0 / FPS) s->video_left = s->video_pes_bytes;
  int pcr = now - s->last_pcr_ms >= PCR_MS;
  int pid = pcr ? VIDEO_PID : s->audio_left > 0 ? AUDIO_PID : s->video_left > 0 ? VIDEO_PID : NULL_PID;
  if (pid == NULL_PID) {
    out[1] = 0x1f;
    out[2] = 0xff;
    out[3] = 0x10;
    return;
  }
  int video = pid == VIDEO_PID;
  int *left = video ? &s->video_left : &s->audio_left;
  unsigned char *cc = &s->cc[video ? 0 : 1];
  int af = 0;  // adaptation field bytes, its length byte included
  if (pcr) {   // §2.4.3.4: PCR base (33 bits, 90 kHz), 6 reserved bits, extension 0
    uint64_t base = (uint64_t)(now * 90.0);
    s->last_pcr_ms = now;
    out[4] = 7;
    out[5] = 0x10;
    out[6] = (unsigned char)(base >> 25);
    out[7] = (unsigned char)(base >> 17);
    out[8] = (unsigned char)(base >> 9);
    out[9] = (unsigned char)(base >> 1);
    out[10] = (unsigned char)(((base & 1) << 7) | 0x7e);
    out[11] = 0;
    af = 8;
    if (*left == 0) {
      out[1] = pid >> 8;
      out[2] = pid & 0xff;
      out[3] = 0x20 | ((*cc - 1) & 15);
      out[4] = TS_SIZE - 5;
      return;
    }
  }
  int whole = video ? s->video_pes_bytes : s->audio_pes_bytes;
  int start = *left == whole;
  int room = TS_SIZE - 4 - af;
  int length = *left < room ? *left : room;
  if (length < room) {  // the frame's last bytes: stuffing in the adaptation field
    int stuffing = room - length;
    if (af == 0) {
      out[4] = (unsigned char)(stuffing - 1);
      if (stuffing > 1) out[5] = 0;
    } else {
      out[4] = (unsigned char)(out[4] + stuffing);
    }
    af += stuffing;
  }
  unsigned char *p = out + 4 + af;
  memset(p, 0xab, (size_t)length);  // elementary stream bytes (not decoded by anyone here)
  if (start) {  // PES header (§2.4.3.6): PTS and DTS for video, PTS for audio; length 0 (unbounded)
    long frame = video ? s->video_frame++ : s->audio_frame++;
    uint64_t pts = video ? (uint64_t)frame * 3600 + PTS_DELAY_90K
                         : (uint64_t)((double)frame * AUDIO_FRAME_MS * 90.0) + PTS_DELAY_90K;
    p[0] = 0;
    p[1] = 0;
    p[2] = 1;
    p[3] = video ? 0xe0 : 0xc0;
    p[4] = 0;
    p[5] = 0;
    p[6] = 0x80;
    if (video) {
      p[7] = 0xc0;
      p[8] = 10;
      write_timestamp(p + 9, 3, pts);
      write_timestamp(p + 14, 1, pts - 3600);
    } else {
      p[7] = 0x80;
      p[8] = 5;
      write_timestamp(p + 9, 2, pts);
    }
  }
  *left -= length;
  out[1] = (unsigned char)((start ? 0x40 : 0) | (pid >> 8));
  out[2] = pid & 0xff;
  out[3] = (unsigned char)((af > 0 ? 0x30 : 0x10) | (*cc & 15));
  (*cc)++;
}

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
          "usage: udp_blast --group G --port P --rate PPS --packets N [--groups N] [--payload "
          "null|ts] [--pt N] [--ssrc X] [--seq S] [--max-seconds S]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *group = NULL, *payload = "null";
  long port = 0, packets = 0, groups = 1, pt = 33;
  double rate = 0, max_seconds = 0;
  uint32_t ssrc = 0x5eed1234u;
  uint32_t seq0 = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--group")) group = argv[i + 1];
    else if (!strcmp(argv[i], "--port")) port = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--rate")) rate = strtod(argv[i + 1], NULL);
    else if (!strcmp(argv[i], "--packets")) packets = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--groups")) groups = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--payload")) payload = argv[i + 1];
    else if (!strcmp(argv[i], "--pt")) pt = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--ssrc")) ssrc = (uint32_t)strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--seq")) seq0 = (uint32_t)strtoul(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--max-seconds")) max_seconds = strtod(argv[i + 1], NULL);
    else usage();
  }
  int ts_mode = !strcmp(payload, "ts");
  if (group == NULL || port < 1 || port > 65535 || rate <= 0 || packets < 1 || groups < 1 ||
      groups > MAX_GROUPS || pt < 0 || pt > 127 || (!ts_mode && strcmp(payload, "null")))
    usage();
  struct in_addr addr;
  if (inet_pton(AF_INET, group, &addr) != 1 || (ntohl(addr.s_addr) >> 28) != 0xe ||
      ((ntohl(addr.s_addr) + (uint32_t)groups - 1) >> 28) != 0xe) {
    fprintf(stderr, "udp_blast: %s (+%ld) is not an IPv4 multicast group\n", group, groups - 1);
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
  static struct sockaddr_in to[MAX_GROUPS];
  static struct ts_state mux[MAX_GROUPS];
  crc_init();
  tables_init();
  for (long g = 0; g < groups; g++) {
    to[g].sin_family = AF_INET;
    to[g].sin_port = htons((uint16_t)port);
    to[g].sin_addr.s_addr = htonl(ntohl(addr.s_addr) + (uint32_t)g);
    ts_init(&mux[g], rate * TS_PACKETS * TS_SIZE * 8);
  }

  static unsigned char bufs[MAX_BATCH][DATAGRAM];
  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iovs[MAX_BATCH];
  memset(msgs, 0, sizeof msgs);
  for (int i = 0; i < MAX_BATCH; i++) {
    unsigned char *b = bufs[i];
    memset(b, 0xff, DATAGRAM);
    b[0] = 0x80;  // V=2, P=0, X=0, CC=0
    b[1] = (unsigned char)pt;  // M=0
    for (int k = 0; k < TS_PACKETS; k++) {  // null TS packets: sync 0x47, PID 0x1FFF, payload only
      unsigned char *ts = b + RTP_HEADER + k * TS_SIZE;
      ts[0] = 0x47;
      ts[1] = 0x1f;
      ts[2] = 0xff;
      ts[3] = 0x10;
    }
    iovs[i].iov_base = b;
    iovs[i].iov_len = DATAGRAM;
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_namelen = sizeof to[0];
  }

  // Datagram k overall goes to group k % groups as its (k / groups)-th.
  const long total = packets * groups;
  const double total_rate = rate * (double)groups;
  const double ticks_per_packet = 90000.0 / rate;
  long sent = 0, errors = 0;
  const double start = now_s();
  const double deadline = start + max_seconds;
  while (sent < total) {
    double t = now_s();
    if (t > deadline) break;
    long due = (long)((t - start) * total_rate) + 1;
    if (due > total) due = total;
    if (due <= sent) {
      sleep_until(start + (double)sent / total_rate);
      continue;
    }
    int n = (int)(due - sent < MAX_BATCH ? due - sent : MAX_BATCH);
    for (int i = 0; i < n; i++) {
      long k = sent + i;
      long g = k % groups, index = k / groups;
      uint32_t seq = (uint32_t)(seq0 + index) & 0xffff;
      uint32_t ts = (uint32_t)(uint64_t)((double)index * ticks_per_packet);
      uint32_t id = ssrc + (uint32_t)g;
      unsigned char *b = bufs[i];
      b[2] = (unsigned char)(seq >> 8);
      b[3] = (unsigned char)seq;
      b[4] = (unsigned char)(ts >> 24);
      b[5] = (unsigned char)(ts >> 16);
      b[6] = (unsigned char)(ts >> 8);
      b[7] = (unsigned char)ts;
      b[8] = (unsigned char)(id >> 24);
      b[9] = (unsigned char)(id >> 16);
      b[10] = (unsigned char)(id >> 8);
      b[11] = (unsigned char)id;
      if (ts_mode) {
        for (int p = 0; p < TS_PACKETS; p++) ts_packet(&mux[g], b + RTP_HEADER + p * TS_SIZE);
      }
      msgs[i].msg_hdr.msg_name = &to[g];
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
    if (r < n && ts_mode) {
      // The muxers already wrote the unsent datagrams: count them as sent-and-lost would break
      // the truth, so stop (never seen: sendmmsg on a UDP socket sends all or fails).
      fprintf(stderr, "udp_blast: sendmmsg sent %d of %d\n", r, n);
      sent += r;
      break;
    }
    sent += r;
  }
  double elapsed = now_s() - start;
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  double cpu = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
               (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
  printf("{\"sent\":%ld,\"elapsedS\":%.6f,\"rate\":%.1f,\"errors\":%ld,\"cpuS\":%.3f}\n", sent,
         elapsed, elapsed > 0 ? (double)sent / elapsed : 0.0, errors, cpu);
  close(fd);
  return 0;
}
