// What the receive benchmarks share: the paced C sender (udp_blast: RTP over RFC 2250 MPEG-TS, one
// group or many), the receivers measured (client.ts, the bare Deno receive() loop, the C recvmmsg
// counter), their results, and CPU sampled from /proc over a window. Used by scripts/bench/ only.
import { TR101290_INDICATORS } from "../../lib/ts/tr101290.ts";
import { SOCKET_RECEIVE_BUFFER_BYTES } from "../../lib/net/socket_buffer.ts";
import { MP2T_RTP } from "../../lib/source/rtp_source.ts";
import { clientDenoArgs, clientRecords, summaries } from "../support/client_process.ts";
import { freeTcpPort } from "../support/endpoints.ts";
import { Child } from "../support/process.ts";
import { CLOCK_TICKS_PER_S, cpuTicks } from "../support/proc_counters.ts";
import { serverDenoArgs } from "../support/server_process.ts";
import { type ServerUnderTest, startServer } from "./server_bench.ts";

/** Where things are. */
export interface ReceiveBenchContext {
  /** Repository root (cwd of client.ts). */
  readonly root: string;
  /** The deno executable. */
  readonly deno: string;
  /** Compiled udp_blast. */
  readonly blast: string;
  /** Compiled recvmmsg_count. */
  readonly counter: string;
  /** Offer URL of the running server.ts, whose default stream is `group`:`port`, PT 33. */
  readonly serverUrl: string;
  readonly group: string;
  readonly port: number;
  /** A directory for the sections' files (catalogs). */
  readonly tmp: string;
  /** Writes a progress line to stderr. */
  readonly log: (text: string) => void;
}

/** Receive buffer the bare loop and the C counter ask for: the client's (capped at rmem_max). */
export const BENCH_RCVBUF = SOCKET_RECEIVE_BUFFER_BYTES;

/** Datagrams per second of a TS payload bit rate (1316-byte payloads). */
export function packetRate(bitsPerSecond: number): number {
  return bitsPerSecond / (MP2T_RTP.PAYLOAD_BYTES * 8);
}

