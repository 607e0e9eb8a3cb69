// Drives the real Prometheus tools from Debian for tests of the metrics endpoints: `promtool check
// metrics` (the text format linter and parser) and a `prometheus` server that scrapes an endpoint on
// loopback (scrape interval 1 s, temporary storage) and answers queries through its HTTP API.
import { delay } from "../../lib/common/delay.ts";

/** What `promtool check metrics` said about a text. */
export interface PromtoolResult {
  /** 0 clean, 1 parse error, 3 lint problems. */
  readonly code: number;
  /** Its output (stdout and stderr). */
  readonly output: string;
}

/** Runs `promtool check metrics` on `text`. Throws when promtool is missing. */
export async function promtoolCheck(text: string): Promise<PromtoolResult> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

/** One element of an instant vector from the query API. */
export interface VectorSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

/** A running Prometheus server; `await using` stops it and removes its storage. */
export interface PrometheusServer extends AsyncDisposable {
  /** Base URL of its HTTP API, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Runs an instant query; rejects on an API error. */
  query(expression: string): Promise<VectorSample[]>;
  /** Polls `expression` until `accept` holds for its result, or rejects after `timeoutMs`. */
  waitFor(
    expression: string,
    accept: (result: VectorSample[]) => boolean,
    timeoutMs?: number,
  ): Promise<VectorSample[]>;
  /** Its log so far (stderr). */
  log(): string;
}

async function freePort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await delay(0);
  return port;
}

/**
 * Starts `prometheus` scraping `targets` (`host:port`, loopback only) every second at `/metrics`,
 * with its storage in a temporary directory; waits (at most `timeoutMs`) until it is ready.
 */
export async function startPrometheus(
  targets: readonly string[],
  options: { timeoutMs?: number } = {},
): Promise<PrometheusServer> {
  for (const target of targets) {
    if (!/^(127\.\d+\.\d+\.\d+|\[::1\]|localhost):\d+$/.test(target)) {
      throw new Error(`Refusing to scrape ${target}: loopback targets only`);
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "gateway-prometheus-" });
  const config = [
    "global:",
    "  scrape_interval: 1s",
    "  scrape_timeout: 1s",
    "scrape_configs:",
    "  - job_name: gateway",
    "    static_configs:",
    `      - targets: [${targets.map((t) => JSON.stringify(t)).join(", ")}]`,
    "",
  ].join("\n");
  await Deno.writeTextFile(`${dir}/prometheus.yml`, config);
  const port = await freePort();
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--storage.tsdb.retention.time=1h",
      "--log.level=warn",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (log = (log + chunk).slice(-65536)) }),
  ).catch(() => {});
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already exited
    }
    await child.status;
    await reading;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  const query = async (expression: string): Promise<VectorSample[]> => {
    const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expression)}`);
    const body = await response.json() as {
      status: string;
      error?: string;
      data?: {
        resultType: string;
        result: { metric: Record<string, string>; value: [number, string] }[];
      };
    };
    if (body.status !== "success" || body.data?.resultType !== "vector") {
      throw new Error(`Query ${expression} failed: ${body.error ?? JSON.stringify(body)}`);
    }
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  while (true) {
    const ready = await fetch(`${url}/-/ready`).then(async (r) => {
      await r.body?.cancel();
      return r.ok;
    }).catch(() => false);
    if (ready) break;
    if (Date.now() >= deadline) {
      await stop();
      throw new Error(
        `prometheus did not get ready within ${options.timeoutMs ?? 10_000} ms: ${log}`,
      );
    }
    await delay(50);
  }
  return {
    url,
    query,
    async waitFor(expression, accept, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      let last: VectorSample[] = [];
      while (Date.now() < until) {
        last = await query(expression);
        if (accept(last)) return last;
        await delay(200);
      }
      throw new Error(
        `${expression} did not reach the expected value within ${timeoutMs} ms: ` +
          `${JSON.stringify(last)}\n${log}`,
      );
    },
    log: () => log,
    [Symbol.asyncDispose]: stop,
  };
}
