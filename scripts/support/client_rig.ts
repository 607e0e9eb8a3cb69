// A real server and client process set up around one multicast RTP stream (RFC 3550), for scripts
// that measure the client (fuzzing, soak): start both, wait for the join, read the kernel's counters
// around the run, stop the client with SIGINT and read its summary.
import { mulberry32 } from "../../lib/common/prng.ts";
import {
  type RtpSourceOptions,
  sendRtpStream,
  type SourceTruth,
} from "../../lib/source/rtp_source.ts";
import { type ClientResult, spawnClient, summaries } from "./client_process.ts";
import {
  type KernelCounters,
  readKernelCounters,
  readUdpSocket,
  rssMb,
  waitForSocketDrain,
} from "./proc_counters.ts";
import { type ServerProcess, startStreamServer } from "./server_process.ts";

/** The client's figures for the run's one source (or its empty summary), from its JSON records. */
export interface ClientFigures {
  readonly exitCode: number;
  /** Summaries with packets (one per SSRC). */
  readonly sources: number;
  readonly ssrc: number | null;
  readonly packets: number;
  readonly lost: number;
  readonly duplicates: number;
  readonly reordered: number;
  readonly invalid: number;
  readonly stalls: number;
  readonly evictedSources: number;
  readonly untrackedPackets: number;
}

/** Summary records of a client run with packets, the one with `ssrc: null` left out. */
export function sourceSummaries(records: Record<string, unknown>[]): Record<string, unknown>[] {
  return summaries(records).filter((r) => r.ssrc !== null);
}

/**
 * The {@link ClientFigures} of a finished client run: the summary of `ssrc` when given (other
 * sources, e.g. a flood of junk SSRCs, beside it), else of its one source (or its empty summary).
 */
export function clientFigures(result: ClientResult, ssrc?: number): ClientFigures {
  const sources = sourceSummaries(result.records);
  const summary = (ssrc === undefined ? sources[0] : sources.find((r) => r.ssrc === ssrc)) ??
    summaries(result.records)[0];
  const num = (key: string) => Number(summary?.[key] ?? NaN);
  return {
    exitCode: result.code,
    sources: sources.length,
    ssrc: (summary?.ssrc ?? null) as number | null,
    packets: num("packets"),
    lost: num("lost"),
    duplicates: num("duplicates"),
    reordered: num("reordered"),
    invalid: num("invalid"),
    stalls: num("stalls"),
    evictedSources: num("evictedSources"),
    untrackedPackets: num("untrackedPackets"),
  };
}

/** Port, SSRC and first sequence number of a stream, drawn from `seed` so a run replays. */
export function seededStream(seed: number): { port: number; ssrc: number; startSeq: number } {
  const random = mulberry32(seed);
  const port = 20_000 + 2 * Math.floor(random() * 20_000);
  const ssrc = Math.floor(random() * 0x1_0000_0000);
  const startSeq = Math.floor(random() * 0x10000);
  return { port, ssrc, startSeq };
}

/**
 * Starts {@link sendRtpStream} and resolves once it sends (its `onStart`), or once it failed to
 * start (then `done` rejects); `done` resolves with the truth when the stream ends.
 */
export async function startRtpStream(
  options: RtpSourceOptions,
): Promise<{ readonly done: Promise<SourceTruth> }> {
  const { promise: started, resolve } = Promise.withResolvers<void>();
  const done = sendRtpStream({
    ...options,
    onStart: () => {
      options.onStart?.();
      resolve();
    },
  });
  await Promise.race([started, done]);
  return { done };
}

/** Options of {@link startClientRig}. */
export interface ClientRigOptions {
  readonly group: string;
  /** UDP port (default: drawn from `seed`). */
  readonly port?: number;
  /** Draws the port, SSRC and first sequence number of the stream ({@link seededStream}). */
  readonly seed?: number;
  /** The client's --stall-after, seconds. */
  readonly stallAfterS: number;
  /** The client's --timeout, seconds (default 30). */
  readonly timeoutS?: number;
}

