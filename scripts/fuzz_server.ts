// Fuzzes a real SDP server with random and mutated requests (offers and receiver reports, and the
// reads: catalog, page, playlist, metrics, receivers) and, beside them, the hostile peers of
// issue 11 (idle connections, malformed Host headers, one-byte chunks, trickled bodies, broken
// framing, oversized and CPU-heavy offers) and checks it never answers 5xx, never dies, closes what
// it must, and that its memory returns to within 10 % of where it started.
// Run: deno run -A scripts/fuzz_server.ts [--requests 20000] [--warmup 2000] [--seed 1] [--concurrency 32] [--hostile 1]
//      (or --help)
// Traffic goes only to a server it starts itself on 127.0.0.1.
import { delay } from "../lib/common/delay.ts";
import { exitCodeFor, parseFlags, parseIntegerFlag } from "../lib/common/flags.ts";
import { mulberry32 } from "../lib/common/prng.ts";
import { rssKiB } from "./support/proc_counters.ts";
import { startServer } from "./support/server_process.ts";
import { sampleReport } from "./support/sample_report.ts";
import {
  closeAll,
  oneByteChunks,
  openIdle,
  rawExchange,
  requestHead,
  writeAll,
} from "./support/raw_http.ts";

/** Outcome of a fuzz run. */
export interface FuzzReport {
  readonly requests: number;
  readonly warmup: number;
  readonly statuses: Record<string, number>;
  readonly serverErrors: number;
  readonly transportErrors: number;
  readonly alive: boolean;
  readonly rssStartMb: number;
  readonly rssEndMb: number;
  readonly rssGrowthPct: number;
  readonly seconds: number;
  /** First server error log lines, if any. */
  readonly errorLogs: readonly string[];
  /** The hostile peers' side: what they got back, per case and status. */
  readonly hostile: HostileReport;
}

/** What the hostile peers of {@link runHostilePeers} got. */
export interface HostileReport {
  /** Rounds of every hostile case. */
  readonly rounds: number;
  /** Idle connections held open during the whole run. */
  readonly idleConnections: number;
  /** Status codes per case (0 = no response). */
  readonly statuses: Readonly<Record<string, Record<string, number>>>;
  /** Cases whose answer was not the expected one, with what came instead. */
  readonly unexpected: readonly string[];
}

const VLC_OFFER = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 239.0.0.1/255\r\nt=0 0\r\n" +
  "a=recvonly\r\nm=video 5004 RTP/AVP 33\r\na=rtpmap:33 MP2T/90000\r\n";

type Body = string | Uint8Array;
interface FuzzRequest {
  method: string;
  path: string;
  contentType?: string;
  body?: Body;
}

/** A valid receiver report of the server's default stream, as the client sends it. */
const REPORT = JSON.stringify(sampleReport("probe-1", "default"));

/** Receiver ids the fuzzer reports under: few, so the receiver store stays small. */
const RECEIVER_IDS = ["probe-1", "probe-2", "probe-3"] as const;

