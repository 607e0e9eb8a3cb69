// Fuzzes a real SDP server with random and mutated requests and checks it never answers 5xx, never
// dies, and that its memory returns to within 10 % of where it started.
// Run: deno run -A scripts/fuzz_server.ts [--requests 20000] [--warmup 2000] [--seed 1] [--concurrency 32]
//      (or --help)
// Traffic goes only to a server it starts itself on 127.0.0.1.
import { delay } from "../lib/common/delay.ts";
import { exitCodeFor, parseFlags, parseIntegerFlag } from "../lib/common/flags.ts";
import { mulberry32 } from "../lib/common/prng.ts";
import { rssKiB } from "./support/proc_counters.ts";
import { startServer } from "./support/server_process.ts";

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

/** Builds the i-th request of a seeded run: a mix of valid, random and mutated offers. */
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
  ];
  return pick(kinds)();
}

/** Resident set size of process `pid` in MiB, unrounded. */
function rssMb(pid: number): number {
  return rssKiB(pid) / 1024;
}

/** Runs `requests` fuzz requests with `concurrency` workers against a server it starts. */
export async function runServerFuzz(
  options: { requests: number; seed: number; concurrency: number; warmup: number },
): Promise<FuzzReport> {
  await using server = await startServer();
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
  await run(options.warmup);
  const rssStartMb = rssMb(pid);
  await run(options.requests);
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
  };
}

/** `--help` text of the fuzzer. */
export const FUZZ_SERVER_USAGE = `fuzz_server: fuzzes a real SDP server it starts on 127.0.0.1.

Usage: deno run -A scripts/fuzz_server.ts [options]
  --requests N     Requests after the warm-up (default 20000)
  --warmup N       Requests before the memory baseline is taken (default 2000)
  --seed N         Seed of the request mix (default 1)
  --concurrency N  Requests in flight at once, 1-1024 (default 32)
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
    };
  } catch (error) {
    return exitCodeFor("fuzz_server", error);
  }
  const report = await runServerFuzz(options);
  console.log(JSON.stringify(report));
  const ok = report.serverErrors === 0 && report.alive && report.rssGrowthPct <= 10;
  console.error(ok ? "fuzz: OK" : "fuzz: FAILED (5xx, dead server or memory growth over 10 %)");
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
