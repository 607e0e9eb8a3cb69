// Receive-side benchmarks of issue 7: highest loss-free packet rate (client, bare Deno loop, C
// recvmmsg), client CPU at 20 Mbit/s, time to first packet, client RSS growth at 100 Mbit/s.
// Traffic is RTP/MPEG-TS (RFC 3550, RFC 2250) from udp_blast. Used by scripts/bench/run.ts only.
import { delay } from "../../lib/common/delay.ts";
import { SOCKET_RECEIVE_BUFFER_BYTES } from "../../lib/net/socket_buffer.ts";
import { MP2T_RTP } from "../../lib/source/rtp_source.ts";
import { clientDenoArgs, clientRecords, summaries } from "../support/client_process.ts";
import { Child } from "../support/process.ts";
import {
  CLOCK_TICKS_PER_S,
  cpuTicks,
  readUdpCounters,
  rssKiB,
  waitForSocketDrain,
} from "../support/proc_counters.ts";
import { median } from "./figures.ts";

/** Where things are and how long to run. */
export interface ReceiveBenchContext {
  /** Repository root (cwd of client.ts). */
  readonly root: string;
  /** The deno executable. */
  readonly deno: string;
  /** Compiled udp_blast. */
  readonly blast: string;
  /** Compiled recvmmsg_count. */
  readonly counter: string;
  /** Offer URL of the running server.ts, which announces `group`:`port`. */
  readonly serverUrl: string;
  readonly group: string;
  readonly port: number;
  /** Writes a progress line to stderr. */
  readonly log: (text: string) => void;
}

/** Receivers whose ceiling is searched. */
export type ReceiverKind =
  | "client"
  | "bare"
  | "bareDefaultBuffer"
  | "bareNodeDgram"
  | "bareFfiBatch"
  | "kernel"
  | "kernelDefaultBuffer";

/** Receive buffer the bare loop and the C counter ask for: the client's (capped at rmem_max). */
export const BENCH_RCVBUF = SOCKET_RECEIVE_BUFFER_BYTES;

/** Datagrams per second of a TS payload bit rate. */
export function packetRate(bitsPerSecond: number): number {
  return bitsPerSecond / (MP2T_RTP.PAYLOAD_BYTES * 8);
}

/** One trial at one rate. */
export interface Trial {
  readonly kind: ReceiverKind;
  readonly rate: number;
  /** Rate the sender achieved. */
  readonly achieved: number;
  readonly sent: number;
  readonly received: number;
  /** RcvbufErrors during the trial: datagrams the socket buffer had no room for. */
  readonly rcvbufErrors: number;
  /** Every datagram sent was received. */
  readonly lossless: boolean;
  /** Zero loss at (nearly) the requested rate. */
  readonly ok: boolean;
  /** The sender fell short of the requested rate (CPU contention). */
  readonly senderLimited: boolean;
  /** Receive buffer reported by the receiver, when it reports one. */
  readonly rcvbuf: number | null;
}

/** Result of a capacity search. */
export interface Capacity {
  readonly kind: ReceiverKind;
  /** Highest rate the sender achieved in a trial without loss (0 when every trial lost packets). */
  readonly rate: number;
  readonly trials: readonly Trial[];
}

let sequence = Math.floor(Math.random() * 60_000);

/** Starts client.ts as the `client` task runs it, with `--server URL --json` and `args`. */
function startClient(ctx: ReceiveBenchContext, args: string[]): Child {
  return new Child(
    ctx.deno,
    clientDenoArgs(["--server", ctx.serverUrl, "--json", ...args]),
    { cwd: ctx.root },
  );
}

