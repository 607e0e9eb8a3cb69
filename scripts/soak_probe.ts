// Soak run of the probe of issue 13: one client process with `--all` watches a five-stream catalog
// of MPEG-TS over RTP (RFC 3550, RFC 2250; ETSI TR 101 290 analysis on) from a real server for many
// minutes through stream restarts (new SSRCs), stalls and catalog changes (SIGHUP reloads adding,
// removing and re-describing streams), sampling the client's RSS; memory must stay flat and every
// (stream, SSRC) summary must equal its source's truth.
// Run: deno run -A scripts/soak_probe.ts [--minutes 10] [--streams 5] [--bitrate 2M] [--cycle 60]
// Multicast stays in a private network namespace: unless GATEWAY_NETNS=1 the script re-executes
// itself under `unshare -rn` with lo up and 224.0.0.0/4 routed to lo; the sources also use TTL 0.
import { type IndicatorKey, TR101290_INDICATORS } from "../lib/ts/tr101290.ts";
import { exitCodeFor, parseFlags, parseIntegerFlag } from "../lib/common/flags.ts";
import { ConfigError } from "../lib/common/errors.ts";
import { delay } from "../lib/common/delay.ts";
import { parseBitrate, type SourceTruth } from "../lib/source/rtp_source.ts";
import { startRtpStream } from "./support/client_rig.ts";
import { type ClientProcess, spawnClient, summaries } from "./support/client_process.ts";
import { randomRtpPort } from "./support/endpoints.ts";
import { assertPrivateNetns, inPrivateNetns, runInPrivateNetns } from "./support/netns.ts";
import { waitUntil } from "./support/poll.ts";
import { rssMb, waitForSocketDrain } from "./support/proc_counters.ts";
import { type ServerProcess, startServer } from "./support/server_process.ts";
import { withDefaults } from "./support/with_defaults.ts";

/** Options of {@link runProbeSoak}. */
export interface ProbeSoakOptions {
  /** Length of the run in minutes (default 10). */
  readonly minutes?: number;
  /** Streams always in the catalog (default 5); one more is added and removed. */
  readonly streams?: number;
  /** Bitrate of every source, bit/s (default 2 000 000). */
  readonly bitrate?: number;
  /** Seconds of one round: a restart, a catalog change and a stall (default 60). */
  readonly cycleS?: number;
  /** Seconds between RSS samples (default 10). */
  readonly sampleEveryS?: number;
  /** The client's --stall-after, seconds (default 2); a stall silences a source twice as long. */
  readonly stallAfterS?: number;
  /** First group: the streams use it and the next ones, the added stream the one after (default 239.77.1.1). */
  readonly group?: string;
}

/** One RSS sample of the client. */
export interface ProbeRssSample {
  /** Seconds since the sources started. */
  readonly atS: number;
  readonly rssMb: number;
}

/** A (stream, SSRC) whose client summary differs from its source's truth. */
export interface ProbeMismatch {
  readonly stream: string;
  readonly ssrc: number;
  /**
   * [packets, lost, duplicates, reordered, TS content errors, socket drops]: the truth and the
   * client's.
   */
  readonly expected: readonly number[];
  readonly got: readonly number[] | null;
}

