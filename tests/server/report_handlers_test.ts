// Tests of lib/server/report_handlers.ts and lib/server/metrics.ts through a real Deno.serve with the
// handlers mounted by a tiny router: two clients' Reporters report real statistics, the receivers
// list and the metrics show them; bounds, token, rate limit and a fuzz slice never give a 5xx.
import assert from "node:assert/strict";
import {
  handleReceivers,
  handleReport,
  type ReportDeps,
} from "../../lib/server/report_handlers.ts";
import { ReceiverStore } from "../../lib/server/receiver_store.ts";
import { SERVER_FAMILIES, ServerMetrics } from "../../lib/server/metrics.ts";
import { RateLimiter } from "../../lib/server/rate_limit.ts";
import { bearerMatches } from "../../lib/server/access_control.ts";
import { createExposition } from "../../lib/common/prometheus.ts";
import { metricsHandler } from "../../lib/common/metrics_endpoint.ts";
import { mulberry32 } from "../../lib/common/prng.ts";
import { Reporter } from "../../lib/client/reporter.ts";
import { intervalRecords, summaryRecords } from "../../lib/client/stats_view.ts";
import { ReceiverStats } from "../../lib/rtp/session_stats.ts";
import { sampleReport } from "../../scripts/support/sample_report.ts";
import { promtoolCheck } from "../support/prometheus.ts";
import { waitUntil } from "../../scripts/support/poll.ts";
import { peerStep } from "../support/peer_requirements.ts";
import { mp2tPacket, viewContext } from "../support/receiver_fixtures.ts";

const STREAMS = new Set(["news", "sport", "odd name"]);