function startReceiver(
  ctx: ReceiveBenchContext,
  kind: ReceiverKind,
  packets: number,
  seconds: number,
): Child {
  const common = [
    "--group",
    ctx.group,
    "--port",
    String(ctx.port),
    "--packets",
    String(packets),
    "--seconds",
    String(Math.ceil(seconds)),
  ];
  const bare = ["run", "--quiet", "-A", "scripts/bench/bare_loop.ts", ...common];
  switch (kind) {
    case "client":
      return startClient(ctx, [
        "--packets",
        String(packets),
        "--duration",
        String(Math.ceil(seconds)),
        "--timeout",
        String(Math.ceil(seconds)),
      ]);
    case "bare":
      return new Child(ctx.deno, [...bare, "--rcvbuf", String(BENCH_RCVBUF)], { cwd: ctx.root });
    case "bareDefaultBuffer":
      return new Child(ctx.deno, bare, { cwd: ctx.root });
    case "bareNodeDgram":
      return new Child(ctx.deno, [...bare, "--api", "dgram", "--rcvbuf", String(BENCH_RCVBUF)], {
        cwd: ctx.root,
      });
    case "bareFfiBatch":
      return new Child(ctx.deno, [...bare, "--api", "ffi", "--rcvbuf", String(BENCH_RCVBUF)], {
        cwd: ctx.root,
      });
    case "kernel":
      return new Child(ctx.counter, [...common, "--rcvbuf", String(BENCH_RCVBUF)]);
    case "kernelDefaultBuffer":
      return new Child(ctx.counter, common);
  }
}

/** Summary records of a client run (one per SSRC). */
function clientSummaries(stdout: string): { packets: number; lost: number }[] {
  return summaries(clientRecords(stdout)) as unknown as { packets: number; lost: number }[];
}

/** Sums `packets` of the client's summary records. */
export function clientReceived(stdout: string): number {
  return clientSummaries(stdout).reduce((sum, s) => sum + (s.packets ?? 0), 0);
}

interface SenderReport {
  sent: number;
  elapsedS: number;
  rate: number;
}

/**
 * Starts udp_blast (`blast`, compiled) sending `packets` datagrams at `rate` to `group`:`port`, each
 * run from a sequence number of its own.
 */
export function startSender(
  ctx: { readonly blast: string; readonly group: string; readonly port: number },
  rate: number,
  packets: number,
): Child {
  sequence = (sequence + 7919) % 65_536;
  return new Child(ctx.blast, [
    "--group",
    ctx.group,
    "--port",
    String(ctx.port),
    "--rate",
    String(rate),
    "--packets",
    String(packets),
    "--seq",
    String(sequence),
    "--max-seconds",
    String(packets / rate * 1.5 + 2),
  ]);
}

async function senderReport(sender: Child, timeoutMs: number): Promise<SenderReport> {
  const result = await sender.finished(timeoutMs);
  const line = result.stdout.trim().split("\n").pop() ?? "";
  if (!line.startsWith("{")) throw new Error(`udp_blast failed: ${result.stderr}`);
  return JSON.parse(line) as SenderReport;
}

/** Sends `rate` × `seconds` datagrams to a fresh receiver and counts what it got. */
export async function runTrial(
  ctx: ReceiveBenchContext,
  kind: ReceiverKind,
  rate: number,
  seconds: number,
): Promise<Trial> {
  const packets = Math.max(1, Math.round(rate * seconds));
  const receiver = startReceiver(ctx, kind, packets, seconds + 10);
  try {
    await receiver.waitFor(/Joined|ready/, { timeoutMs: 15_000 });
    const before = readUdpCounters().rcvbufErrors;
    const report = await senderReport(startSender(ctx, rate, packets), seconds * 2000 + 10_000);
    await waitForSocketDrain(ctx.port, {
      timeoutMs: 3000,
      pollMs: 10,
      emptyPolls: 1,
      socketMustExist: false,
    });
    if (!receiver.exited) await delay(kind === "client" ? 300 : 100);
    const result = await receiver.stop("SIGTERM", 10_000);
    const rcvbufErrors = readUdpCounters().rcvbufErrors - before;
    let received: number;
    let rcvbuf: number | null = null;
    if (kind === "client") {
      received = clientReceived(result.stdout);
    } else {
      const parsed = JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as {
        received?: number;
        rcvbuf?: number | null;
      };
      received = parsed.received ?? 0;
      rcvbuf = parsed.rcvbuf ?? null;
    }
    const senderLimited = report.rate < rate * 0.97;
    return {
      kind,
      rate,
      achieved: Math.round(report.rate),
      sent: report.sent,
      received,
      rcvbufErrors,
      lossless: received >= report.sent,
      ok: received >= report.sent && !senderLimited,
      senderLimited,
      rcvbuf,
    };
  } finally {
    if (!receiver.exited) await receiver.stop("SIGKILL");
  }
}