/** What a probe soak run measured. */
export interface ProbeSoakReport {
  readonly minutes: number;
  readonly streams: number;
  readonly bitrate: number;
  readonly seconds: number;
  readonly rounds: number;
  /** What happened to the client during the run. */
  readonly events: {
    readonly restarts: number;
    readonly stalls: number;
    readonly added: number;
    readonly removed: number;
    readonly redescribed: number;
    readonly reloads: number;
  };
  readonly rss: {
    /** Time of the baseline sample: 60 s, or half the run when shorter. */
    readonly baselineS: number;
    readonly baselineMb: number;
    readonly endMb: number;
    readonly growthMb: number;
    /** Highest sample after the baseline (end included) minus baseline. */
    readonly peakGrowthMb: number;
    /**
     * Lowest sample of the second half of the samples after the baseline minus the lowest of the
     * first half: growth of what survives a garbage collection, the criterion.
     */
    readonly floorGrowthMb: number;
    readonly samples: readonly ProbeRssSample[];
  };
  /** Sources run (one per SSRC), datagrams they sent, and the client's summaries with packets. */
  readonly sources: number;
  readonly sent: number;
  readonly received: number;
  readonly summaries: number;
  /** TS packets the client analysed over all summaries. */
  readonly tsPackets: number;
  /** The arrival-time indicators ({@link TS_TIMING_KEYS}) over all summaries, not judged. */
  readonly tsTimingErrors: Readonly<Record<string, number>>;
  /** Per stream: stalls the client counted and stalls made. */
  readonly stallsCounted: Readonly<Record<string, readonly [number, number]>>;
  readonly mismatches: readonly ProbeMismatch[];
  readonly clientExitCode: number;
  /** Every summary equals its truth, every source has one and the stalls match. */
  readonly figuresMatch: boolean;
  /** RSS floor growth ({@link ProbeSoakReport.rss}) under {@link MAX_GROWTH_MB}. */
  readonly rssFlat: boolean;
  readonly ok: boolean;
}

const DEFAULTS: Required<ProbeSoakOptions> = {
  minutes: 10,
  streams: 5,
  bitrate: 2_000_000,
  cycleS: 60,
  sampleEveryS: 10,
  stallAfterS: 2,
  group: "239.77.1.1",
};

/** RSS growth allowed after the baseline, MB. */
export const MAX_GROWTH_MB = 5;

/**
 * The indicators that say "X does not occur at least every N ms" (PAT, PMT, PID, PCR, PTS), judged
 * on arrival times: 0 while the source keeps its schedule; a source late by more than a limit (its
 * JavaScript timer on a busy host) counts them, which the source's truth does not know.
 */
const TS_TIMING_KEYS = [
  "patErrors",
  "pmtErrors",
  "pidErrors",
  "pcrRepetitionErrors",
  "ptsErrors",
] as const satisfies readonly IndicatorKey[];

/**
 * The other TR 101 290 indicators of a summary's `ts` object (sync, CC, transport, CRC, PCR
 * discontinuity): they depend on the bytes only, 0 on the test source's clean TS whatever the timing.
 */
const TS_CONTENT_KEYS = TR101290_INDICATORS.map((i) => i.key).filter((k) =>
  !(TS_TIMING_KEYS as readonly string[]).includes(k)
);

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function groupAt(base: string, offset: number): string {
  const parts = base.split(".").map(Number);
  const last = parts[3]! + offset;
  if (last > 254) {
    throw new ConfigError("--group", `--group: ${base} leaves no room for the streams`);
  }
  return `${parts[0]}.${parts[1]}.${parts[2]}.${last}`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, "g"))?.length ?? 0;
}

interface CatalogEntry {
  readonly name: string;
  readonly address: string;
}

/** A running test source: one SSRC until stopped. */
interface RunningSource {
  readonly stream: string;
  readonly ssrc: number;
  readonly stop: () => Promise<SourceTruth>;
}

/** Sources by stream, and the truths of those stopped. */
class Sources {
  readonly #running = new Map<string, RunningSource>();
  readonly #usedSsrcs = new Set<number>();
  readonly truths: { stream: string; truth: SourceTruth }[] = [];
  readonly #port: number;
  readonly #bitrate: number;
  readonly #maxS: number;

  constructor(port: number, bitrate: number, maxS: number) {
    this.#port = port;
    this.#bitrate = bitrate;
    this.#maxS = maxS;
  }

