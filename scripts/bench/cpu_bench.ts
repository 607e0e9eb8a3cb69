// Client CPU of issues 12 and 15 on 20 Mbit/s RTP/MPEG-TS streams (RFC 3550, RFC 2250, ETSI TR 101
// 290 analysis) from udp_blast: one client beside the bare receive() loop and beside a client of
// the same traffic without TS analysis, eight clients at once, and RFC 3550 jitter from kernel vs
// user-space arrival times on a paced stream. Every baseline runs at the same time as its figure.
import { delay } from "../../lib/common/delay.ts";
import type { Child } from "../support/process.ts";
import { waitForSocketDrain } from "../support/proc_counters.ts";
import {
  clientSummaries,
  type ClientSummary,
  CpuWindow,
  packetRate,
  type ReceiveBenchContext,
  senderReport,
  startBareLoop,
  startClient,
  startSender,
} from "./receive_rig.ts";

/** 20 Mbit/s of TS payload: about 1 900 datagrams/s. */
export const RATE_20_MBPS = packetRate(20_000_000);

/** Stops children (SIGTERM, then SIGKILL after the grace) and returns their stdout. */
async function stopAll(children: readonly Child[]): Promise<string[]> {
  const results = await Promise.all(children.map((c) => c.stop("SIGTERM", 10_000)));
  return results.map((r) => r.stdout);
}

function lossOf(summaries: readonly ClientSummary[], expected: number): number {
  const received = summaries.reduce((a, s) => a + s.packets, 0);
  return Math.max(0, expected - received) + summaries.reduce((a, s) => a + s.lost, 0);
}

/** What {@link measureClientCpu} measured, % of one core. */
export interface ClientCpuResult {
  /** The client (default receive path), TS analysis on. */
  readonly client: number;
  /** A client of the same stream with `--no-ts`: RTP statistics alone. */
  readonly rtpOnly: number;
  /** bare_loop.ts: one receive() per datagram, counting only. */
  readonly bareLoop: number;
  /** Datagrams lost by the client with analysis, of `sent`. */
  readonly lost: number;
  readonly sent: number;
  readonly tsErrors: number;
  readonly tsPackets: number;
}

/**
 * Three receivers of one 20 Mbit/s MPEG-TS stream (PT 33) at once, so the host's load is the same
 * for all: the client (TS analysis on), the client with `--no-ts` (RTP statistics alone) and the
 * bare receive() loop; CPU over `seconds` after a 1 s warm-up.
 */
export async function measureClientCpu(
  ctx: ReceiveBenchContext,
  seconds: number,
): Promise<ClientCpuResult> {
  const warmS = 1;
  const lifeS = seconds + warmS + 20;
  const client = startClient(ctx, ["--duration", String(lifeS)]);
  const rtpOnly = startClient(ctx, ["--duration", String(lifeS), "--no-ts"]);
  const bare = startBareLoop(ctx, { seconds: lifeS });
  const receivers = [client, rtpOnly, bare];
  const packets = Math.ceil(RATE_20_MBPS * (seconds + warmS + 1));
  let sender: Child | undefined;
  try {
    await Promise.all(receivers.map((r) => r.waitFor(/Joined|ready/, { timeoutMs: 20_000 })));
    sender = startSender(ctx, RATE_20_MBPS, packets);
    await delay(warmS * 1000);
    const window = new CpuWindow(receivers.map((r) => r.pid));
    window.start();
    await delay(seconds * 1000);
    const [clientCpu, rtpCpu, bareCpu] = window.stop() as [number, number, number];
    const report = await senderReport(sender, 30_000);
    await waitForSocketDrain(ctx.port, { address: ctx.group, timeoutMs: 3000 });
    await delay(300);
    const [clientOut] = await stopAll(receivers);
    const summaries = clientSummaries(clientOut!);
    return {
      client: clientCpu,
      rtpOnly: rtpCpu,
      bareLoop: bareCpu,
      lost: lossOf(summaries, report.sent),
      sent: report.sent,
      tsErrors: summaries.reduce((a, s) => a + s.tsErrors, 0),
      tsPackets: summaries.reduce((a, s) => a + s.tsPackets, 0),
    };
  } finally {
    for (const child of [...receivers, ...(sender === undefined ? [] : [sender])]) {
      if (!child.exited) await child.stop("SIGKILL");
    }
  }
}