/**
 * Bisection over `rates` (ascending) for the highest rate a receiver sustains for `seconds` with
 * zero loss; a failed trial is repeated `attempts - 1` more times before it counts as failed.
 */
export async function searchCapacity(
  ctx: ReceiveBenchContext,
  kind: ReceiverKind,
  rates: readonly number[],
  seconds: number,
  attempts: number,
): Promise<Capacity> {
  const trials: Trial[] = [];
  let low = -1;
  let high = rates.length;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    let passed = false;
    for (let attempt = 0; attempt < attempts && !passed; attempt++) {
      const trial = await runTrial(ctx, kind, rates[mid]!, seconds);
      trials.push(trial);
      ctx.log(
        `  ${kind} @ ${rates[mid]} pps: sent ${trial.sent} (${trial.achieved} pps), received ` +
          `${trial.received}, RcvbufErrors ${trial.rcvbufErrors}` +
          (trial.senderLimited ? ", sender-limited" : "") + (trial.lossless ? " ok" : " LOSS"),
      );
      passed = trial.ok;
      if (trial.senderLimited) break;
    }
    if (passed) low = mid;
    else high = mid;
  }
  // A lossless trial that the sender could not run at full rate still shows what was sustained.
  const best = Math.max(0, ...trials.filter((t) => t.lossless).map((t) => t.achieved));
  return { kind, rate: best, trials };
}

/** CPU use of `clients` clients receiving 20 Mbit/s for `seconds`. */
export interface CpuResult {
  /** Percent of one core, summed over the clients. */
  readonly totalPercent: number;
  readonly perClientPercent: readonly number[];
  readonly lost: number;
  readonly received: number;
  /** Percent of one core of the bare receive() loop, when asked for. */
  readonly bareLoopPercent?: number;
  /** Percent of one core of the FFI recvmmsg loop polling every 20 ms, when asked for. */
  readonly ffiBatchPercent?: number;
}

/**
 * Runs `clients` clients on one 20 Mbit/s stream and measures their CPU time over `seconds`; with
 * `bareLoop`, a bare receive() loop (the runtime floor) and the batched FFI recvmmsg loop polling
 * every 20 ms (what batching would give) are measured beside them.
 */
export async function measureCpu(
  ctx: ReceiveBenchContext,
  clients: number,
  seconds: number,
  options: { bareLoop?: boolean } = {},
): Promise<CpuResult> {
  const rate = packetRate(20_000_000);
  const warmS = 1;
  const sender = startSender(ctx, rate, Math.ceil(rate * (seconds + warmS + 20)));
  const children: Child[] = [];
  try {
    for (let i = 0; i < clients; i++) {
      children.push(
        startClient(ctx, ["--duration", String(Math.ceil(seconds + warmS + 15))]),
      );
    }
    const loop = (extra: string[]) =>
      new Child(ctx.deno, [
        "run",
        "--quiet",
        "-A",
        "scripts/bench/bare_loop.ts",
        "--group",
        ctx.group,
        "--port",
        String(ctx.port),
        "--seconds",
        String(Math.ceil(seconds + warmS + 15)),
        ...extra,
      ], { cwd: ctx.root });
    const companions = options.bareLoop
      ? [loop([]), loop(["--api", "ffi", "--poll-ms", "20", "--rcvbuf", String(BENCH_RCVBUF)])]
      : [];
    const all = [...children, ...companions];
    await Promise.all(all.map((c) => c.waitFor(/Joined|ready/, { timeoutMs: 20_000 })));
    await delay(warmS * 1000);
    const t0 = performance.now();
    const ticks0 = all.map((c) => cpuTicks(c.pid));
    await delay(seconds * 1000);
    const ticks1 = all.map((c) => cpuTicks(c.pid));
    const wallS = (performance.now() - t0) / 1000;
    const percent = ticks1.map((t, i) => ((t - ticks0[i]!) / CLOCK_TICKS_PER_S) / wallS * 100);
    const [bareLoopPercent, ffiBatchPercent] = percent.slice(children.length);
    await Promise.all(companions.map((c) => c.stop("SIGTERM")));
    const results = await Promise.all(children.map((c) => c.stop("SIGTERM")));
    const perClientPercent = percent.slice(0, children.length);
    const summaries = results.flatMap((r) => clientSummaries(r.stdout));
    return {
      totalPercent: perClientPercent.reduce((a, b) => a + b, 0),
      perClientPercent,
      lost: summaries.reduce((a, s) => a + Math.max(0, s.lost), 0),
      received: summaries.reduce((a, s) => a + s.packets, 0),
      ...(bareLoopPercent === undefined ? {} : { bareLoopPercent }),
      ...(ffiBatchPercent === undefined ? {} : { ffiBatchPercent }),
    };
  } finally {
    for (const child of children) if (!child.exited) await child.stop("SIGKILL");
    await sender.stop("SIGTERM");
  }
}