/** A real server with the report handlers, GET /metrics and nothing else. */
async function reportServer(options: {
  token?: string;
  store?: ReceiverStore;
  rateLimiter?: RateLimiter;
  bodyTimeoutMs?: number;
} = {}) {
  const store = options.store ?? new ReceiverStore();
  const metrics = new ServerMetrics({ store });
  const deps: ReportDeps = {
    store,
    hasStream: (name) => STREAMS.has(name),
    metrics,
    ...(options.token === undefined ? {} : {
      authorize: (request: Request) =>
        bearerMatches(request.headers.get("authorization"), options.token!),
    }),
    ...(options.rateLimiter === undefined ? {} : { rateLimiter: options.rateLimiter }),
    ...(options.bodyTimeoutMs === undefined ? {} : { bodyTimeoutMs: options.bodyTimeoutMs }),
  };
  const exposition = await createExposition(SERVER_FAMILIES, () => metrics.samples());
  const scrape = metricsHandler({
    render: () => exposition.render(),
    contentType: exposition.contentType,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request, info) => {
      const path = new URL(request.url).pathname;
      try {
        if (path.endsWith("/reports")) return await handleReport(request, path, info, deps);
        if (path.endsWith("/receivers")) return await handleReceivers(request, path, info, deps);
        if (path === "/metrics") return await scrape(request);
        return new Response("no route", { status: 404 });
      } catch {
        return new Response("Internal Server Error", { status: 500 });
      }
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    store,
    metrics,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function post(
  url: string,
  body: BodyInit,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(url, {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
}

async function problem(response: Response, status: number): Promise<Record<string, unknown>> {
  assert.equal(response.status, status);
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  const body = await response.json() as Record<string, unknown>;
  assert.equal(body.status, status);
  return body;
}

/** The receiver fields the tests read. */
interface ReceiverJson {
  id: string;
  address: string;
  state: string;
  reports: number;
  packets: number;
  lost: number;
  total: { packets: number; lost: number; duplicates: number; stalls: number };
}

/** One client: real statistics of `lossEvery`-impaired packets, reported through a real Reporter. */
function client(server: string, id: string, lossEvery: number, token?: string) {
  const stats = new ReceiverStats();
  const reporter = new Reporter({
    server: `${server}/streams/news/offer`,
    receiverId: id,
    everyS: 2,
    ...(token ? { token } : {}),
  });
  const context = viewContext();
  let seq = 0;
  return {
    reporter,
    stats,
    /** One second of 100 packets, then the interval's records to the reporter. */
    second(s: number) {
      for (let i = 0; i < 100; i++, seq++) {
        if (seq % lossEvery === lossEvery - 1) continue;
        stats.onDatagram(mp2tPacket(seq, 77, seq * 900), s * 1000 + i * 10);
      }
      const now = (s + 1) * 1000;
      const time = new Date(Date.UTC(2026, 11, 1, 10, 0, s));
      const ctx = { ...context, elapsedS: s + 1 };
      reporter.add(
        "news",
        intervalRecords(stats.takeInterval(now), ctx, time),
        summaryRecords(stats.snapshot(now), ctx, time),
        now,
      );
    },
  };
}

Deno.test("two clients' reports show in GET /streams/news/receivers and in the server's metrics", async (t) => {
  await using server = await reportServer({ token: "t0k" });
  const a = client(server.url, "probe-a", 20, "t0k"); // 5 % loss
  const b = client(server.url, "probe-b", 1000, "t0k"); // no loss
  for (let s = 0; s < 5; s++) {
    a.second(s);
    b.second(s);
    await waitUntil(
      () => a.reporter.counts().inFlight + b.reporter.counts().inFlight === 0,
      5000,
      "reports",
    );
  }
  assert.deepEqual(a.reporter.counts(), { sent: 2, dropped: 0, failed: 0, inFlight: 0 });
  const response = await fetch(`${server.url}/streams/news/receivers`, {
    headers: { authorization: "Bearer t0k" },
  });
  assert.equal(response.status, 200);
  const body = await response.json() as { stream: string; receivers: ReceiverJson[] };
  assert.equal(body.stream, "news");
  assert.deepEqual(body.receivers.map((r) => [r.id, r.address]), [
    ["probe-a", "127.0.0.1"],
    ["probe-b", "127.0.0.1"],
  ]);
  const [ra, rb] = body.receivers;
  const totalA = a.stats.snapshot(5000).sources[0]!;
  assert.deepEqual(
    [ra!.total.packets, ra!.total.lost, ra!.total.duplicates, ra!.total.stalls],
    [totalA.packets, totalA.lost, 0, 0],
  );
  // 25 of 500 dropped; the last (seq 499) cannot be known lost before a later packet arrives.
  assert.equal(totalA.lost, 24);
  assert.equal(ra!.packets, 190, "the last period: seconds 3 and 4 (reports at 3 s and 5 s)");
  assert.equal(ra!.lost, 10);
  assert.equal(ra!.state, "receiving");
  assert.equal(ra!.reports, 2);
  assert.equal(rb!.lost, 0);
  assert.equal(rb!.total.packets, b.stats.snapshot(5000).sources[0]!.packets);
  const text = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(text, /^receiver_reports_total\{stream="news",status="204"\} 4$/m);
  assert.match(text, /^receivers_reporting\{stream="news"\} 2$/m);
  assert.match(text, /^receivers_with_loss\{stream="news"\} 1$/m);
  assert.match(
    text,
    new RegExp(`^receivers_worst_fraction_lost\\{stream="news"\\} ${10 / 200}$`, "m"),
  );
  await peerStep(t, {
    name: "promtool accepts the server's metrics",
    peers: ["prometheus"],
    async fn() {
      const lint = await promtoolCheck(text);
      assert.equal(lint.code, 0, lint.output);
    },
  });
  await a.reporter.close();
  await b.reporter.close();
});

Deno.test("reports and the receivers list are behind the token when one is set", async () => {
  await using server = await reportServer({ token: "t0k" });
  const body = JSON.stringify(sampleReport());
  let response = await post(`${server.url}/streams/news/reports`, body);
  const missing = await problem(response, 401);
  assert.equal(response.headers.get("www-authenticate"), 'Bearer realm="rtp-multicast-gateway"');
  assert.equal(missing.detail, "This server requires a bearer token");
  response = await post(`${server.url}/streams/news/reports`, body, {
    authorization: "Bearer nope",
  });
  await problem(response, 401);
  assert.match(response.headers.get("www-authenticate")!, /error="invalid_token"/);
  await problem(await fetch(`${server.url}/streams/news/receivers`), 401);
  assert.equal(server.store.size, 0);
});

Deno.test("report answers: 404 unknown stream, 405, 415, 413, 400 naming the field", async (t) => {
  await using server = await reportServer();
  const url = `${server.url}/streams/news/reports`;
  await t.step("404 for a stream not in the catalog", async () => {
    await problem(await post(`${server.url}/streams/nope/reports`, "{}"), 404);
    await problem(await fetch(`${server.url}/streams/nope/receivers`), 404);
    await problem(await post(`${server.url}/streams/%E0%A4%A/reports`, "{}"), 404);
  });
  await t.step("405 with Allow", async () => {
    let response = await fetch(url);
    await problem(response, 405);
    assert.equal(response.headers.get("allow"), "POST");
    response = await post(`${server.url}/streams/news/receivers`, "{}");
    await problem(response, 405);
    assert.equal(response.headers.get("allow"), "GET, HEAD");
  });
  await t.step("415 for another content type", async () => {
    const response = await post(url, "{}", { "content-type": "text/plain" });
    await problem(response, 415);
    assert.equal(response.headers.get("accept-post"), "application/json");
  });
  await t.step("413 for a body over 64 KiB, declared or streamed", async () => {
    const big = JSON.stringify({ ...sampleReport(), padding: "x".repeat(70_000) });
    await problem(await post(url, big), 413);
    const chunks = new TextEncoder().encode(big);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < chunks.length; i += 8192) controller.enqueue(chunks.slice(i, i + 8192));
        controller.close();
      },
    });
    await problem(
      await fetch(url, {
        method: "POST",
        body: stream,
        headers: { "content-type": "application/json" },
      }),
      413,
    );
  });
  await t.step("400 naming the bad value", async () => {
    const bad = { ...sampleReport(), records: [{ type: "stats", lost: -3 }] };
    const body = await problem(await post(url, JSON.stringify(bad)), 400);
    assert.equal(
      body.detail,
      "Invalid report: records[0].lost: expected an integer from 0 to 9007199254740991, got -3",
    );
    await problem(await post(url, "not json"), 400);
    await problem(await post(url, ""), 400);
  });
  await t.step("204 for a valid report, on a URL-encoded stream name too", async () => {
    const response = await post(
      `${server.url}/streams/odd%20name/reports`,
      JSON.stringify(sampleReport("r", "odd name")),
    );
    assert.equal(response.status, 204);
    assert.equal(server.store.list("odd name").length, 1);
    const head = await fetch(`${server.url}/streams/odd%20name/receivers`, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), "");
  });
});

