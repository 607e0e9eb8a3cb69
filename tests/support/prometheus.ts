// Drives the real Prometheus tools from Debian for tests of the metrics endpoints: `promtool check
// metrics` (the text format linter and parser) and a `prometheus` server that scrapes an endpoint on
// loopback (scrape interval 1 s, temporary storage) and answers queries through its HTTP API.
import { freeTcpPort } from "../../scripts/support/endpoints.ts";
import { pollUntil } from "../../scripts/support/poll.ts";
import { Child, runToEnd } from "../../scripts/support/process.ts";

/** What `promtool check metrics` said about a text. */
export interface PromtoolResult {
  /** 0 clean, 1 parse error, 3 lint problems. */
  readonly code: number;
  /** Its output (stdout and stderr). */
  readonly output: string;
}

/** Runs `promtool check metrics` on `text`. Throws when promtool is missing. */
export async function promtoolCheck(text: string): Promise<PromtoolResult> {
  const { code, stdout, stderr } = await runToEnd("promtool", ["check", "metrics"], {
    input: text,
    timeoutMs: 30_000,
  });
  return { code, output: stdout + stderr };
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
  const port = freeTcpPort();
  const child = new Child("prometheus", [
    `--config.file=${dir}/prometheus.yml`,
    `--storage.tsdb.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`,
    "--storage.tsdb.retention.time=1h",
    "--log.level=warn",
  ], { stdout: "null", captureLimit: 65_536 });
  const log = () => child.stderr;
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await child.stop("SIGTERM");
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
  const ready = () =>
    fetch(`${url}/-/ready`).then(async (r) => {
      await r.body?.cancel();
      return r.ok;
    }).catch(() => false);
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (!(await pollUntil(ready, timeoutMs, 50))) {
    await stop();
    throw new Error(`prometheus did not get ready within ${timeoutMs} ms: ${log()}`);
  }
  return {
    url,
    query,
    async waitFor(expression, accept, timeoutMs = 15_000) {
      let last: VectorSample[] = [];
      const held = await pollUntil(
        async () => accept(last = await query(expression)),
        timeoutMs,
        200,
      );
      if (held) return last;
      throw new Error(
        `${expression} did not reach the expected value within ${timeoutMs} ms: ` +
          `${JSON.stringify(last)}\n${log()}`,
      );
    },
    log,
    [Symbol.asyncDispose]: stop,
  };
}