/** Time to first packet, median of `runs`. */
export interface FirstPacketResult {
  /** Process start to the summary line that follows the first counted packet (--packets 1), ms. */
  readonly medianMs: number;
  /** Process start to the "Joined" log line, median, ms. */
  readonly joinedMs: number;
  /** Process start to exit of `client.ts --version` (Deno start-up alone), median, ms. */
  readonly startupMs: number;
  readonly samples: readonly number[];
}

/** Starts clients against a flowing 20 Mbit/s stream with --packets 1 and times them. */
export async function measureFirstPacket(
  ctx: ReceiveBenchContext,
  runs: number,
): Promise<FirstPacketResult> {
  const startup: number[] = [];
  for (let i = 0; i < runs; i++) {
    const child = new Child(ctx.deno, clientDenoArgs(["--version"]), { cwd: ctx.root });
    await child.finished(15_000);
    startup.push(performance.now() - child.startedMs);
  }
  const rate = packetRate(20_000_000);
  const sender = startSender(ctx, rate, Math.ceil(rate * (runs * 3 + 10)));
  const samples: number[] = [];
  const joined: number[] = [];
  try {
    await delay(200); // the stream is already flowing when the client starts
    for (let i = 0; i < runs; i++) {
      const child = startClient(ctx, ["--packets", "1", "--timeout", "5"]);
      const joinedAt = await child.waitFor(/Joined/, { timeoutMs: 15_000 });
      const result = await child.finished(15_000);
      if (result.code !== 0 || child.firstStdoutMs === undefined) {
        throw new Error(`client --packets 1 failed (exit ${result.code}): ${result.stderr}`);
      }
      joined.push(joinedAt - child.startedMs);
      samples.push(child.firstStdoutMs - child.startedMs);
    }
  } finally {
    await sender.stop("SIGTERM");
  }
  return {
    medianMs: median(samples),
    joinedMs: median(joined),
    startupMs: median(startup),
    samples,
  };
}

/** RSS of a client receiving 100 Mbit/s. */
export interface ClientMemoryResult {
  readonly rssAfterWarmupKiB: number;
  readonly rssEndKiB: number;
  readonly lost: number;
  readonly received: number;
}

/** Client RSS after `warmS` and after `warmS + seconds` at 100 Mbit/s. */
export async function measureClientMemory(
  ctx: ReceiveBenchContext,
  warmS: number,
  seconds: number,
): Promise<ClientMemoryResult> {
  const rate = packetRate(100_000_000);
  const sender = startSender(ctx, rate, Math.ceil(rate * (warmS + seconds + 20)));
  const child = startClient(ctx, ["--duration", String(warmS + seconds + 15)]);
  try {
    await child.waitFor(/Joined/, { timeoutMs: 15_000 });
    await delay(warmS * 1000);
    const rss0 = rssKiB(child.pid);
    await delay(seconds * 1000);
    const rss1 = rssKiB(child.pid);
    const result = await child.stop("SIGTERM");
    const summaries = clientSummaries(result.stdout);
    return {
      rssAfterWarmupKiB: rss0,
      rssEndKiB: rss1,
      lost: summaries.reduce((a, s) => a + Math.max(0, s.lost), 0),
      received: summaries.reduce((a, s) => a + s.packets, 0),
    };
  } finally {
    if (!child.exited) await child.stop("SIGKILL");
    await sender.stop("SIGTERM");
  }
}