/** What the kernel dropped while the client ran, from {@link KernelCounters} before and after. */
export interface KernelDrops {
  /** Drop counter of the client's socket (/proc/net/udp). */
  readonly socketDrops: number;
  readonly rcvbufErrors: number;
  readonly inErrors: number;
  /** Input backlog drops of the whole host (/proc/net/softnet_stat). */
  readonly softnetDropped: number;
}

/** What {@link ClientRig.finish} read. */
export interface ClientRigEnd {
  /** Kernel counters just before the client was stopped. */
  readonly after: KernelCounters;
  /** The kernel's drops from the join to then. */
  readonly kernel: KernelDrops;
  readonly result: ClientResult;
  readonly figures: ClientFigures;
}

/** Options of {@link ClientRig.sendStream}: where it goes and its identity come from the rig. */
export type RigStreamOptions = Omit<
  RtpSourceOptions,
  "group" | "port" | "ttl" | "ssrc" | "startSeq"
>;

/** A server announcing the group and a client (`--json`) that has joined it. */
export interface ClientRig extends AsyncDisposable {
  readonly server: ServerProcess;
  readonly group: string;
  readonly port: number;
  /** SSRC and first sequence number of {@link sendStream} (random without a seed). */
  readonly ssrc: number;
  readonly startSeq: number;
  /** Process id of the client. */
  readonly pid: number;
  /** Kernel counters once the client had joined. */
  readonly before: KernelCounters;
  /** Drops at the client's socket since it joined (/proc/net/udp). */
  socketDrops(): number;
  /** The client's resident set size now, MB. */
  rssMb(): number;
  /** Waits until the client's socket queue is empty (it read everything); false after 10 s. */
  drained(): Promise<boolean>;
  /**
   * Starts the test source to the rig's group with TTL 0 and the rig's SSRC and sequence numbers,
   * and resolves once it sends ({@link startRtpStream}).
   */
  sendStream(options: RigStreamOptions): Promise<{ readonly done: Promise<SourceTruth> }>;
  /** Reads the counters, stops the client with SIGINT and returns its summary. */
  finish(ssrc?: number): Promise<ClientRigEnd>;
}

/**
 * Starts a server announcing `group`:`port` and the client against it, and waits for the client's
 * "Joined" line. Disposing it kills a client that {@link ClientRig.finish} did not stop, then
 * stops the server.
 */
export async function startClientRig(options: ClientRigOptions): Promise<ClientRig> {
  const seeded = seededStream(options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!);
  const { group } = options;
  const port = options.port ?? seeded.port;
  const server = await startStreamServer(group, port);
  const client = spawnClient([
    "--server",
    server.url,
    "--json",
    "--timeout",
    String(options.timeoutS ?? 30),
    "--stall-after",
    String(options.stallAfterS),
  ]);
  let finished = false;
  const dispose = async () => {
    if (!finished) {
      client.child.kill("SIGKILL");
      await client.finished().catch(() => {});
    }
    await server[Symbol.asyncDispose]();
  };
  try {
    await client.waitForLog(/Joined /);
  } catch (error) {
    await dispose();
    throw error;
  }
  const pid = client.process.pid;
  const before = readKernelCounters(group, port);
  return {
    server,
    group,
    port,
    ssrc: seeded.ssrc,
    startSeq: seeded.startSeq,
    pid,
    before,
    socketDrops: () =>
      (readUdpSocket(port, group)?.drops ?? before.socket.drops) - before.socket.drops,
    rssMb: () => rssMb(pid),
    drained: () => waitForSocketDrain(port, { address: group }),
    sendStream: (stream) =>
      startRtpStream({
        ...stream,
        group,
        port,
        ttl: 0,
        ssrc: seeded.ssrc,
        startSeq: seeded.startSeq,
      }),
    async finish(ssrc?: number) {
      const after = readKernelCounters(group, port);
      client.process.kill("SIGINT");
      const result = await client.finished();
      finished = true;
      const kernel = {
        socketDrops: after.socket.drops - before.socket.drops,
        rcvbufErrors: after.udp.rcvbufErrors - before.udp.rcvbufErrors,
        inErrors: after.udp.inErrors - before.udp.inErrors,
        softnetDropped: after.softnet - before.softnet,
      };
      return { after, kernel, result, figures: clientFigures(result, ssrc) };
    },
    [Symbol.asyncDispose]: dispose,
  };
}
