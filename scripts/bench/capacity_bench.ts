// Receive capacity of issue 15: the highest rate of RTP/MPEG-TS datagrams (RFC 3550, RFC 2250) the
// client takes with zero loss, against the C recvmmsg counter at the same offered rates. The one
// sender (udp_blast) is the limit on a 2-core host, so the counter sets the rate the sender can
// offer loss-free and the client is measured up to it; CPU per datagram shows each one's own cost.
import { delay } from "../../lib/common/delay.ts";
import type { Child } from "../support/process.ts";
import {
  CLOCK_TICKS_PER_S,
  cpuTicks,
  readUdpCounters,
  readUdpSocket,
  waitForSocketDrain,
} from "../support/proc_counters.ts";
import {
  BENCH_RCVBUF,
  clientReceived,
  loopReceived,
  type ReceiveBenchContext,
  senderReport,
  startBareLoop,
  startClient,
  startCounter,
  startSender,
} from "./receive_rig.ts";

/** Receivers whose capacity is measured. */
export type CapacityReceiver = "counter" | "client" | "bare";

/** One trial: one receiver, one offered rate, a fixed number of datagrams. */
export interface CapacityTrial {
  readonly receiver: CapacityReceiver;
  /** Rate asked of the sender, datagrams/s. */
  readonly rate: number;
  /** Rate the sender achieved. */
  readonly achieved: number;
  readonly sent: number;
  readonly received: number;
  /** RcvbufErrors (/proc/net/snmp) during the trial: datagrams a full socket buffer dropped. */
  readonly rcvbufErrors: number;
  readonly lossless: boolean;
  /** The sender fell more than 3 % short of the rate asked. */
  readonly senderLimited: boolean;
  /** CPU of the sender over its run, % of one core. */
  readonly senderCpuPercent: number;
  /** CPU the receiver spent per datagram received, µs. */
  readonly receiverUsPerDatagram: number;
  /**
   * Highest receive queue of the socket seen while the sender ran (/proc/net/udp every 5 ms),
   * bytes: near the buffer's size, the receiver paused longer than the buffer lasts.
   */
  readonly peakQueueBytes: number;
}

/** How the capacity is searched. */
export interface CapacityPlan {
  /** Offered rates the counter climbs, ascending, datagrams/s. */
  readonly rates: readonly number[];
  /** Seconds of sending per trial. */
  readonly seconds: number;
  /** Trials per rate before it counts as failed (the host is shared). */
  readonly attempts: number;
  /** Bisection steps of the client between its highest passed and lowest failed rate. */
  readonly bisectSteps: number;
}

/** Result of {@link measureCapacity}. */
export interface CapacityResult {
  /** Highest offered rate the counter took loss-free with the sender on time (0: none). */
  readonly counterRate: number;
  /** Highest offered rate (≤ counterRate) the client took loss-free (0: none). */
  readonly clientRate: number;
  /** Why the counter's climb stopped above counterRate. */
  readonly counterStop: string;
  /** µs of CPU per datagram: of the counter at counterRate, of the client at clientRate. */
  readonly counterUs: number;
  readonly clientUs: number;
  readonly trials: readonly CapacityTrial[];
}

function startReceiver(
  ctx: ReceiveBenchContext,
  receiver: CapacityReceiver,
  packets: number,
  seconds: number,
): Child {
  switch (receiver) {
    case "counter":
      return startCounter(ctx, { packets, seconds });
    case "bare":
      return startBareLoop(ctx, { packets, seconds, rcvbuf: BENCH_RCVBUF });
    case "client":
      // No --packets: the client must still run when its CPU time is read after the drain.
      return startClient(ctx, [
        "--duration",
        String(Math.ceil(seconds)),
        "--timeout",
        String(Math.ceil(seconds)),
      ]);
  }
}

/** Sends `rate` × `seconds` datagrams of real MPEG-TS to a fresh receiver and counts what it got. */
export async function capacityTrial(
  ctx: ReceiveBenchContext,
  receiver: CapacityReceiver,
  rate: number,
  seconds: number,
): Promise<CapacityTrial> {
  const packets = Math.max(1, Math.round(rate * seconds));
  const child = startReceiver(ctx, receiver, packets, seconds + 10);
  try {
    await child.waitFor(/Joined|ready/, { timeoutMs: 15_000 });
    const before = readUdpCounters().rcvbufErrors;
    const ticks0 = cpuTicks(child.pid);
    let peakQueueBytes = 0;
    const sampling = new AbortController();
    const sampler = (async () => {
      // Bounded: one read per 5 ms until the sender's report (at most its time limit).
      for (let i = 0; i < seconds * 400 + 2000 && !sampling.signal.aborted; i++) {
        const queue = readUdpSocket(ctx.port, ctx.group)?.rxQueue ?? 0;
        if (queue > peakQueueBytes) peakQueueBytes = queue;
        await delay(5, sampling.signal);
      }
    })();
    const report = await senderReport(startSender(ctx, rate, packets), seconds * 2000 + 10_000)
      .finally(() => sampling.abort());
    await sampler;
    await waitForSocketDrain(ctx.port, {
      address: ctx.group,
      timeoutMs: 3000,
      pollMs: 10,
      emptyPolls: 2,
      socketMustExist: false,
    });
    let ticks1 = Number.NaN;
    if (!child.exited) {
      await delay(receiver === "counter" ? 50 : 200);
      try {
        ticks1 = cpuTicks(child.pid);
      } catch {
        // It exited meanwhile (--packets reached).
      }
    }
    const result = await child.stop("SIGTERM", 10_000);
    const rcvbufErrors = readUdpCounters().rcvbufErrors - before;
    const received = receiver === "client"
      ? clientReceived(result.stdout)
      : loopReceived(result.stdout);
    const counterCpuS = receiver === "counter"
      ? (JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as { cpuS?: number }).cpuS
      : undefined;
    const receiverCpuS = counterCpuS ?? (ticks1 - ticks0) / CLOCK_TICKS_PER_S;
    return {
      receiver,
      rate,
      achieved: Math.round(report.rate),
      sent: report.sent,
      received,
      rcvbufErrors,
      lossless: received >= report.sent,
      senderLimited: report.rate < rate * 0.97,
      senderCpuPercent: report.cpuS / report.elapsedS * 100,
      receiverUsPerDatagram: received > 0 ? receiverCpuS * 1e6 / received : Number.NaN,
      peakQueueBytes,
    };
  } finally {
    if (!child.exited) await child.stop("SIGKILL");
  }
}

