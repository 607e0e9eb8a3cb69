// Drives real third-party RTP peers (VLC, ffmpeg, GStreamer) as subprocesses for end-to-end tests:
// senders of MPEG-TS over RTP (RFC 2250, PT 33) and H.264 over RTP (RFC 6184, PT 96), plus ffprobe
// and VLC as receivers. Senders default to multicast TTL 0; run them inside scripts/netns_test.sh.

import { pathToFileURL } from "node:url";
import { delay } from "../../lib/common/delay.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { Child, type ChildResult, runToEnd, within } from "../../scripts/support/process.ts";

/**
 * Prefix that runs a command as `nobody` in a nested user namespace. VLC refuses to run as uid 0,
 * which is what `unshare -rn` (scripts/netns_test.sh) makes every process; the nested namespace maps
 * nobody back to the caller's uid, so VLC can still read and write the caller's files.
 */
export const AS_NOBODY = ["unshare", "-U", "--map-user=65534", "--map-group=65534"] as const;

/** Flags every VLC run gets: no D-Bus, no audio device, no on-screen title (headless namespace). */
export const VLC_HEADLESS_FLAGS = ["--no-dbus", "--aout=dummy", "--no-video-title-show"] as const;

/** Protocols ffprobe must be allowed to open an SDP file or URL and the RTP/UDP it points at. */
export const FFPROBE_PROTOCOL_WHITELIST = "file,http,tcp,udp,rtp" as const;

/** Grace period between the polite signal and SIGKILL in {@link PeerProcess.stop}. */
const STOP_GRACE_MS = 3_000;
/** Each captured output keeps at most this many characters (the end of the output). */
const CAPTURE_LIMIT = 1 << 20;

