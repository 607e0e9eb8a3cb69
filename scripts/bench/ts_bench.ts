// Micro benchmark of the MPEG-TS analyser alone (ETSI TR 101 290 analysis of ISO/IEC 13818-1
// packets, lib/ts/analyser.ts): TS packets per second on one core on a realistic stream, against a
// bare loop that only reads each packet's PID, measured in the same run. No network, no permissions.
// Run: deno run scripts/bench/ts_bench.ts [--seconds 3]
// Stdout: one JSON line per figure (see figures.ts); stderr: a table with the target (1 000 000/s).
import { ConfigError } from "../../lib/common/errors.ts";
import { exitCodeFor, parseFlags, parseSecondsFlag } from "../../lib/common/flags.ts";
import { TsAnalyser } from "../../lib/ts/analyser.ts";
import { TS } from "../../lib/ts/constants.ts";
import { crc32Mpeg2 } from "../../lib/ts/crc32.ts";
import { type Figure, figureLine, higherIsBetter, renderTable } from "./figures.ts";

/** Issue 12: the analyser keeps up with at least this many TS packets per second (≈ 1.5 Gbit/s). */
export const TS_ANALYSER_TARGET_PPS = 1_000_000;

/** The synthetic stream: a TV service as VLC or ffmpeg would send it, 6 Mbit/s for 20 s. */
const STREAM = {
  BITRATE: 6_000_000,
  SECONDS: 20,
  VIDEO_PID: 0x100,
  AUDIO_PID: 0x101,
  PMT_PID: 0x1000,
  /** H.264 at 5 Mbit/s, 25 frames/s; AAC at 128 kbit/s, a frame every 21.3 ms. */
  VIDEO_BPS: 5_000_000,
  FPS: 25,
  AUDIO_BPS: 128_000,
  AUDIO_FRAME_MS: 1024 / 48,
  PCR_MS: 30,
  PSI_MS: 100,
} as const;

function sectionPacket(pid: number, cc: number, section: number[]): Uint8Array {
  const p = new Uint8Array(TS.PACKET_SIZE).fill(0xff);
  p.set([0x47, 0x40 | (pid >> 8), pid & 0xff, 0x10 | (cc & 15), 0, ...section]);
  const crc = crc32Mpeg2(p, 5, 5 + section.length);
  new DataView(p.buffer).setUint32(5 + section.length, crc);
  return p;
}

function longSection(tableId: number, id: number, body: number[]): number[] {
  const length = 5 + body.length + 4;
  return [tableId, 0xb0 | (length >> 8), length & 0xff, id >> 8, id & 0xff, 0xc1, 0, 0, ...body];
}

function pts(out: Uint8Array, at: number, prefix: number, value: number): void {
  out[at] = (prefix << 4) | (Math.floor(value / 2 ** 30) << 1) | 1;
  out[at + 1] = Math.floor(value / 2 ** 22) & 0xff;
  out[at + 2] = ((Math.floor(value / 2 ** 15) & 0x7f) << 1) | 1;
  out[at + 3] = Math.floor(value / 2 ** 7) & 0xff;
  out[at + 4] = ((value & 0x7f) << 1) | 1;
}

/**
 * A constant-bitrate multiplex of PAT, PMT (H.264 + AAC, PCR on video), H.264-sized video PES
 * (PTS and DTS, one per frame), AAC PES, PCR every 30 ms and null padding, in datagrams of 7.
 */