function describe(t: CapacityTrial): string {
  const us = Number.isNaN(t.receiverUsPerDatagram) ? "?" : t.receiverUsPerDatagram.toFixed(2);
  return `  ${t.receiver} @ ${t.rate}: sent ${t.sent} (${t.achieved}/s, sender CPU ` +
    `${
      t.senderCpuPercent.toFixed(0)
    } %), received ${t.received}, RcvbufErrors ${t.rcvbufErrors}, ` +
    `receiver ${us} µs/datagram, peak queue ${Math.round(t.peakQueueBytes / 1024)} KiB` +
    (t.senderLimited ? ", SENDER-LIMITED" : "") +
    (t.lossless ? " ok" : " LOSS");
}

/**
 * Up to `attempts` trials at one rate; passed when one was lossless with the sender on time. A
 * sender-limited trial is not repeated at higher rates (the host cannot offer more).
 */
async function tryRate(
  ctx: ReceiveBenchContext,
  receiver: CapacityReceiver,
  rate: number,
  plan: CapacityPlan,
  trials: CapacityTrial[],
): Promise<{ passed: boolean; last: CapacityTrial }> {
  let last: CapacityTrial | undefined;
  for (let attempt = 0; attempt < plan.attempts; attempt++) {
    last = await capacityTrial(ctx, receiver, rate, plan.seconds);
    trials.push(last);
    ctx.log(describe(last));
    if (last.lossless && !last.senderLimited) return { passed: true, last };
  }
  return { passed: false, last: last! };
}

/**
 * The fair comparison on a host where the sender is the limit: the counter climbs `rates` until a
 * rate fails (loss, or the sender falling short); the highest it passed is the rate the host can
 * offer loss-free. The client is tried at that rate, then (if it failed) down the ladder until it
 * passes, then bisected between its highest pass and lowest failure. Both see the same sender.
 */
export async function measureCapacity(
  ctx: ReceiveBenchContext,
  plan: CapacityPlan,
): Promise<CapacityResult> {
  const trials: CapacityTrial[] = [];
  let counterRate = 0;
  let counterStop = "the ladder's top was reached";
  for (const rate of plan.rates) {
    const { passed, last } = await tryRate(ctx, "counter", rate, plan, trials);
    if (!passed) {
      counterStop = last.senderLimited
        ? `the sender reached ${last.achieved}/s of ${rate}/s at ${
          last.senderCpuPercent.toFixed(0)
        } % of a core`
        : `it lost ${last.sent - last.received} of ${last.sent} at ${rate}/s`;
      break;
    }
    counterRate = rate;
  }
  let clientRate = 0;
  if (counterRate > 0) {
    const below = plan.rates.filter((r) => r <= counterRate).reverse();
    let failed = Infinity;
    for (const rate of below) {
      if ((await tryRate(ctx, "client", rate, plan, trials)).passed) {
        clientRate = rate;
        break;
      }
      failed = rate;
    }
    for (let step = 0; step < plan.bisectSteps && failed !== Infinity && clientRate > 0; step++) {
      const mid = Math.round((clientRate + failed) / 2 / 1000) * 1000;
      if (mid <= clientRate || mid >= failed) break;
      if ((await tryRate(ctx, "client", mid, plan, trials)).passed) clientRate = mid;
      else failed = mid;
    }
  }
  const cost = (receiver: CapacityReceiver, rate: number) =>
    trials.find((t) => t.receiver === receiver && t.rate === rate && t.lossless)
      ?.receiverUsPerDatagram ?? Number.NaN;
  return {
    counterRate,
    clientRate,
    counterStop,
    counterUs: cost("counter", counterRate),
    clientUs: cost("client", clientRate),
    trials,
  };
}

/** Highest loss-free rate of one receiver over `rates` by bisection (the bare loop's ceiling). */
export async function searchCeiling(
  ctx: ReceiveBenchContext,
  receiver: CapacityReceiver,
  rates: readonly number[],
  plan: CapacityPlan,
): Promise<{ rate: number; senderLimited: boolean }> {
  const trials: CapacityTrial[] = [];
  let low = -1;
  let high = rates.length;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if ((await tryRate(ctx, receiver, rates[mid]!, plan, trials)).passed) low = mid;
    else high = mid;
  }
  return {
    rate: Math.max(0, ...trials.filter((t) => t.lossless).map((t) => t.achieved)),
    senderLimited: trials.some((t) => t.senderLimited),
  };
}
