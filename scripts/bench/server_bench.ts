// Server-side benchmarks of issue 7: wrk POSTing the VLC-style SDP offer (RFC 3264 offer/answer over
// HTTP/1.1 keep-alive) over 64 connections, and RSS growth over a fixed number of offers.
// Used by scripts/bench/run.ts only; wrk comes from Debian (package wrk).
import { delay } from "../../lib/common/delay.ts";
import { waitForTcp } from "../support/endpoints.ts";
import { Child } from "../support/process.ts";
import { CLOCK_TICKS_PER_S, cpuTicks, rssKiB } from "../support/proc_counters.ts";
import { median } from "./figures.ts";

/** One wrk run. */
export interface WrkResult {
  readonly requestsPerS: number;
  readonly p99Ms: number;
  readonly p50Ms: number;
  readonly requests: number;
  /** Responses other than 2xx/3xx. */
  readonly non2xx: number;
  /** Connect, read, write and timeout errors. */
  readonly socketErrors: number;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function durationMs(text: string | undefined): number {
  const match = /^([0-9.]+)(us|ms|s|m)$/.exec(text ?? "");
  return match === null ? Number.NaN : Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** Parses wrk's text report (with --latency). */
export function parseWrk(text: string): WrkResult {
  const rps = /^Requests\/sec:\s+([0-9.]+)/m.exec(text);
  if (rps === null) throw new Error(`unexpected wrk output:\n${text}`);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  return {
    requestsPerS: Number(rps[1]),
    p99Ms: durationMs(/^\s+99%\s+(\S+)/m.exec(text)?.[1]),
    p50Ms: durationMs(/^\s+50%\s+(\S+)/m.exec(text)?.[1]),
    requests: Number(/(\d+) requests in/.exec(text)?.[1] ?? 0),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0),
    socketErrors: errors === null ? 0 : errors.slice(1).reduce((a, b) => a + Number(b), 0),
  };
}

/** Where things are. */
export interface ServerBenchContext {
  readonly root: string;
  readonly deno: string;
  /** The offer wrk posts. */
  readonly offerFile: string;
  readonly log: (text: string) => void;
}

/** Runs wrk with the POST script for `seconds` (or until `limit` responses, when given). */
export async function runWrk(
  ctx: ServerBenchContext,
  url: string,
  options: { seconds: number; connections?: number; limit?: number },
): Promise<WrkResult> {
  const child = new Child("wrk", [
    "-t1",
    `-c${options.connections ?? 64}`,
    `-d${Math.ceil(options.seconds)}s`,
    "--latency",
    "-s",
    `${ctx.root}/scripts/bench/post_offer.lua`,
    url,
  ], {
    env: { OFFER_FILE: ctx.offerFile, WRK_LIMIT: String(options.limit ?? 0) },
  });
  const result = await child.finished(options.seconds * 1000 + 30_000);
  if (result.code !== 0) throw new Error(`wrk failed (exit ${result.code}): ${result.stderr}`);
  return parseWrk(result.stdout);
}

/** A server under test. */
export interface ServerUnderTest {
  readonly name: string;
  readonly child: Child;
  readonly url: string;
}

/** Starts a server command that listens on 127.0.0.1:`port` and waits until it accepts. */
export async function startServer(
  name: string,
  command: string,
  args: string[],
  port: number,
  cwd: string,
  stdout: "piped" | "null" = "null",
): Promise<ServerUnderTest> {
  const child = new Child(command, args, { cwd, stdout });
  try {
    await waitForTcp(port, 20_000);
  } catch (error) {
    await child.stop("SIGKILL");
    throw new Error(`${name} did not start: ${child.stderr}`, { cause: error });
  }
  return { name, child, url: `http://127.0.0.1:${port}/offer` };
}

/** The runs of one server in an interleaved comparison, summarised. */
export interface WrkSummary {
  readonly name: string;
  readonly runs: readonly WrkResult[];
  /** Median requests/s over the runs. */
  readonly requestsPerS: number;
  readonly minRequestsPerS: number;
  readonly maxRequestsPerS: number;
  /** Median p99 and p50 over the runs. */
  readonly p99Ms: number;
  readonly p50Ms: number;
  /** Non-2xx responses and socket errors, summed over the runs. */
  readonly errors: number;
  /**
   * Median CPU time of the server process (all its threads) per answered request, in µs: less
   * disturbed by other load on the machine than requests/s, which also measure how much CPU the
   * server got.
   */
  readonly cpuUsPerRequest: number;
}

/** Median, spread and error count of `runs`. */
export function summariseRuns(
  name: string,
  runs: readonly WrkResult[],
  cpuUs: readonly number[],
): WrkSummary {
  const rates = runs.map((r) => r.requestsPerS);
  return {
    name,
    runs,
    requestsPerS: median(rates),
    minRequestsPerS: Math.min(...rates),
    maxRequestsPerS: Math.max(...rates),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    errors: runs.reduce((sum, r) => sum + r.non2xx + r.socketErrors, 0),
    cpuUsPerRequest: median(runs.map((r, i) => cpuUs[i]! / Math.max(1, r.requests))),
  };
}

/** `median (min-max)` of a summary's requests/s and its CPU per request, for a row's note. */
export function spreadText(summary: WrkSummary): string {
  return `median of ${summary.runs.length} (${summary.minRequestsPerS.toFixed(0)}-${
    summary.maxRequestsPerS.toFixed(0)
  }), ${summary.cpuUsPerRequest.toFixed(1)} µs CPU/request`;
}

/**
 * Throughput of several servers compared fairly on a shared, noisy machine: each is warmed up for
 * 1 s, then `rounds` rounds measure every server once for `seconds` in turn, so a burst of other
 * load falls on all of them rather than on one. Returns one summary per server, in order.
 */
export async function measureInterleaved(
  ctx: ServerBenchContext,
  servers: readonly ServerUnderTest[],
  rounds: number,
  seconds: number,
): Promise<WrkSummary[]> {
  for (const server of servers) await runWrk(ctx, server.url, { seconds: 1 });
  const runs = servers.map((): WrkResult[] => []);
  const cpuUs = servers.map((): number[] => []);
  for (let round = 1; round <= rounds; round++) {
    for (const [i, server] of servers.entries()) {
      const ticks = cpuTicks(server.child.pid);
      const result = await runWrk(ctx, server.url, { seconds });
      const us = (cpuTicks(server.child.pid) - ticks) * 1e6 / CLOCK_TICKS_PER_S;
      runs[i]!.push(result);
      cpuUs[i]!.push(us);
      ctx.log(
        `  round ${round}/${rounds} ${server.name}: ${result.requestsPerS.toFixed(0)} req/s, ` +
          `p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, ` +
          `${(us / Math.max(1, result.requests)).toFixed(1)} µs CPU/request, ` +
          `${result.non2xx} non-2xx, ${result.socketErrors} socket errors`,
      );
    }
  }
  return servers.map((server, i) => summariseRuns(server.name, runs[i]!, cpuUs[i]!));
}

/** RSS of a server before and after a fixed number of offers. */
export interface ServerMemoryResult {
  readonly rssBeforeKiB: number;
  readonly rssAfterKiB: number;
  /** Offers answered in the measured run (wrk overshoots the limit by a few). */
  readonly offers: number;
  readonly failed: number;
}

/** Sends about `offers` offers over 64 connections; wrk is stopped (SIGINT) once they are answered. */
async function postOffers(
  ctx: ServerBenchContext,
  url: string,
  offers: number,
  maxSeconds: number,
): Promise<{ offers: number; failed: number }> {
  const child = new Child("wrk", [
    "-t1",
    "-c64",
    `-d${maxSeconds}s`,
    "-s",
    `${ctx.root}/scripts/bench/post_offer.lua`,
    url,
  ], { env: { OFFER_FILE: ctx.offerFile, WRK_LIMIT: String(offers) } });
  try {
    await child.waitFor(/LIMIT reached/, { timeoutMs: maxSeconds * 1000 + 5000 });
  } catch {
    // Too slow: wrk ends at -d by itself and reports what it did.
  }
  const result = await child.stop("SIGINT", 30_000);
  const limited = /LIMITED (\d+) responses, (\d+) not 200/.exec(result.stdout);
  if (limited === null) throw new Error(`wrk (limited) failed: ${result.stdout}${result.stderr}`);
  return { offers: Number(limited[1]), failed: Number(limited[2]) };
}

/**
 * RSS growth over `offers` offers: a first run of `offers` warms the server up (JIT, heap sizing),
 * then RSS is read 1 s after it and 1 s after a second run of `offers`.
 */
export async function measureServerMemory(
  ctx: ServerBenchContext,
  server: ServerUnderTest,
  offers: number,
  maxSeconds: number,
): Promise<ServerMemoryResult> {
  await postOffers(ctx, server.url, offers, maxSeconds);
  await delay(1000);
  const before = rssKiB(server.child.pid);
  const run = await postOffers(ctx, server.url, offers, maxSeconds);
  await delay(1000);
  return { rssBeforeKiB: before, rssAfterKiB: rssKiB(server.child.pid), ...run };
}