/** A peer could not be started, failed, or did not answer in time. */
export class PeerError extends Error {
  override name = "PeerError";
  /** The command line that was run. */
  readonly command: readonly string[];
  /** The end of its standard error, for diagnostics. */
  readonly stderr: string;
  constructor(
    message: string,
    options: { command?: readonly string[]; stderr?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.command = options.command ?? [];
    this.stderr = options.stderr ?? "";
  }
}

/** A running peer subprocess. `await using` stops it (and removes its scratch files). */
export interface PeerProcess extends AsyncDisposable {
  /** Short name for messages: "vlc", "ffmpeg", "gst-launch". */
  readonly name: string;
  readonly pid: number;
  /** The full command line, program first. */
  readonly command: readonly string[];
  /** Resolves with the exit status once the process has ended (whatever ended it). */
  readonly status: Promise<Deno.CommandStatus>;
  /** True once the process has ended. */
  readonly exited: boolean;
  /** Standard error captured so far (the last MiB). */
  stderr(): string;
  /** Standard output captured so far (the last MiB). */
  stdout(): string;
  /** Sends SIGTERM (SIGINT for gst-launch), waits up to 3 s, then SIGKILL; waits for the exit. */
  stop(): Promise<void>;
}

/** The peers {@link peersAvailable} knows. */
export type PeerName = "vlc" | "ffmpeg" | "gst";

/** Which peers are installed and usable here. */
export interface PeersAvailability {
  /** cvlc starts as nobody in a nested user namespace. */
  readonly vlc: boolean;
  /** ffmpeg and ffprobe run. */
  readonly ffmpeg: boolean;
  /** gst-launch-1.0 runs and has every element {@link startGstMpegTs} needs. */
  readonly gst: boolean;
}

/** Options of {@link makeClip}. */
export interface ClipOptions {
  /** Duration in seconds (default 4). */
  seconds?: number;
  /** Frame width in pixels (default 320). */
  width?: number;
  /** Frame height in pixels (default 240). */
  height?: number;
  /** Frames per second; also the keyframe interval, so one keyframe a second (default 25). */
  fps?: number;
}

/** Options of {@link startVlcRtp}. */
export interface VlcRtpOptions {
  /** Media file to stream (e.g. from {@link makeClip}). */
  file: string;
  /** Destination group (default 239.0.0.1). */
  group?: string;
  /** Destination port (default 5004); VLC sends RTCP sender reports to port + 1. */
  port?: number;
  /** Restart the file at its end (default true). Each pass gets a new SSRC unless `soutKeep`. */
  loop?: boolean;
  /** Let VLC write its SDP here (`sdp=file://`); VLC deletes the file when it exits. */
  sdpFile?: string;
  /** Multicast TTL through `--ttl` (default 0); -1 is VLC's own default, the OS's TTL 1. */
  ttl?: number;
  /** `--sout-keep`: one RTP session (one SSRC, continuous sequence) across loop passes. */
  soutKeep?: boolean;
  /** `ts` (default): MPEG-TS in RTP, PT 33; `none`: one RTP stream per track (port, port + 2). */
  mux?: "ts" | "none";
  /** Announce the stream with SAP (`sap,name=...,description=...`), every 5 s by VLC's default. */
  sap?: { name: string; description?: string };
}

/** A VLC stream output started by {@link startVlcRtp}. */
export interface VlcRtpSender extends PeerProcess {
  /** The `--sout` chain, e.g. `#rtp{dst=239.0.0.1,port=5004,mux=ts}`. */
  readonly sout: string;
  /** Waits (at most `timeoutMs`, default 5 000) for VLC to write `sdpFile` and returns it. */
  readSdp(options?: { timeoutMs?: number }): Promise<string>;
}

/** Options of {@link startFfmpegH264Rtp}. */
export interface FfmpegH264RtpOptions {
  /** H.264 file to send with `-c:v copy`; without it a lavfi testsrc is encoded with libx264. */
  file?: string;
  /** Destination group (default 239.0.0.1). */
  group?: string;
  /** Destination port (default 5004); ffmpeg sends RTCP sender reports to port + 1. */
  port?: number;
  /** RTP payload type (default 96). */
  payloadType?: number;
  /** Multicast TTL, URL option `ttl` (default 0; ffmpeg's own default is 16). */
  ttl?: number;
  /** Source address to bind, URL option `localaddr` (e.g. 127.0.0.1). */
  localAddr?: string;
  /** Largest datagram (RTP header included), URL option `pkt_size` (ffmpeg's default 1472). */
  pktSize?: number;
  /** Fixed SSRC (`-ssrc`); random otherwise. */
  ssrc?: number;
  /** Where ffmpeg writes its SDP (`-sdp_file`); without it ffmpeg prints the SDP to stdout. */
  sdpFile?: string;
  /** Loop the file forever (`-stream_loop -1`, default true). */
  loop?: boolean;
}

/** An ffmpeg RTP sender started by {@link startFfmpegH264Rtp}. */
export interface FfmpegRtpSender extends PeerProcess {
  /** Waits (at most `timeoutMs`, default 5 000) for ffmpeg's SDP (file, else stdout). */
  readSdp(options?: { timeoutMs?: number }): Promise<string>;
}

/** Options of {@link startGstMpegTs}. */
export interface GstMpegTsOptions {
  /** Destination group (default 239.0.0.1). */
  group?: string;
  /** Destination port (default 5004). */
  port?: number;
  /** Video frames to send, then EOS (default 50: two seconds at 25 fps). */
  numBuffers?: number;
  /** Frames per second of the live test source (default 25). */
  fps?: number;
  /** Add an AAC audio track of the same duration (default false). */
  audio?: boolean;
  /** Multicast TTL, udpsink `ttl-mc` (default 0). */
  ttl?: number;
  /** SSRC (default random, reported on the handle). */
  ssrc?: number;
  /** First RTP sequence number (default random, reported on the handle). */
  seqnumOffset?: number;
  /** RTP payload type (default 33). */
  payloadType?: number;
}

/** A GStreamer pipeline started by {@link startGstMpegTs}. */
export interface GstMpegTsSender extends PeerProcess {
  /** The SSRC every packet carries. */
  readonly ssrc: number;
  /** Sequence number of the first packet. */
  readonly seqnumOffset: number;
  /** The H.264 encoder element used: x264enc when installed, else openh264enc. */
  readonly encoder: string;
  /** RTP packets handed to udpsink so far (counted from identity's chain messages). */
  sentPackets(): number;
  /** Waits (at most `timeoutMs`) for the pipeline to reach EOS and exit; returns the final count. */
  finished(options?: { timeoutMs?: number }): Promise<{ code: number; sentPackets: number }>;
}

/** One stream as reported by `ffprobe -show_streams -of json` (fields used by tests). */
export interface FfprobeStream {
  readonly index: number;
  readonly codec_type: string;
  readonly codec_name?: string;
  readonly width?: number;
  readonly height?: number;
  readonly sample_rate?: string;
  readonly channels?: number;
  readonly [field: string]: unknown;
}

/** One program as reported by `ffprobe -show_programs -of json` (an MPEG-TS service). */
export interface FfprobeProgram {
  readonly program_num: number;
  readonly pmt_pid: number;
  readonly pcr_pid: number;
  /** The SDT's names (ETSI EN 300 468 service descriptor), when the stream has them. */
  readonly tags?: { readonly service_name?: string; readonly service_provider?: string };
  readonly [field: string]: unknown;
}

/** Parsed `ffprobe -show_streams [-show_programs] -of json` output. */
export interface FfprobeResult {
  readonly streams: readonly FfprobeStream[];
  /** With `programs: true`; else empty. */
  readonly programs: readonly FfprobeProgram[];
}

/** Result of {@link vlcPlayUrl}. VLC's exit code is 0 even when it could not open the input. */
export interface VlcPlayResult {
  /** Exit code (0 after SIGTERM too: it tells nothing). */
  readonly code: number;
  /** Everything VLC wrote at `-vv` verbosity (the last MiB). */
  readonly stderr: string;
  /** A video picture was decoded ("main decoder debug: Received first picture") and nothing failed to open. */
  readonly played: boolean;
  /** Milliseconds from spawn to the first decoded picture. */
  readonly firstPictureMs?: number;
  /** VLC said "VLC is unable to open the MRL" / "Your input can't be opened". */
  readonly openFailed: boolean;
  /** `... error: ...` lines, minus the harmless ones of a headless run. */
  readonly errors: readonly string[];
}

interface SpawnOptions {
  env?: Record<string, string>;
  clearEnv?: boolean;
  stopSignal?: Deno.Signal;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Runs after the process has ended and its output is drained (e.g. remove a temp dir). */
  cleanup?: () => Promise<void>;
}

function spawnPeer(name: string, command: string[], options: SpawnOptions = {}): PeerProcess {
  const [program, ...args] = command;
  if (program === undefined) throw new PeerError(`Empty command for ${name}`);
  let child: Child;
  try {
    child = new Child(program, args, {
      ...(options.env === undefined ? {} : { env: options.env }),
      clearEnv: options.clearEnv ?? false,
      captureLimit: CAPTURE_LIMIT,
      ...(options.onStdoutLine === undefined ? {} : { onStdoutLine: options.onStdoutLine }),
      ...(options.onStderrLine === undefined ? {} : { onStderrLine: options.onStderrLine }),
    });
  } catch (error) {
    throw new PeerError(`Cannot start ${name} (${program}): ${String(error)}`, {
      command,
      cause: error,
    });
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await child.stop(options.stopSignal ?? "SIGTERM", STOP_GRACE_MS);
      await options.cleanup?.();
    })();
    return stopping;
  };
  return {
    name,
    pid: child.pid,
    command,
    status: child.status,
    get exited() {
      return child.exited;
    },
    stderr: () => child.stderr,
    stdout: () => child.stdout,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** `peer` with `extras` beside its fields; `exited` stays live (a spread would copy its value). */
function extendPeer<T extends object>(peer: PeerProcess, extras: T): PeerProcess & NoInfer<T> {
  return Object.defineProperty({ ...peer, ...extras }, "exited", {
    get: () => peer.exited,
    enumerable: true,
  });
}

/** Runs a command to completion; `null` when the program is missing. */
async function runQuiet(
  command: string[],
  env?: Record<string, string>,
): Promise<ChildResult | null> {
  const [program, ...args] = command;
  if (program === undefined) return null;
  try {
    return await runToEnd(program, args, env === undefined ? {} : { env });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

let ffmpegEncodersCache: Promise<string> | undefined;

/** `ffmpeg -encoders` output, cached. */
function ffmpegEncoders(): Promise<string> {
  ffmpegEncodersCache ??= runQuiet(["ffmpeg", "-hide_banner", "-encoders"]).then((o) =>
    o === null ? "" : o.stdout
  );
  return ffmpegEncodersCache;
}

async function ffmpegHas(encoder: string): Promise<boolean> {
  return new RegExp(`^\\s*\\S+\\s+${encoder}\\s`, "m").test(await ffmpegEncoders());
}

async function gstHas(element: string): Promise<boolean> {
  const output = await runQuiet(["gst-inspect-1.0", "--exists", element]);
  return output?.success ?? false;
}

let gstEncoderCache: Promise<string | null> | undefined;

/** The H.264 encoder element GStreamer has here: x264enc (ugly) or openh264enc (bad), else null. */
function gstH264Encoder(): Promise<string | null> {
  gstEncoderCache ??= (async () => {
    for (const element of ["x264enc", "openh264enc"]) if (await gstHas(element)) return element;
    return null;
  })();
  return gstEncoderCache;
}

const GST_ELEMENTS = [
  "videotestsrc",
  "h264parse",
  "mpegtsmux",
  "rtpmp2tpay",
  "identity",
  "udpsink",
] as const;

let availabilityCache: Promise<PeersAvailability> | undefined;

/** Finds out (once) which peers can run here, so tests can say plainly what is missing. */
export function peersAvailable(): Promise<PeersAvailability> {
  availabilityCache ??= (async () => {
    const [vlc, ffmpeg, ffprobe, gstLaunch, encoder, ...elements] = await Promise.all([
      runQuiet([...AS_NOBODY, "cvlc", "--version"]),
      runQuiet(["ffmpeg", "-version"]),
      runQuiet(["ffprobe", "-version"]),
      runQuiet(["gst-launch-1.0", "--version"]),
      gstH264Encoder(),
      ...GST_ELEMENTS.map(gstHas),
    ]);
    return {
      vlc: vlc?.success ?? false,
      ffmpeg: (ffmpeg?.success ?? false) && (ffprobe?.success ?? false),
      gst: (gstLaunch?.success ?? false) && encoder !== null && elements.every((e) => e),
    };
  })();
  return availabilityCache;
}

/** Refuses destinations other than IPv4 multicast or loopback, and TTL > 0 outside the netns. */
function checkDestination(group: string, ttl: number): void {
  const octets = group.split(".").map(Number);
  const first = octets[0] ?? -1;
  const valid = octets.length === 4 &&
    octets.every((o) => Number.isInteger(o) && o >= 0 && o < 256);
  if (!valid || !((first >= 224 && first <= 239) || first === 127)) {
    throw new PeerError(`Refusing to send to ${group}: not an IPv4 multicast or loopback address`);
  }
  if (ttl !== 0 && !inPrivateNetns()) {
    throw new PeerError(
      `Refusing multicast TTL ${ttl} outside the test namespace (run scripts/netns_test.sh)`,
    );
  }
}

async function waitForFile(path: string, timeoutMs: number, what: string): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    try {
      const text = await Deno.readTextFile(path);
      if (text.endsWith("\n")) return text;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (Date.now() >= deadline) {
      throw new PeerError(`${what} did not appear within ${timeoutMs} ms`);
    }
    await delay(25);
  }
}

/**
 * Writes a test clip with ffmpeg: lavfi testsrc + 440 Hz sine, H.264 (libx264, ultrafast, one
 * keyframe a second; mpeg4 when libx264 is missing) + AAC 48 kHz, in MP4. Returns its path.
 */
export async function makeClip(dir: string, options: ClipOptions = {}): Promise<string> {
  const { seconds = 4, width = 320, height = 240, fps = 25 } = options;
  const path = `${dir}/clip-${width}x${height}-${seconds}s.mp4`;
  const video = await ffmpegHas("libx264")
    ? ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-pix_fmt", "yuv420p"]
    : ["-c:v", "mpeg4", "-q:v", "5"];
  const command = [
    "ffmpeg",
    "-hide_banner",
    "-nostdin",
    "-loglevel",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    `testsrc=size=${width}x${height}:rate=${fps}:duration=${seconds}`,
    "-f",
    "lavfi",
    "-i",
    `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    ...video,
    "-g",
    String(fps),
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    "-shortest",
    path,
  ];
  const output = await runQuiet(command);
  if (output === null) throw new PeerError("ffmpeg is not installed", { command });
  if (!output.success) {
    const stderr = output.stderr;
    throw new PeerError(`ffmpeg could not write ${path}: ${stderr.trim()}`, { command, stderr });
  }
  return path;
}

/** A scratch HOME for VLC (it saves ml.xspf and reads vlcrc there) and the environment around it. */
async function vlcEnvironment(): Promise<{ home: string; env: Record<string, string> }> {
  const home = await Deno.makeTempDir({ prefix: "peers-vlc-" });
  return {
    home,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: home,
      XDG_CONFIG_HOME: `${home}/.config`,
      XDG_CACHE_HOME: `${home}/.cache`,
      XDG_DATA_HOME: `${home}/.local/share`,
      LANG: "C",
    },
  };
}

/**
 * Spawns `cvlc ARGS` as nobody with {@link VLC_HEADLESS_FLAGS} in a scratch HOME of its own (removed
 * when it has ended).
 */
async function spawnVlc(
  args: readonly string[],
  options: Pick<SpawnOptions, "onStderrLine"> = {},
): Promise<PeerProcess> {
  const { home, env } = await vlcEnvironment();
  return spawnPeer("vlc", [...AS_NOBODY, "cvlc", ...VLC_HEADLESS_FLAGS, ...args], {
    ...options,
    env,
    clearEnv: true,
    cleanup: () => Deno.remove(home, { recursive: true }),
  });
}

/** The `sap,name=...[,description=...]` options of a VLC stream output. */
function soutSapParts(sap: { name: string; description?: string } | undefined): string[] {
  if (sap === undefined) return [];
  return [
    "sap",
    `name=${sap.name}`,
    ...(sap.description === undefined ? [] : [`description=${sap.description}`]),
  ];
}

/**
 * Starts the original set-up, as nobody:
 * `cvlc FILE --sout '#rtp{dst=GROUP,port=PORT,mux=ts}' --loop` plus {@link VLC_HEADLESS_FLAGS}
 * and `--ttl=0`. First packet ~0.6 s after spawn; 1328-byte datagrams (7 × 188 + 12), PT 33.
 */
export async function startVlcRtp(options: VlcRtpOptions): Promise<VlcRtpSender> {
  const { file, group = "239.0.0.1", port = 5004, loop = true, ttl = 0, mux = "ts" } = options;
  checkDestination(group, ttl);
  const parts = [`dst=${group}`, `port=${port}`];
  if (mux === "ts") parts.push("mux=ts");
  if (options.sdpFile !== undefined) parts.push(`sdp=${pathToFileURL(options.sdpFile).href}`);
  parts.push(...soutSapParts(options.sap));
  const sout = `#rtp{${parts.join(",")}}`;
  const peer = await spawnVlc([
    `--ttl=${ttl}`,
    ...(options.soutKeep === true ? ["--sout-keep"] : []),
    file,
    "--sout",
    sout,
    ...(loop ? ["--loop"] : []),
  ]);
  return extendPeer(peer, {
    sout,
    readSdp({ timeoutMs = 5_000 } = {}) {
      if (options.sdpFile === undefined) {
        return Promise.reject(new PeerError("startVlcRtp() was not given an sdpFile"));
      }
      return waitForFile(options.sdpFile, timeoutMs, `VLC's SDP ${options.sdpFile}`);
    },
  });
}

/** Options of {@link startVlcUdp}. */
export interface VlcUdpOptions {
  /** Media file to stream (e.g. from {@link makeClip}). */
  file: string;
  /** Destination group (default 239.0.0.1). */
  group?: string;
  /** Destination port (default 1234). */
  port?: number;
  /** Restart the file at its end (default true). */
  loop?: boolean;
  /** Multicast TTL through `--ttl` (default 0). */
  ttl?: number;
  /** Announce the stream with SAP (`sap,name=...,description=...`). */
  sap?: { name: string; description?: string };
}

/**
 * Starts VLC sending MPEG-TS straight over UDP (no RTP), as nobody:
 * `cvlc FILE --sout '#std{access=udp,mux=ts,dst=GROUP:PORT[,sap,name=...]}' --loop` plus
 * {@link VLC_HEADLESS_FLAGS} and `--ttl=0`; VLC writes no SDP file for it (only SAP carries one).
 */
export async function startVlcUdp(options: VlcUdpOptions): Promise<PeerProcess & { sout: string }> {
  const { file, group = "239.0.0.1", port = 1234, loop = true, ttl = 0 } = options;
  checkDestination(group, ttl);
  const parts = ["access=udp", "mux=ts", `dst=${group}:${port}`, ...soutSapParts(options.sap)];
  const sout = `#std{${parts.join(",")}}`;
  const peer = await spawnVlc([`--ttl=${ttl}`, file, "--sout", sout, ...(loop ? ["--loop"] : [])]);
  return extendPeer(peer, {
    sout,
  });
}

/** VLC's SAP services discovery, running: what it has listed so far. */
export interface VlcSapDiscovery extends PeerProcess {
  /** Names VLC's discovery added to its playlist ("services discovery debug: adding: NAME"). */
  readonly added: readonly string[];
}

/**
 * Starts VLC's SAP services discovery with no interface, as nobody:
 * `cvlc -vv -I dummy --services-discovery sap` plus {@link VLC_HEADLESS_FLAGS}. VLC listens on
 * 224.2.127.254, 239.255.255.255, 239.195.255.255 and the IPv6 SAP groups, port 9875, and logs each
 * session it lists as "services discovery debug: adding: NAME" (its own playlist's view, as the Qt
 * interface's "Network streams (SAP)" shows it).
 */
export async function startVlcSapDiscovery(): Promise<VlcSapDiscovery> {
  const added: string[] = [];
  const peer = await spawnVlc(["-vv", "-I", "dummy", "--services-discovery", "sap"], {
    onStderrLine(line) {
      const match = /services discovery debug: adding: (.*)$/.exec(line);
      if (match !== null) added.push(match[1]!);
    },
  });
  return extendPeer(peer, { added });
}

/**
 * Starts ffmpeg sending a file as MPEG-TS straight over UDP in real time, looped:
 * `ffmpeg -re -stream_loop -1 -i FILE -c copy -f mpegts 'udp://GROUP:PORT?ttl=0&pkt_size=1316'`
 * (seven 188-byte packets a datagram, as VLC sends).
 */
export function startFfmpegMpegTsUdp(
  options: { file: string; group?: string; port?: number; ttl?: number },
): PeerProcess {
  const { file, group = "239.0.0.1", port = 1234, ttl = 0 } = options;
  checkDestination(group, ttl);
  const command = [
    ...["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-re"],
    ...["-stream_loop", "-1", "-i", file, "-c", "copy", "-f", "mpegts"],
    `udp://${group}:${port}?ttl=${ttl}&pkt_size=1316`,
  ];
  return spawnPeer("ffmpeg", command);
}

/**
 * Starts ffmpeg sending H.264 over RTP in real time (`-re`): a file with `-c:v copy -bsf:v
 * h264_mp4toannexb` (SPS/PPS in band before every keyframe, so an SDP without sprop-parameter-sets
 * works too), or a lavfi testsrc encoded with libx264. URL `rtp://GROUP:PORT?ttl=0`.
 */
export function startFfmpegH264Rtp(options: FfmpegH264RtpOptions = {}): FfmpegRtpSender {
  const { group = "239.0.0.1", port = 5004, payloadType = 96, ttl = 0, loop = true } = options;
  checkDestination(group, ttl);
  const query = new URLSearchParams({ ttl: String(ttl) });
  if (options.localAddr !== undefined) query.set("localaddr", options.localAddr);
  if (options.pktSize !== undefined) query.set("pkt_size", String(options.pktSize));
  const input = options.file === undefined
    ? [
      "-f",
      "lavfi",
      "-i",
      "testsrc=size=320x240:rate=25",
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-tune",
      "zerolatency",
      "-g",
      "25",
      "-pix_fmt",
      "yuv420p",
    ]
    : [
      ...(loop ? ["-stream_loop", "-1"] : []),
      "-i",
      options.file,
      "-map",
      "0:v:0",
      "-c:v",
      "copy",
      "-bsf:v",
      "h264_mp4toannexb",
    ];
  const command = [
    "ffmpeg",
    "-hide_banner",
    "-nostdin",
    "-nostats",
    "-loglevel",
    "warning",
    "-re",
    ...input,
    "-f",
    "rtp",
    "-payload_type",
    String(payloadType),
    // -ssrc is a signed 32-bit option.
    ...(options.ssrc === undefined ? [] : ["-ssrc", String(options.ssrc | 0)]),
    `rtp://${group}:${port}?${query}`,
    ...(options.sdpFile === undefined ? [] : ["-sdp_file", options.sdpFile]),
  ];
  const peer = spawnPeer("ffmpeg", command);
  return extendPeer(peer, {
    async readSdp({ timeoutMs = 5_000 } = {}) {
      if (options.sdpFile !== undefined) {
        return await waitForFile(options.sdpFile, timeoutMs, `ffmpeg's SDP ${options.sdpFile}`);
      }
      // Without -sdp_file ffmpeg prints "SDP:" then the description and a blank line to stdout.
      const deadline = Date.now() + timeoutMs;
      while (true) {
        const match = /^SDP:\r?\n([\s\S]*?\r?\n)\r?\n/m.exec(peer.stdout());
        if (match?.[1] !== undefined) return match[1];
        if (peer.exited || Date.now() >= deadline) {
          throw new PeerError(`ffmpeg printed no SDP within ${timeoutMs} ms`, {
            command,
            stderr: peer.stderr(),
          });
        }
        await delay(25);
      }
    },
  });
}

/**
 * Starts a bounded GStreamer MPEG-TS over RTP sender:
 * `videotestsrc is-live=true num-buffers=N ! video/x-raw,width=320,height=240,framerate=25/1 !
 * openh264enc gop-size=25 ! h264parse ! mpegtsmux alignment=7 ! rtpmp2tpay pt=33 ssrc=S
 * seqnum-offset=Q ! identity silent=false ! udpsink host=GROUP port=PORT auto-multicast=true
 * ttl-mc=0` (x264enc tune=zerolatency when installed). It ends by itself after N frames;
 * `gst-launch-1.0 -v` prints one identity "chain" line per RTP packet, which gives the sent count.
 */
export async function startGstMpegTs(options: GstMpegTsOptions = {}): Promise<GstMpegTsSender> {
  const {
    group = "239.0.0.1",
    port = 5004,
    numBuffers = 50,
    fps = 25,
    ttl = 0,
    payloadType = 33,
  } = options;
  checkDestination(group, ttl);
  const encoder = await gstH264Encoder();
  if (encoder === null) {
    throw new PeerError("GStreamer has no H.264 encoder (x264enc, openh264enc)");
  }
  const ssrc = options.ssrc ?? crypto.getRandomValues(new Uint32Array(1))[0]!;
  const seqnumOffset = options.seqnumOffset ?? crypto.getRandomValues(new Uint16Array(1))[0]!;
  const encode = encoder === "x264enc"
    ? ["x264enc", "tune=zerolatency", "speed-preset=ultrafast", `key-int-max=${fps}`]
    : ["openh264enc", `gop-size=${fps}`];
  const seconds = numBuffers / fps;
  const audio = options.audio === true
    ? [
      "audiotestsrc",
      "is-live=true",
      // 40 ms buffers at 48 kHz, as many as make the video's duration.
      `num-buffers=${Math.ceil(seconds * 25)}`,
      "samplesperbuffer=1920",
      "!",
      "audio/x-raw,rate=48000,channels=2",
      "!",
      "voaacenc",
      "!",
      "aacparse",
      "!",
      "mux.",
    ]
    : [];
  const command = [
    "gst-launch-1.0",
    "-v",
    "mpegtsmux",
    "name=mux",
    "alignment=7",
    "!",
    "rtpmp2tpay",
    `pt=${payloadType}`,
    `ssrc=${ssrc}`,
    `seqnum-offset=${seqnumOffset}`,
    "!",
    "identity",
    "name=count",
    "silent=false",
    "!",
    "udpsink",
    `host=${group}`,
    `port=${port}`,
    "auto-multicast=true",
    `ttl-mc=${ttl}`,
    "videotestsrc",
    "is-live=true",
    `num-buffers=${numBuffers}`,
    "!",
    `video/x-raw,width=320,height=240,framerate=${fps}/1`,
    "!",
    ...encode,
    "!",
    "h264parse",
    "!",
    "mux.",
    ...audio,
  ];
  let sent = 0;
  const peer = spawnPeer("gst-launch", command, {
    // gst-launch turns SIGINT into a clean shutdown; SIGTERM would kill it outright.
    stopSignal: "SIGINT",
    onStdoutLine(line) {
      if (line.includes("GstIdentity:count: last-message = chain")) sent++;
    },
  });
  return extendPeer(peer, {
    ssrc,
    seqnumOffset,
    encoder,
    sentPackets: () => sent,
    async finished({ timeoutMs = (seconds + 10) * 1000 } = {}) {
      const status = await within(peer.status, timeoutMs);
      if (status === undefined) {
        throw new PeerError(`gst-launch did not finish within ${timeoutMs} ms`, {
          command,
          stderr: peer.stderr(),
        });
      }
      return { code: status.code, sentPackets: sent };
    },
  });
}

/**
 * Runs `ffprobe -v error -protocol_whitelist file,http,tcp,udp,rtp -show_streams -of json URL`
 * (a media file, an SDP file or URL, or rtp://GROUP:PORT for PT 33; `-show_programs` too with
 * `programs`) and returns the parsed JSON. Throws {@link PeerError} when ffprobe fails or has not
 * finished after `timeoutS` (default 10).
 */
export async function ffprobeUrl(
  url: string,
  options: { timeoutS?: number; programs?: boolean } = {},
): Promise<FfprobeResult> {
  const timeoutS = options.timeoutS ?? 10;
  const command = [
    "ffprobe",
    "-hide_banner",
    "-v",
    "error",
    "-protocol_whitelist",
    FFPROBE_PROTOCOL_WHITELIST,
    "-show_streams",
    ...(options.programs === true ? ["-show_programs"] : []),
    "-of",
    "json",
    url,
  ];
  const peer = spawnPeer("ffprobe", command, { stopSignal: "SIGKILL" });
  const status = await within(peer.status, timeoutS * 1000);
  if (status === undefined) {
    await peer.stop();
    throw new PeerError(`ffprobe found no streams in ${url} within ${timeoutS} s`, {
      command,
      stderr: peer.stderr(),
    });
  }
  if (!status.success) {
    throw new PeerError(`ffprobe failed on ${url} (exit ${status.code}): ${peer.stderr().trim()}`, {
      command,
      stderr: peer.stderr(),
    });
  }
  try {
    const parsed = JSON.parse(peer.stdout()) as {
      streams?: FfprobeStream[];
      programs?: FfprobeProgram[];
    };
    return { streams: parsed.streams ?? [], programs: parsed.programs ?? [] };
  } catch (error) {
    throw new PeerError(`ffprobe printed no JSON for ${url}`, {
      command,
      stderr: peer.stderr(),
      cause: error,
    });
  }
}

/** Error lines every headless VLC run prints; they say nothing about the input. */
const VLC_HARMLESS_ERRORS = [
  /interface "globalhotkeys,none" initialization failed/,
  /main interface error: no suitable interface module/,
];

/**
 * Plays `url` with `cvlc -vv --vout dummy --aout dummy --repeat URL` as nobody, for at most
 * `runTimeS` seconds (default 5), and judges the run from stderr: VLC's exit code is 0 even when
 * it cannot open the input, and `--run-time` / `--play-and-exit` do not end a live RTP input.
 * `--repeat` is needed for SDP: Debian's VLC (no live555) reads an SDP with its SAP demuxer, which
 * only rewrites the playlist item to rtp://@GROUP:PORT; the repeat then plays that. It handles
 * only single-address, well-known payloads (MP2T/33), not H.264/96. With `stopOnFirstPicture`
 * (default true) VLC is stopped as soon as a picture is decoded, or the input failed to open.
 */
export async function vlcPlayUrl(
  url: string,
  options: { runTimeS?: number; stopOnFirstPicture?: boolean } = {},
): Promise<VlcPlayResult> {
  const { runTimeS = 5, stopOnFirstPicture = true } = options;
  const started = performance.now();
  let firstPictureMs: number | undefined;
  let openFailed = false;
  const { promise: decided, resolve: decide } = Promise.withResolvers<void>();
  const peer = await spawnVlc(["-vv", "--vout=dummy", "--repeat", url], {
    onStderrLine(line) {
      if (
        firstPictureMs === undefined && line.includes("main decoder debug: Received first picture")
      ) {
        firstPictureMs = performance.now() - started;
        if (stopOnFirstPicture) decide();
      }
      if (/unable to open the MRL|Your input can't be opened/.test(line)) {
        openFailed = true;
        decide();
      }
    },
  });
  try {
    await within(Promise.race([decided, peer.status]), runTimeS * 1000);
  } finally {
    await peer.stop();
  }
  const status = await peer.status;
  const stderr = peer.stderr();
  const errors = stderr.split("\n").filter((line) =>
    / error: /.test(line) && !VLC_HARMLESS_ERRORS.some((re) => re.test(line))
  );
  return {
    code: status.code,
    stderr,
    played: firstPictureMs !== undefined && !openFailed,
    firstPictureMs,
    openFailed,
    errors,
  };
}