function syntheticStream(): { datagrams: Uint8Array[]; packets: number } {
  const s = STREAM;
  const packetMs = (TS.PACKET_SIZE * 8 * 1000) / s.BITRATE;
  const total = Math.floor((s.SECONDS * 1000) / packetMs / 7) * 7;
  const all = new Uint8Array(total * TS.PACKET_SIZE);
  const pat = longSection(0, 1, [0, 1, 0xe0 | (s.PMT_PID >> 8), s.PMT_PID & 0xff]);
  const pmt = longSection(2, 1, [
    0xe0 | (s.VIDEO_PID >> 8),
    s.VIDEO_PID & 0xff,
    0xf0,
    0,
    0x1b,
    0xe0 | (s.VIDEO_PID >> 8),
    s.VIDEO_PID & 0xff,
    0xf0,
    0,
    0x0f,
    0xe0 | (s.AUDIO_PID >> 8),
    s.AUDIO_PID & 0xff,
    0xf0,
    0,
  ]); // deno-fmt-ignore
  const cc = new Map<number, number>();
  const next = (pid: number) => {
    const v = cc.get(pid) ?? 0;
    cc.set(pid, (v + 1) & 15);
    return v;
  };
  let videoLeft = 0, audioLeft = 0, videoFrame = 0, audioFrame = 0;
  let nextPsi = 0, nextPcr = 0, nextVideo = 0, nextAudio = 0, psiStep = 0;
  for (let i = 0; i < total; i++) {
    const t = i * packetMs;
    const p = all.subarray(i * TS.PACKET_SIZE, (i + 1) * TS.PACKET_SIZE);
    if (t >= nextPsi) {
      p.set(
        psiStep === 0
          ? sectionPacket(0, next(0), pat)
          : sectionPacket(s.PMT_PID, next(s.PMT_PID), pmt),
      );
      if (++psiStep === 2) (psiStep = 0), (nextPsi += s.PSI_MS);
      continue;
    }
    if (t >= nextVideo && videoLeft === 0) {
      videoLeft = Math.round(s.VIDEO_BPS / 8 / s.FPS / 184);
      nextVideo += 1000 / s.FPS;
    }
    if (t >= nextAudio && audioLeft === 0) {
      audioLeft = Math.ceil(s.AUDIO_BPS / 8 * s.AUDIO_FRAME_MS / 1000 / 184);
      nextAudio += s.AUDIO_FRAME_MS;
    }
    const pcrDue = t >= nextPcr;
    const pid = videoLeft > 0 || pcrDue ? s.VIDEO_PID : audioLeft > 0 ? s.AUDIO_PID : TS.NULL_PID;
    p.fill(0xab);
    p[0] = 0x47;
    if (pid === TS.NULL_PID) {
      p.set([0x1f, 0xff, 0x10], 1);
      continue;
    }
    const left = pid === s.VIDEO_PID ? videoLeft : audioLeft;
    const start = pid === s.VIDEO_PID
      ? left === Math.round(s.VIDEO_BPS / 8 / s.FPS / 184)
      : left === Math.ceil(s.AUDIO_BPS / 8 * s.AUDIO_FRAME_MS / 1000 / 184);
    p[1] = (start ? 0x40 : 0) | (pid >> 8);
    p[2] = pid & 0xff;
    let at = 4;
    if (pcrDue && pid === s.VIDEO_PID) {
      p[3] = 0x30 | next(pid);
      p.set([7, 0x10], 4);
      const base = Math.floor((t * 90) % 2 ** 33);
      p.set(
        [base / 2 ** 25, base / 2 ** 17, base / 2 ** 9, base / 2].map((v) => Math.floor(v) & 0xff),
        6,
      );
      p[10] = ((base & 1) << 7) | 0x7e;
      p[11] = 0;
      at = 12;
      nextPcr += s.PCR_MS;
    } else p[3] = 0x10 | next(pid);
    if (start) {
      const frame = pid === s.VIDEO_PID ? videoFrame++ : audioFrame++;
      const value = Math.round(frame * (pid === s.VIDEO_PID ? 3600 : 1920)) + 63_000;
      p.set([0, 0, 1, pid === s.VIDEO_PID ? 0xe0 : 0xc0, 0, 0, 0x80, 0xc0, 10], at);
      pts(p, at + 9, 3, value);
      pts(p, at + 14, 1, value - 3600);
    }
    if (pid === s.VIDEO_PID) videoLeft = Math.max(0, videoLeft - 1);
    else audioLeft--;
  }
  const datagrams: Uint8Array[] = [];
  for (let i = 0; i < total; i += 7) datagrams.push(all.subarray(i * 188, (i + 7) * 188));
  return { datagrams, packets: total };
}