Deno.test("a report body that arrives too slowly gets 408", async () => {
  await using server = await reportServer({ bodyTimeoutMs: 200 });
  let cancel!: () => void;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"receiverId":'));
      cancel = () => controller.close();
    },
  });
  const response = await fetch(`${server.url}/streams/news/reports`, {
    method: "POST",
    body: stream,
    headers: { "content-type": "application/json" },
  });
  await problem(response, 408);
  cancel();
});

Deno.test("reports from one address beyond the rate limit get 429 with Retry-After", async () => {
  await using server = await reportServer({
    rateLimiter: new RateLimiter({ ratePerS: 1, burst: 3 }),
  });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const response = await post(
      `${server.url}/streams/news/reports`,
      JSON.stringify(sampleReport(`r${i}`)),
    );
    statuses.push(response.status);
    if (response.status === 429) assert.equal(response.headers.get("retry-after"), "1");
    await response.body?.cancel();
  }
  assert.deepEqual(statuses, [204, 204, 204, 429, 429]);
  const text = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(text, /^receiver_reports_total\{stream="news",status="429"\} 2$/m);
});

Deno.test("the receiver cap and the age bound hold through the handlers", async () => {
  let now = 1_000_000;
  const store = new ReceiverStore({ maxReceiversPerStream: 2, maxAgeS: 60, now: () => now });
  await using server = await reportServer({ store });
  for (const id of ["a", "b", "c"]) {
    const response = await post(
      `${server.url}/streams/news/reports`,
      JSON.stringify(sampleReport(id)),
    );
    assert.equal(response.status, 204);
    now += 1000;
  }
  const list = async () =>
    ((await (await fetch(`${server.url}/streams/news/receivers`)).json()) as {
      receivers: { id: string }[];
    })
      .receivers.map((r) => r.id).sort();
  assert.deepEqual(await list(), ["b", "c"]);
  now += 58_500; // b reported 60.5 s ago, c 59.5 s ago
  assert.deepEqual(await list(), ["c"]);
  now += 1000;
  assert.deepEqual(await list(), []);
  const text = await (await fetch(`${server.url}/metrics`)).text();
  assert.match(text, /^receivers_forgotten_total\{reason="cap"\} 1$/m);
  assert.match(text, /^receivers_forgotten_total\{reason="age"\} 2$/m);
});

Deno.test("fuzz: random and mutated report bodies never get a 5xx, and the server keeps answering", async () => {
  await using server = await reportServer();
  const random = mulberry32(1313);
  const valid = new TextEncoder().encode(JSON.stringify(sampleReport()));
  const statuses = new Map<number, number>();
  for (let i = 0; i < 300; i++) {
    let body: Uint8Array<ArrayBuffer>;
    if (i % 2 === 0) {
      body = valid.slice(0, Math.floor(random() * valid.length) + 1);
      for (let f = 0; f < 3; f++) {
        body[Math.floor(random() * body.length)] = Math.floor(random() * 256);
      }
    } else {
      body = Uint8Array.from(
        { length: Math.floor(random() * 200) },
        () => Math.floor(random() * 256),
      );
    }
    const types = ["application/json", "application/json; charset=utf-8", "text/plain", ""];
    const response = await fetch(`${server.url}/streams/news/reports`, {
      method: i % 17 === 0 ? "PUT" : "POST",
      body,
      headers: { "content-type": types[i % types.length]! },
    });
    await response.body?.cancel();
    assert.ok(response.status < 500, `body ${i}: ${response.status}`);
    statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
  }
  assert.ok((statuses.get(400) ?? 0) > 100, JSON.stringify([...statuses]));
  const ok = await post(`${server.url}/streams/news/reports`, valid);
  assert.equal(ok.status, 204);
});

Deno.test("handleReport() works in memory with a plain Request, and without info", async () => {
  const store = new ReceiverStore();
  const response = await handleReport(
    new Request("http://gateway/streams/news/reports", {
      method: "POST",
      body: JSON.stringify(sampleReport()),
      headers: { "content-type": "application/json" },
    }),
    "/streams/news/reports",
    undefined,
    { store, hasStream: () => true },
  );
  assert.equal(response.status, 204);
  assert.deepEqual(store.list("news").map((r) => r.address), ["unknown"]);
});