/** What {@link measureManyClients} measured. */
export interface ManyClientsResult {
  /** % of one core, summed over the clients. */
  readonly totalPercent: number;
  readonly perClient: readonly number[];
  readonly lost: number;
  readonly sent: number;
}

/** `clients` clients of one 20 Mbit/s MPEG-TS stream; their CPU over `seconds`. */
export async function measureManyClients(
  ctx: ReceiveBenchContext,
  clients: number,
  seconds: number,
): Promise<ManyClientsResult> {
  const warmS = 1;
  const children = Array.from(
    { length: clients },
    () => startClient(ctx, ["--duration", String(seconds + warmS + 20)]),
  );
  let sender: Child | undefined;
  try {
    await Promise.all(children.map((c) => c.waitFor(/Joined/, { timeoutMs: 30_000 })));
    sender = startSender(ctx, RATE_20_MBPS, Math.ceil(RATE_20_MBPS * (seconds + warmS + 1)));
    await delay(warmS * 1000);
    const window = new CpuWindow(children.map((c) => c.pid));
    window.start();
    await delay(seconds * 1000);
    const perClient = window.stop();
    const report = await senderReport(sender, 30_000);
    await waitForSocketDrain(ctx.port, { address: ctx.group, timeoutMs: 3000 });
    await delay(300);
    const outputs = await stopAll(children);
    return {
      totalPercent: perClient.reduce((a, b) => a + b, 0),
      perClient,
      lost: outputs.reduce((a, out) => a + lossOf(clientSummaries(out), report.sent), 0),
      sent: report.sent * clients,
    };
  } finally {
    for (const child of children) if (!child.exited) await child.stop("SIGKILL");
    if (sender !== undefined && !sender.exited) await sender.stop("SIGKILL");
  }
}

/** What {@link measureJitter} measured: RFC 3550 jitter of the same datagrams on both paths. */
export interface JitterResult {
  readonly kernelMs: number;
  readonly denoMs: number;
  readonly rate: number;
  readonly sent: number;
  readonly received: readonly [number, number];
}

/**
 * A stream paced by udp_blast (one datagram per wake-up at `rate`), received at once by a client
 * on the kernel path (kernel arrival timestamps) and one on --receiver deno (user-space arrival).
 */
export async function measureJitter(
  ctx: ReceiveBenchContext,
  rate: number,
  seconds: number,
): Promise<JitterResult> {
  const life = String(seconds + 20);
  const kernel = startClient(ctx, ["--receiver", "kernel", "--duration", life]);
  const deno = startClient(ctx, ["--receiver", "deno", "--duration", life]);
  try {
    await Promise.all([kernel, deno].map((c) => c.waitFor(/Joined/, { timeoutMs: 20_000 })));
    const report = await senderReport(
      startSender(ctx, rate, Math.round(rate * seconds)),
      seconds * 2000 + 10_000,
    );
    await waitForSocketDrain(ctx.port, { address: ctx.group, timeoutMs: 3000 });
    await delay(300);
    const [k, d] = (await stopAll([kernel, deno])).map(clientSummaries);
    const jitter = (s: ClientSummary[] | undefined) => s?.[0]?.jitterMs ?? Number.NaN;
    const received = (s: ClientSummary[] | undefined) => s?.reduce((a, x) => a + x.packets, 0) ?? 0;
    return {
      kernelMs: jitter(k),
      denoMs: jitter(d),
      rate,
      sent: report.sent,
      received: [received(k), received(d)],
    };
  } finally {
    for (const child of [kernel, deno]) if (!child.exited) await child.stop("SIGKILL");
  }
}
