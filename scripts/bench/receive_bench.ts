// Receive-side benchmarks of issue 7 besides capacity and CPU: time to first packet and the
// client's RSS growth at 100 Mbit/s of RTP/MPEG-TS (RFC 3550, RFC 2250) from udp_blast.
// Used by scripts/bench/run.ts only.
import { delay } from "../../lib/common/delay.ts";
import { clientDenoArgs } from "../support/client_process.ts";
import { Child } from "../support/process.ts";
import { rssKiB } from "../support/proc_counters.ts";
import { median } from "./figures.ts";
import {
  clientSummaries,
  packetRate,
  type ReceiveBenchContext,
  startClient,
  startSender,
} from "./receive_rig.ts";

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