/** The IPv4 group `n` after `group` (the address as a 32-bit number), as udp_blast --groups counts. */
export function offsetGroup(group: string, n: number): string {
  const value = group.split(".").reduce((a, b) => a * 256 + Number(b), 0) + n;
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** Where a sender sends. */
export interface SendTarget {
  readonly blast: string;
  readonly group: string;
  readonly port: number;
}

/** Options of {@link startSender}. */
export interface SenderOptions {
  /** `ts` (default): a real transport stream (PAT, PMT, PCR, video and audio PES); `null`: null packets. */
  readonly payload?: "ts" | "null";
  /** RTP payload type (default 33, MP2T). */
  readonly payloadType?: number;
  /** Consecutive groups from the target's, each its own stream at `rate` (default 1). */
  readonly groups?: number;
  /** SSRC of the first group (the others count up). */
  readonly ssrc?: number;
}

let sequence = Math.floor(Math.random() * 60_000);

/**
 * Starts udp_blast sending `packets` datagrams per group at `rate` per group (TTL 0), each run from
 * a sequence number of its own; it exits when done (or 50 % late, plus 2 s).
 */
export function startSender(
  target: SendTarget,
  rate: number,
  packets: number,
  options: SenderOptions = {},
): Child {
  sequence = (sequence + 7919) % 65_536;
  return new Child(target.blast, [
    "--group",
    target.group,
    "--port",
    String(target.port),
    "--rate",
    String(rate),
    "--packets",
    String(packets),
    "--seq",
    String(sequence),
    "--payload",
    options.payload ?? "ts",
    "--pt",
    String(options.payloadType ?? 33),
    "--groups",
    String(options.groups ?? 1),
    ...(options.ssrc === undefined ? [] : ["--ssrc", String(options.ssrc)]),
    "--max-seconds",
    String(packets / rate * 1.5 + 2),
  ]);
}

/** What udp_blast printed. */
export interface SenderReport {
  /** Datagrams sent, over all groups. */
  readonly sent: number;
  readonly elapsedS: number;
  /** Datagrams per second achieved, over all groups. */
  readonly rate: number;
  /** Its own CPU time (user + system), seconds. */
  readonly cpuS: number;
}

/** Waits for udp_blast's exit and reads its report. */
export async function senderReport(sender: Child, timeoutMs: number): Promise<SenderReport> {
  const result = await sender.finished(timeoutMs);
  const line = result.stdout.trim().split("\n").pop() ?? "";
  if (!line.startsWith("{")) throw new Error(`udp_blast failed: ${result.stderr}`);
  return JSON.parse(line) as SenderReport;
}

/** Starts client.ts as the `client` task runs it, against `serverUrl`, with `--json` and `args`. */
export function startClient(ctx: ReceiveBenchContext, args: readonly string[], serverUrl?: string) {
  return new Child(
    ctx.deno,
    clientDenoArgs(["--server", serverUrl ?? ctx.serverUrl, "--json", ...args]),
    { cwd: ctx.root },
  );
}

/** Options of {@link startBareLoop}. */
export interface BareLoopOptions {
  readonly packets?: number;
  readonly seconds: number;
  /** Socket receive buffer to ask for (default: the kernel's). */
  readonly rcvbuf?: number;
  /** node:dgram instead of Deno.listenDatagram. */
  readonly dgram?: boolean;
}

/** Starts bare_loop.ts, the runtime floor: one receive() per datagram into one buffer, counting. */
export function startBareLoop(ctx: ReceiveBenchContext, options: BareLoopOptions): Child {
  return new Child(ctx.deno, [
    "run",
    "--quiet",
    "-A",
    "scripts/bench/bare_loop.ts",
    "--group",
    ctx.group,
    "--port",
    String(ctx.port),
    "--packets",
    String(options.packets ?? 1_000_000_000),
    "--seconds",
    String(Math.ceil(options.seconds)),
    ...(options.rcvbuf === undefined ? [] : ["--rcvbuf", String(options.rcvbuf)]),
    ...(options.dgram ? ["--api", "dgram"] : []),
  ], { cwd: ctx.root });
}

/** Starts recvmmsg_count, the kernel's ceiling: recvmmsg() in batches of 64, counting. */
export function startCounter(
  ctx: ReceiveBenchContext,
  options: { packets?: number; seconds: number; rcvbuf?: number },
): Child {
  return new Child(ctx.counter, [
    "--group",
    ctx.group,
    "--port",
    String(ctx.port),
    "--packets",
    String(options.packets ?? 1_000_000_000),
    "--seconds",
    String(Math.ceil(options.seconds)),
    "--rcvbuf",
    String(options.rcvbuf ?? BENCH_RCVBUF),
  ]);
}

/** The last line of a loop's or counter's stdout: `{"received":N,...}`. */
export function loopReceived(stdout: string): number {
  const line = stdout.trim().split("\n").pop() ?? "";
  if (!line.startsWith("{")) throw new Error(`no JSON result in: ${stdout.slice(-300)}`);
  return (JSON.parse(line) as { received?: number }).received ?? 0;
}

/** A client summary record's figures the benchmarks read. */
export interface ClientSummary {
  readonly stream: string;
  readonly ssrc: number | null;
  readonly packets: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly jitterMs: number | null;
  readonly socketDrops: number | null;
  /** TR 101 290 errors of the summary's `ts` object, summed (0 without one). */
  readonly tsErrors: number;
  /** TS packets analysed (0 without a `ts` object). */
  readonly tsPackets: number;
}

/** TR 101 290 indicators of a `ts` object whose sum must be 0 on a clean stream: all of them. */
const TS_ERROR_KEYS = TR101290_INDICATORS.map((i) => i.key);

/** The summary records of a client's stdout that carry packets (one per stream and SSRC). */
export function clientSummaries(stdout: string): ClientSummary[] {
  return summaries(clientRecords(stdout)).filter((r) => r.ssrc !== null).map((r) => {
    const ts = r.ts as Record<string, number> | undefined;
    return {
      stream: String(r.stream),
      ssrc: r.ssrc as number,
      packets: Number(r.packets ?? 0),
      lost: Math.max(0, Number(r.lost ?? 0)),
      duplicates: Number(r.duplicates ?? 0),
      jitterMs: typeof r.jitterMs === "number" ? r.jitterMs : null,
      socketDrops: typeof r.socketDrops === "number" ? r.socketDrops : null,
      tsErrors: ts === undefined ? 0 : TS_ERROR_KEYS.reduce((a, k) => a + Number(ts[k] ?? 0), 0),
      tsPackets: ts === undefined ? 0 : Number(ts.packets ?? 0),
    };
  });
}

/** Sums `packets` of the client's summary records. */
export function clientReceived(stdout: string): number {
  return clientSummaries(stdout).reduce((sum, s) => sum + s.packets, 0);
}

/** CPU time of processes between {@link CpuWindow.start} and {@link CpuWindow.stop}. */
export class CpuWindow {
  readonly #pids: readonly number[];
  #ticks: number[] = [];
  #startMs = 0;

  constructor(pids: readonly number[]) {
    this.#pids = pids;
  }

  /** Reads every process's CPU ticks now. */
  start(): void {
    this.#startMs = performance.now();
    this.#ticks = this.#pids.map(cpuTicks);
  }

  /** Percent of one core each process used since start(), in pid order. */
  stop(): number[] {
    const ticks = this.#pids.map(cpuTicks);
    const wallS = (performance.now() - this.#startMs) / 1000;
    return ticks.map((t, i) => ((t - this.#ticks[i]!) / CLOCK_TICKS_PER_S) / wallS * 100);
  }
}

/**
 * Starts another server.ts (as the server task runs it) on a free port with `args` (its stream or
 * catalog), for a section that needs streams the suite's server does not describe.
 */
export async function startSectionServer(
  ctx: ReceiveBenchContext,
  name: string,
  args: readonly string[],
): Promise<ServerUnderTest> {
  const port = freeTcpPort();
  return await startServer(
    name,
    ctx.deno,
    serverDenoArgs(["--host", "127.0.0.1", "--port", String(port), "--quiet", ...args]),
    port,
    ctx.root,
  );
}