  /** Starts a source with a new SSRC on the entry's group; resolves once it sends. */
  async start(entry: CatalogEntry): Promise<void> {
    let ssrc: number;
    do ssrc = crypto.getRandomValues(new Uint32Array(1))[0]!; while (this.#usedSsrcs.has(ssrc));
    this.#usedSsrcs.add(ssrc);
    const controller = new AbortController();
    const { done } = await startRtpStream({
      group: entry.address,
      port: this.#port,
      ttl: 0,
      bitrate: this.#bitrate,
      ssrc,
      durationS: this.#maxS, // a bound; stop() ends it long before
      signal: controller.signal,
    });
    this.#running.set(entry.name, {
      stream: entry.name,
      ssrc,
      stop: async () => {
        controller.abort();
        const truth = await done;
        this.truths.push({ stream: entry.name, truth });
        return truth;
      },
    });
  }

  /** Stops the stream's source and keeps its truth. */
  async stop(name: string): Promise<void> {
    const source = this.#running.get(name);
    if (source === undefined) return;
    this.#running.delete(name);
    await source.stop();
  }

  async stopAll(): Promise<void> {
    for (const name of [...this.#running.keys()]) await this.stop(name);
  }
}

/** Writes the catalog file: the entries, each with a description (its change re-describes it). */
async function writeCatalog(
  path: string,
  port: number,
  entries: readonly CatalogEntry[],
  descriptions: ReadonlyMap<string, string>,
): Promise<void> {
  const streams = entries.map((e) => ({
    name: e.name,
    address: e.address,
    port,
    ttl: 0,
    description: descriptions.get(e.name) ?? `soak stream ${e.name}`,
    formats: [{ payloadType: 33 }],
  }));
  await Deno.writeTextFile(path, JSON.stringify({ streams }));
}

/** Reloads the server's config (SIGHUP), waits for its "Reloaded" line, then refreshes the client. */
async function reload(server: ServerProcess, client: ClientProcess): Promise<void> {
  const reloaded = () => server.logs.filter((l) => /^Reloaded/.test(String(l.message))).length;
  const before = reloaded();
  server.process.kill("SIGHUP");
  await waitUntil(() => reloaded() > before, 10_000, "the server reloaded its catalog", 20);
  client.process.kill("SIGHUP"); // --all: read the catalog now
}

/** Waits until `pattern` occurs in the client's log more than `before` times. */
async function waitForLogCount(
  client: ClientProcess,
  pattern: RegExp,
  before: number,
  what: string,
): Promise<void> {
  await waitUntil(() => count(client.child.stderr, pattern) > before, 15_000, what, 20);
}

/**
 * Runs the soak: a server with a catalog of `streams` MPEG-TS streams (ttl 0), the client
 * (`--all --json`) and one test source per stream. Every `cycleS` one stream's source is
 * restarted with a new SSRC, the catalog changes (an extra stream added or removed, one stream
 * re-described; SIGHUP to the server, then to the client) and, half a round later, another
 * stream's source is silent for twice --stall-after before a new SSRC takes over. RSS is sampled
 * every `sampleEveryS`. At the end the sources stop, the sockets drain, the client is stopped with
 * SIGINT and each (stream, SSRC) summary is compared with its source's truth. Only inside the
 * private network namespace (throws otherwise).
 */
export async function runProbeSoak(options: ProbeSoakOptions = {}): Promise<ProbeSoakReport> {
  assertPrivateNetns("runProbeSoak()");
  const o = withDefaults(options, DEFAULTS);
  const durationS = o.minutes * 60;
  const baselineS = Math.min(60, durationS / 2);
  const port = randomRtpPort();
  const fixed: CatalogEntry[] = Array.from({ length: o.streams }, (_, i) => ({
    name: `s${i + 1}`,
    address: groupAt(o.group, i),
  }));
  const extra: CatalogEntry = { name: "extra", address: groupAt(o.group, o.streams) };
  const descriptions = new Map<string, string>();
  const dir = await Deno.makeTempDir({ prefix: "soak-probe-" });
  const config = `${dir}/catalog.json`;
  const sources = new Sources(port, o.bitrate, durationS + 600);
  const events = { restarts: 0, stalls: 0, added: 0, removed: 0, redescribed: 0, reloads: 0 };
  const stallsMade = new Map<string, number>(fixed.map((e) => [e.name, 0]));
  let server: ServerProcess | undefined;
  let client: ClientProcess | undefined;
  try {
    await writeCatalog(config, port, fixed, descriptions);
    server = await startServer(["--config", config]);
    client = spawnClient([
      "--server",
      server.url,
      "--all",
      "--json",
      "--interval",
      "5",
      "--refresh",
      "3600",
      "--stall-after",
      String(o.stallAfterS),
      "--timeout",
      "60",
    ]);
    const c = client;
    const s = server;
    const joined = (entry: CatalogEntry) =>
      new RegExp(`Joined ${escape(entry.address)} port ${port}`);
    await waitUntil(
      () => fixed.every((e) => joined(e).test(c.child.stderr)),
      30_000,
      `the client joined ${o.streams} streams`,
      20,
    );
    for (const entry of fixed) await sources.start(entry);
    const startMs = performance.now();
    const samples: ProbeRssSample[] = [];
    const sample = () =>
      samples.push({
        atS: round1((performance.now() - startMs) / 1000),
        rssMb: rssMb(c.process.pid),
      });
    sample();
    const sampling = new AbortController();
    const sampler = (async () => {
      const maxSamples = Math.ceil(durationS / o.sampleEveryS) + 60;
      for (let i = 1; i <= maxSamples && !sampling.signal.aborted; i++) {
        await delay(
          Math.max(0, startMs + i * o.sampleEveryS * 1000 - performance.now()),
          sampling.signal,
        );
        if (!sampling.signal.aborted) sample();
      }
    })();

    let extraIn = false;
    const rounds = Math.max(1, Math.floor(durationS / o.cycleS));
    for (let round = 0; round < rounds; round++) {
      // A tenth of a round in: a source that has just started is past RFC 3550 probation.
      const roundStart = startMs + (round + 0.1) * o.cycleS * 1000;
      await delay(Math.max(0, roundStart - performance.now()));
      // A restart: the source stops and starts again at once with a new SSRC (VLC --loop style).
      const restarted = fixed[round % fixed.length]!;
      await sources.stop(restarted.name);
      await sources.start(restarted);
      events.restarts++;
      // A catalog change: the extra stream in or out, one stream re-described.
      const redescribed = fixed[(round + 2) % fixed.length]!;
      descriptions.set(redescribed.name, `soak stream ${redescribed.name}, round ${round + 1}`);
      events.redescribed++;
      if (!extraIn) {
        await writeCatalog(config, port, [...fixed, extra], descriptions);
        const before = count(c.child.stderr, joined(extra));
        await reload(s, c);
        await waitForLogCount(c, joined(extra), before, "the client joined the added stream");
        await sources.start(extra);
        events.added++;
      } else {
        // Its source stops first and its socket drains, so every datagram sent was counted.
        await sources.stop(extra.name);
        await waitForSocketDrain(port, { address: extra.address, timeoutMs: 3000, pollMs: 10 });
        await writeCatalog(config, port, fixed, descriptions);
        const left = new RegExp(`Stream ${extra.name} left the catalog`);
        const before = count(c.child.stderr, left);
        await reload(s, c);
        await waitForLogCount(c, left, before, "the client left the removed stream");
        events.removed++;
      }
      extraIn = !extraIn;
      events.reloads++;
      // A stall, half a round later: silence for twice --stall-after, then a new SSRC.
      await delay(Math.max(0, roundStart + (o.cycleS * 1000) * 0.4 - performance.now()));
      const stalled = fixed[(round + 1) % fixed.length]!;
      const stallLine = new RegExp(`Stream ${stalled.name}: no packets for`);
      const flowing = new RegExp(`Stream ${stalled.name}: packets are flowing again`);
      const [stallsBefore, flowingBefore] = [
        count(c.child.stderr, stallLine),
        count(c.child.stderr, flowing),
      ];
      const silentAt = performance.now();
      await sources.stop(stalled.name);
      await waitForLogCount(c, stallLine, stallsBefore, `stream ${stalled.name} stalled`);
      await delay(Math.max(0, silentAt + 2 * o.stallAfterS * 1000 - performance.now()));
      await sources.start(stalled);
      await waitForLogCount(c, flowing, flowingBefore, `stream ${stalled.name} flows again`);
      stallsMade.set(stalled.name, stallsMade.get(stalled.name)! + 1);
      events.stalls++;
    }
    await delay(Math.max(0, startMs + durationS * 1000 - performance.now()));

    // The end: sources stop, every socket drains, then SIGINT before any stream can stall.
    await sources.stopAll();
    const endS = round1((performance.now() - startMs) / 1000);
    for (const entry of extraIn ? [...fixed, extra] : fixed) {
      await waitForSocketDrain(port, { address: entry.address, timeoutMs: 3000, pollMs: 10 });
    }
    sampling.abort();
    await sampler;
    sample();
    c.process.kill("SIGINT");
    const result = await c.finished();

    // Every source's truth against the client's summary of its (stream, SSRC).
    const records = summaries(result.records).filter((r) => r.ssrc !== null);
    const byKey = new Map(records.map((r) => [`${r.stream}/${r.ssrc}`, r]));
    const figures = (r: Record<string, unknown>): number[] => {
      const ts = r.ts as Record<string, number> | undefined;
      return [
        Number(r.packets),
        Number(r.lost),
        Number(r.duplicates),
        Number(r.reordered),
        ts === undefined ? Number.NaN : TS_CONTENT_KEYS.reduce((a, k) => a + Number(ts[k] ?? 0), 0),
        Number(r.socketDrops ?? 0),
      ];
    };
    const mismatches: ProbeMismatch[] = [];
    for (const { stream, truth } of sources.truths) {
      const expected = [truth.sent, truth.lost, truth.duplicated, truth.reordered, 0, 0];
      const summary = byKey.get(`${stream}/${truth.ssrc}`);
      const got = summary === undefined ? null : figures(summary);
      if (got === null || got.some((v, i) => v !== expected[i])) {
        mismatches.push({ stream, ssrc: truth.ssrc, expected, got });
      }
    }
    const truthKeys = new Set(sources.truths.map((t) => `${t.stream}/${t.truth.ssrc}`));
    for (const r of records) {
      const key = `${r.stream}/${r.ssrc}`;
      if (!truthKeys.has(key)) {
        mismatches.push({
          stream: String(r.stream),
          ssrc: Number(r.ssrc),
          expected: [],
          got: figures(r),
        });
      }
    }
    const tsTimingErrors: Record<string, number> = {};
    for (const key of TS_TIMING_KEYS) {
      tsTimingErrors[key] = records.reduce(
        (a, r) => a + Number((r.ts as Record<string, number> | undefined)?.[key] ?? 0),
        0,
      );
    }
    const stallsCounted: Record<string, [number, number]> = {};
    for (const entry of fixed) {
      const counted = Math.max(
        0,
        ...records.filter((r) => r.stream === entry.name).map((r) => Number(r.stalls ?? 0)),
      );
      stallsCounted[entry.name] = [counted, stallsMade.get(entry.name)!];
    }
    const stallsMatch = Object.values(stallsCounted).every(([a, b]) => a === b);

    const baseline = samples.find((x) => x.atS >= baselineS) ?? samples[samples.length - 1]!;
    const after = samples.filter((x) => x.atS >= baseline.atS);
    const endMb = samples[samples.length - 1]!.rssMb;
    const peakGrowthMb = round1(Math.max(...after.map((x) => x.rssMb)) - baseline.rssMb);
    // What survives a collection: the lowest RSS of the second half against the first half's.
    // V8 collects the old generation lazily (minutes apart here), so RSS saw-tooths in between.
    const half = Math.max(1, Math.floor(after.length / 2));
    const floorOf = (part: readonly ProbeRssSample[]) => Math.min(...part.map((x) => x.rssMb));
    const floorGrowthMb = round1(floorOf(after.slice(half)) - floorOf(after.slice(0, half)));
    const figuresMatch = mismatches.length === 0 && stallsMatch && result.code === 0;
    const rssFlat = floorGrowthMb < MAX_GROWTH_MB;
    return {
      minutes: o.minutes,
      streams: o.streams,
      bitrate: o.bitrate,
      seconds: endS,
      rounds,
      events,
      rss: {
        baselineS: baseline.atS,
        baselineMb: baseline.rssMb,
        endMb,
        growthMb: round1(endMb - baseline.rssMb),
        peakGrowthMb,
        floorGrowthMb,
        samples,
      },
      sources: sources.truths.length,
      sent: sources.truths.reduce((a, t) => a + t.truth.sent, 0),
      received: records.reduce((a, r) => a + Number(r.packets), 0),
      summaries: records.length,
      tsPackets: records.reduce(
        (a, r) => a + Number((r.ts as Record<string, number> | undefined)?.packets ?? 0),
        0,
      ),
      tsTimingErrors,
      stallsCounted,
      mismatches,
      clientExitCode: result.code,
      figuresMatch,
      rssFlat,
      ok: figuresMatch && rssFlat,
    };
  } finally {
    await sources.stopAll().catch(() => {});
    if (client !== undefined && !client.child.exited) {
      client.process.kill("SIGKILL");
      await client.child.status;
    }
    await server?.stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

/** `--help` text. */
const USAGE =
  `soak_probe: a long run of the client with --all through restarts, stalls and catalog changes.

Usage: deno run -A scripts/soak_probe.ts [options]

  --minutes M     Length of the run (default ${DEFAULTS.minutes}; decimals allowed)
  --streams N     Streams in the catalog (1-50, default ${DEFAULTS.streams}; one more comes and goes)
  --bitrate B     Bitrate of every source, e.g. 2M (default 2M)
  --cycle S       Seconds of one round: a restart, a catalog change, a stall (8-3600, default ${DEFAULTS.cycleS})
  --sample S      Seconds between RSS samples (1-600, default ${DEFAULTS.sampleEveryS})

Prints one JSON report line on stdout and a summary line on stderr; exit 0 when the client's RSS
grew less than ${MAX_GROWTH_MB} MB after the first minute (half the run when shorter: the lowest
sample of the second half of the samples after it against the lowest of the first half) and every
(stream, SSRC) summary equals its source's truth, 1 otherwise, 2 for bad flags.
Runs inside a private network namespace (re-executes itself under unshare -rn if needed).`;

function parseMinutes(text: string): number {
  const minutes = /^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$/.test(text.trim()) ? Number(text) : NaN;
  if (!(minutes > 0 && minutes <= 24 * 60)) {
    throw new ConfigError("--minutes", `--minutes: expected minutes from 0 to 1440, got "${text}"`);
  }
  return minutes;
}

/** Command line: parses flags, re-executes in a namespace if needed, prints the report. */
export async function main(args: string[]): Promise<number> {
  let options: ProbeSoakOptions;
  try {
    const values = parseFlags(args, {
      minutes: { type: "string", default: String(DEFAULTS.minutes) },
      streams: { type: "string", default: String(DEFAULTS.streams) },
      bitrate: { type: "string", default: "2M" },
      cycle: { type: "string", default: String(DEFAULTS.cycleS) },
      sample: { type: "string", default: String(DEFAULTS.sampleEveryS) },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    options = {
      minutes: parseMinutes(values.minutes),
      streams: parseIntegerFlag(values.streams, "--streams", 1, 50),
      bitrate: parseBitrate(values.bitrate, "--bitrate"),
      cycleS: parseIntegerFlag(values.cycle, "--cycle", 8, 3600),
      sampleEveryS: parseIntegerFlag(values.sample, "--sample", 1, 600),
    };
  } catch (error) {
    return exitCodeFor("soak_probe", error);
  }
  if (!inPrivateNetns()) return await runInPrivateNetns(new URL(import.meta.url), args);
  const report = await runProbeSoak(options);
  console.log(JSON.stringify(report));
  const e = report.events;
  console.error(
    `soak_probe: ${report.minutes} min, ${report.streams} streams at ${report.bitrate / 1e6} ` +
      `Mbit/s, ${report.rounds} rounds (${e.restarts} restarts, ${e.stalls} stalls, ${e.reloads} ` +
      `reloads: ${e.added} added, ${e.removed} removed, ${e.redescribed} re-described): client RSS ` +
      `${report.rss.baselineMb} MB at ${report.rss.baselineS} s, ${report.rss.endMb} MB at the ` +
      `end (growth ${report.rss.growthMb} MB, peak ${report.rss.peakGrowthMb} MB, floor ` +
      `${report.rss.floorGrowthMb} MB); ` +
      `${report.summaries} summaries for ${report.sources} sources, ${report.received}/` +
      `${report.sent} packets, ${report.tsPackets} TS packets analysed (arrival-time TS ` +
      `indicators: ${JSON.stringify(report.tsTimingErrors)}), ${report.mismatches.length} ` +
      `differ from the truth: ${report.ok ? "OK" : "FAILED"}`,
  );
  return report.ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