/** Builds the i-th request of a seeded run: a mix of valid, random and mutated offers and reports. */
export function makeRequest(random: () => number): FuzzRequest {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const mutate = (text: string, edits: number) => {
    const chars = Array.from(text);
    for (let i = 0; i < edits; i++) {
      const at = Math.floor(random() * chars.length);
      const kind = random();
      if (kind < 0.4) chars[at] = String.fromCharCode(Math.floor(random() * 128));
      else if (kind < 0.7) chars.splice(at, 1);
      else {chars.splice(
          at,
          0,
          pick(["\r\n", "=", "/", " ", "m=", "c=IN IP4 ", "99999999999", "\0"]),
        );}
    }
    return chars.join("");
  };
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
  const kinds: (() => FuzzRequest)[] = [
    () => ({ method: "POST", path: "/offer", contentType: "application/sdp", body: VLC_OFFER }),
    () => ({
      method: "POST",
      path: "/offer",
      contentType: "application/sdp",
      body: mutate(VLC_OFFER, 1 + Math.floor(random() * 20)),
    }),
    () => ({
      method: "POST",
      path: "/offer",
      contentType: "application/sdp",
      body: bytes(Math.floor(random() * 2000)),
    }),
    () => ({
      method: "POST",
      path: "/offer",
      contentType: "application/sdp",
      body: new Uint8Array([...new TextEncoder().encode(VLC_OFFER), 0xff, 0xfe, 0xc3]),
    }),
    () => ({
      method: "POST",
      path: "/offer",
      contentType: "application/sdp",
      body: VLC_OFFER.replace("s=-", "s=" + "x".repeat(60_000)),
    }),
    () => ({
      method: "POST",
      path: "/offer",
      contentType: "application/sdp",
      body: VLC_OFFER + "m=video 5004 RTP/AVP 33\r\n".repeat(2500),
    }),
    () => ({
      method: "POST",
      path: "/offer",
      contentType: "application/sdp",
      body: "a".repeat(70_000 + Math.floor(random() * 200_000)),
    }),
    () => ({
      method: "POST",
      path: "/offer",
      contentType: "application/json",
      body: "[".repeat(Math.floor(random() * 60_000)),
    }),
    () => ({
      method: "POST",
      path: "/offer",
      contentType: "application/json",
      body: JSON.stringify({ type: "offer", sdp: mutate(VLC_OFFER, 5) }),
    }),
    () => ({
      method: "POST",
      path: "/offer",
      contentType: "application/json",
      body: JSON.stringify(
        pick([{ sdp: 5 }, { type: 7, sdp: VLC_OFFER }, { sdp: null }, [VLC_OFFER], "offer", 42, {
          sdp: ["x"],
        }]),
      ),
    }),
    () => ({
      method: "POST",
      path: "/offer",
      contentType: "application/json",
      body: JSON.stringify({ type: "offer", sdp: VLC_OFFER }).slice(0, Math.floor(random() * 60)),
    }),
    () => ({
      method: "POST",
      path: pick(["/offer", "/streams/default/offer"]),
      contentType: pick([
        "text/plain",
        "",
        "application/sdp; charset=latin1",
        "multipart/form-data",
        "APPLICATION/SDP",
      ]),
      body: VLC_OFFER,
    }),
    () => ({
      method: pick(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
      path: pick(["/offer", "/streams", "/streams/default.sdp", "/healthz", "/x"]),
    }),
    () => ({
      method: "GET",
      path: "/streams/" + encodeURIComponent(mutate("default", 3)) + pick([".sdp", "/offer", ""]),
    }),
    () => ({ method: "GET", path: "/streams/%E0%A4%A.sdp" }),
    () => ({
      method: "POST",
      path: "/streams/" + "a".repeat(Math.floor(random() * 3000)) + "/offer",
      contentType: "application/sdp",
      body: VLC_OFFER,
    }),
    // Receiver reports, fuzzed like offers.
    () => ({
      method: "POST",
      path: "/streams/default/reports",
      contentType: "application/json",
      body: REPORT.replace('"probe-1"', JSON.stringify(pick(RECEIVER_IDS))),
    }),
    () => ({
      method: "POST",
      path: "/streams/default/reports",
      contentType: "application/json",
      body: mutate(REPORT, 1 + Math.floor(random() * 30)),
    }),
    () => ({
      method: "POST",
      path: "/streams/default/reports",
      contentType: pick(["application/json", "text/plain", ""]),
      body: bytes(Math.floor(random() * 3000)),
    }),
    () => ({
      method: "POST",
      path: "/streams/default/reports",
      contentType: "application/json",
      body: JSON.stringify(
        pick([
          { receiverId: "probe-1", records: "x" },
          { receiverId: "bad id!", records: [] },
          { receiverId: "probe-1", records: [{ packets: -1 }] },
          { receiverId: "probe-1", records: Array(500).fill({}) },
          { receiverId: "probe-1", stream: "other", records: [] },
          { receiverId: "probe-1", records: [{ packets: 1e308, jitterMs: "NaN" }] },
          [],
          null,
        ]),
      ),
    }),
    () => ({
      method: "POST",
      path: "/streams/default/reports",
      contentType: "application/json",
      body: "[".repeat(Math.floor(random() * 60_000)),
    }),
    () => ({
      method: "POST",
      path: "/streams/default/reports",
      contentType: "application/json",
      body: REPORT.slice(0, -1) + ',"pad":"' + "x".repeat(70_000) + '"}',
    }),
    () => ({
      method: "POST",
      path: "/streams/" + encodeURIComponent(mutate("default", 3)) + "/reports",
      contentType: "application/json",
      body: REPORT,
    }),
    () => ({
      method: pick(["GET", "HEAD", "POST", "PUT", "OPTIONS"]),
      path: pick([
        "/",
        "/playlist.m3u",
        "/metrics",
        "/streams/default/receivers",
        "/streams/default/reports",
        "/streams/nope/receivers",
      ]),
    }),
  ];
  return pick(kinds)();
}

/** Resident set size of process `pid` in MiB, unrounded. */
function rssMb(pid: number): number {
  return rssKiB(pid) / 1024;
}

/** Body timeout of the fuzzed server, so trickled bodies end within the run. */
const FUZZ_BODY_TIMEOUT_S = 2;

/** One hostile case: what to send on a raw connection and the statuses that are right. */
interface HostileCase {
  readonly name: string;
  readonly send: string | ((conn: Deno.Conn) => Promise<void>);
  readonly expect: readonly number[];
  /** The server must close the connection after answering. */
  readonly closes?: boolean;
  readonly timeoutMs?: number;
}

const encoder = new TextEncoder();

/** The hostile cases of issue 11 that fetch() cannot send, each bounded in bytes and time. */
function hostileCases(random: () => number): HostileCase[] {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const sdpPost = (headers: Record<string, string>) =>
    requestHead("POST", "/offer", { "content-type": "application/sdp", ...headers });
  const badHost = pick(["a b", "[", "a@b", "a:99999", "x\\streams#", "x/y", "[::1", "a:b:c"]) +
    String.fromCharCode(0x21 + Math.floor(random() * 90)).replace(/[a-z0-9.:-]/i, "");
  return [
    {
      name: "malformed Host",
      send: requestHead(pick(["GET", "HEAD"]), pick(["/healthz", "/streams"]), { host: badHost }),
      expect: [400],
    },
    {
      name: "20 000 one-byte chunks",
      send: async (conn) => {
        await writeAll(conn, encoder.encode(sdpPost({ "transfer-encoding": "chunked" })));
        await oneByteChunks(20_000)(conn);
      },
      expect: [400],
      timeoutMs: 20_000,
    },
    {
      name: "trickled body",
      send: async (conn) => {
        await writeAll(conn, encoder.encode(sdpPost({ "content-length": "100" })));
        for (let i = 0; i < FUZZ_BODY_TIMEOUT_S * 10 + 20; i++) {
          await writeAll(conn, encoder.encode("v"));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
      expect: [408],
      closes: true,
      timeoutMs: FUZZ_BODY_TIMEOUT_S * 1000 + 5000,
    },
    {
      name: "1 MB chunk extension",
      send: sdpPost({ "transfer-encoding": "chunked" }) + "1;" + "a".repeat(1_000_000) +
        "\r\nx\r\n0\r\n\r\n",
      expect: [400],
      closes: true,
    },
    {
      // Deno's HTTP layer drops the connection on a bad chunk-size line, before the 400 is sent.
      name: "bad chunk size",
      send: sdpPost({ "transfer-encoding": "chunked" }) + "zz\r\nx\r\n0\r\n\r\n",
      expect: [400, 0],
      closes: true,
    },
    {
      name: "Expect: 100-continue with 10 MB",
      send: sdpPost({ "content-length": "10000000", expect: "100-continue" }),
      expect: [413],
      closes: true,
    },
    {
      name: "64 KB stream name",
      send: requestHead("GET", `/streams/${"n".repeat(60_000)}.sdp`),
      expect: [404],
    },
    {
      name: "offer over the line limit",
      send: (() => {
        const body = VLC_OFFER + "a=x\n".repeat(15_000);
        return sdpPost({ "content-length": String(body.length) }) + body;
      })(),
      expect: [400],
    },
    {
      name: "NUL in s=",
      send: (() => {
        const body = VLC_OFFER.replace("s=-", "s=a\0b");
        return sdpPost({ "content-length": String(body.length) }) + body;
      })(),
      expect: [400],
    },
  ];
}

/**
 * Runs every hostile case `rounds` times on raw connections to `port`, `idle` idle connections
 * held open meanwhile; records each answer and whether it was the right one. A dropped upload (a
 * body cut off by closing) is sent too: it has no answer to read, only the server's log.
 */
export async function runHostilePeers(
  port: number,
  options: { rounds: number; idle: number; seed: number },
): Promise<HostileReport> {
  const random = mulberry32(options.seed ^ 0x4057);
  const idle = await openIdle(port, options.idle);
  const statuses: Record<string, Record<string, number>> = {};
  const unexpected: string[] = [];
  try {
    for (let round = 0; round < options.rounds; round++) {
      const cases = hostileCases(random);
      await Promise.all(cases.map(async (hostile) => {
        const result = await rawExchange(port, hostile.send, {
          untilClose: hostile.closes ?? false,
          timeoutMs: hostile.timeoutMs ?? 5000,
        });
        const counts = statuses[hostile.name] ??= {};
        counts[result.status] = (counts[result.status] ?? 0) + 1;
        if (!hostile.expect.includes(result.status) || (hostile.closes && !result.closed)) {
          unexpected.push(
            `${hostile.name}: ${result.status}${
              hostile.closes && !result.closed ? " (kept open)" : ""
            }`,
          );
        }
      }));
      const dropped = await Deno.connect({ hostname: "127.0.0.1", port });
      await writeAll(
        dropped,
        encoder.encode(
          requestHead("POST", "/offer", {
            "content-type": "application/sdp",
            "content-length": "500",
          }) + "v=0\r\n",
        ),
      );
      dropped.close();
    }
  } finally {
    closeAll(idle);
  }
  return { rounds: options.rounds, idleConnections: idle.length, statuses, unexpected };
}

/** Runs `requests` fuzz requests with `concurrency` workers against a server it starts. */
export async function runServerFuzz(
  options: {
    requests: number;
    seed: number;
    concurrency: number;
    warmup: number;
    hostile?: number;
  },
): Promise<FuzzReport> {
  // Reports at any rate (so they reach validation), into a small store.
  await using server = await startServer([
    ...["--body-timeout", String(FUZZ_BODY_TIMEOUT_S)],
    ...["--report-rate-limit", "1000000", "--max-receivers", "16"],
  ]);
  const pid = server.process.pid;
  const random = mulberry32(options.seed);
  const statuses: Record<string, number> = {};
  let transportErrors = 0;
  let issued = 0;
  const started = performance.now();
  const one = async (request: FuzzRequest) => {
    try {
      const headers: Record<string, string> =
        request.contentType === undefined || request.contentType === ""
          ? {}
          : { "content-type": request.contentType };
      const response = await fetch(server.url + request.path, {
        method: request.method,
        headers,
        ...(request.body === undefined ? {} : { body: request.body as BodyInit }),
      });
      await response.body?.cancel();
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    } catch {
      transportErrors++;
    }
  };
  const run = async (count: number) => {
    let done = 0;
    const worker = async () => {
      while (done < count) {
        done++;
        issued++;
        await one(makeRequest(random));
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
  };
  // Warm up with the same mix (the V8 heap grows to its working size and keeps it), then take the
  // baseline RSS: growth after this point would be a leak.
  // The hostile peers run beside the random requests, in the warm-up too: the baseline must
  // include the working set they need (connection buffers), so that growth means a leak.
  const port = Number(new URL(server.url).port);
  const hostilePeers = (seed: number) =>
    runHostilePeers(port, { rounds: options.hostile ?? 1, idle: 200, seed });
  const warmupHostile = hostilePeers(options.seed + 1);
  await run(options.warmup);
  await warmupHostile;
  const rssStartMb = rssMb(pid);
  const hostile = hostilePeers(options.seed);
  await run(options.requests);
  const hostileReport = await hostile;
  // Let the garbage collector catch up with a few ordinary requests, then measure.
  for (let i = 0; i < 200; i++) {
    await one({ method: "POST", path: "/offer", contentType: "application/sdp", body: VLC_OFFER });
  }
  await delay(500);
  const rssEndMb = rssMb(pid);
  const health = await fetch(server.url + "/healthz").then((r) => r.json()).catch(() => undefined);
  const serverErrors = Object.entries(statuses).filter(([s]) => Number(s) >= 500).reduce(
    (n, [, c]) => n + c,
    0,
  );
  return {
    requests: options.requests,
    warmup: options.warmup,
    statuses,
    serverErrors,
    transportErrors,
    alive: health?.status === "ok",
    rssStartMb: Math.round(rssStartMb * 10) / 10,
    rssEndMb: Math.round(rssEndMb * 10) / 10,
    rssGrowthPct: Math.round(((rssEndMb - rssStartMb) / rssStartMb) * 1000) / 10,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    errorLogs: server.logs.filter((r) => r.level === "error").slice(0, 5).map((r) =>
      String(r.message)
    ),
    hostile: hostileReport,
  };
}

/** `--help` text of the fuzzer. */
export const FUZZ_SERVER_USAGE = `fuzz_server: fuzzes a real SDP server it starts on 127.0.0.1.

Usage: deno run -A scripts/fuzz_server.ts [options]
  --requests N     Requests after the warm-up (default 20000)
  --warmup N       Requests before the memory baseline is taken (default 2000)
  --seed N         Seed of the request mix (default 1)
  --concurrency N  Requests in flight at once, 1-1024 (default 32)
  --hostile 0|1    Also send the hostile peers of issue 11 (default 1)
  -h, --help       Show this help and exit

Prints one JSON report line. Exit codes: 0 no 5xx, server alive and RSS growth at most 10 %;
1 otherwise; 2 usage error.
`;

/** Runs the fuzzer from the command line; exit 1 when any check fails, 2 on a usage error. */
export async function main(args: string[]): Promise<number> {
  let options;
  try {
    const values = parseFlags(args, {
      requests: { type: "string", default: "20000" },
      seed: { type: "string", default: "1" },
      concurrency: { type: "string", default: "32" },
      warmup: { type: "string", default: "2000" },
      hostile: { type: "string", default: "1" },
      help: { type: "boolean", short: "h" },
    });
    if (values.help) {
      console.log(FUZZ_SERVER_USAGE);
      return 0;
    }
    options = {
      requests: parseIntegerFlag(values.requests, "--requests", 0, 10_000_000),
      seed: parseIntegerFlag(values.seed, "--seed", 0, 0xffff_ffff),
      concurrency: parseIntegerFlag(values.concurrency, "--concurrency", 1, 1024),
      warmup: parseIntegerFlag(values.warmup, "--warmup", 0, 10_000_000),
      hostile: parseIntegerFlag(values.hostile, "--hostile", 0, 1),
    };
  } catch (error) {
    return exitCodeFor("fuzz_server", error);
  }
  const report = await runServerFuzz(options);
  console.log(JSON.stringify(report));
  const ok = report.serverErrors === 0 && report.alive && report.rssGrowthPct <= 10 &&
    report.hostile.unexpected.length === 0 && report.errorLogs.length === 0;
  console.error(
    ok
      ? "fuzz: OK"
      : "fuzz: FAILED (5xx, dead server, an error logged, a hostile case answered wrongly, or " +
        "memory growth over 10 %)",
  );
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