/** Runs `pass` over the stream until `seconds` of wall time have passed; returns packets/s. */
function measure(
  seconds: number,
  packetsPerPass: number,
  pass: (offsetMs: number) => void,
): number {
  pass(0); // warm-up: JIT and first-sight allocations
  let passes = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000 && passes < 10_000) {
    pass((passes + 1) * STREAM.SECONDS * 1000);
    passes++;
  }
  return (passes * packetsPerPass) / ((performance.now() - started) / 1000);
}

/** Measures the bare loop, then the analyser; returns the figures (baseline first). */
export function tsBench(seconds = 3): { figures: Figure[]; note: string } {
  const { datagrams, packets } = syntheticStream();
  const datagramMs = (7 * TS.PACKET_SIZE * 8 * 1000) / STREAM.BITRATE;
  let sink = 0;
  const bare = measure(seconds, packets, () => {
    for (const d of datagrams) {
      for (let at = 0; at < d.length; at += TS.PACKET_SIZE) {
        sink += ((d[at + 1]! & 0x1f) << 8) | d[at + 2]!;
      }
    }
  });
  const analyser = new TsAnalyser();
  let nextInterval = 1000;
  const analysed = measure(seconds, packets, (offsetMs) => {
    for (let i = 0; i < datagrams.length; i++) {
      const arrival = offsetMs + i * datagramMs;
      if (arrival >= nextInterval) {
        sink += analyser.takeInterval(arrival).packets; // once a second, as the client reports
        nextInterval += 1000;
      }
      analyser.feed(datagrams[i]!, arrival, false);
    }
  });
  const s = analyser.snapshot(nextInterval);
  const note = `synthetic 6 Mbit/s H.264+AAC service, ${packets} packets a pass; ` +
    `${s.ccErrors} CC errors where passes join; sink ${sink % 7}`;
  return {
    figures: [
      higherIsBetter("ts.bare_pid_loop", bare, "packets/s"),
      higherIsBetter("ts.analyser_packets_per_s", analysed, "packets/s", "ts.bare_pid_loop", bare),
      higherIsBetter(
        "ts.analyser_vs_target",
        analysed,
        "packets/s",
        "target",
        TS_ANALYSER_TARGET_PPS,
      ),
    ],
    note,
  };
}

/** Runs the benchmark; returns the exit code (2 for a bad flag). */
export function main(args: string[]): number {
  let seconds: number;
  try {
    const values = parseFlags(args, { seconds: { type: "string", default: "3" } });
    seconds = parseSecondsFlag(values.seconds, "--seconds");
    if (seconds > 60) throw new ConfigError("--seconds", `--seconds: at most 60, got ${seconds}`);
  } catch (error) {
    return exitCodeFor("ts_bench", error);
  }
  const { figures, note } = tsBench(seconds);
  const encoder = new TextEncoder();
  for (const f of figures) Deno.stdout.writeSync(encoder.encode(figureLine(f)));
  const target = figures[2]!;
  Deno.stderr.writeSync(encoder.encode(renderTable([
    { figure: figures[0]!, target: "", note: "reads each packet's PID only" },
    { figure: figures[1]!, target: "", note },
    {
      figure: target,
      target: `≥ ${TS_ANALYSER_TARGET_PPS} packets/s`,
      pass: target.value >= TS_ANALYSER_TARGET_PPS,
      note: "one core, this run",
    },
  ], "MPEG-TS analyser (TR 101 290) micro benchmark")));
  return 0;
}

if (import.meta.main) Deno.exit(main(Deno.args));
