// Tests of lib/client/reporter.ts against a real Deno.serve: cadence, body and token, the report URL,
// never waiting on the server, dropping while a report is in flight, timeouts and failures counted.
import assert from "node:assert/strict";
import { Reporter, reportsUrl } from "../../lib/client/reporter.ts";
import { REPORT_LIMITS } from "../../lib/common/receiver_report.ts";
import { waitUntil } from "../../scripts/support/poll.ts";

interface Received {
  path: string;
  authorization: string | null;
  contentType: string | null;
  body: Record<string, unknown>;
}

/** A real server that records each report; `gate` holds answers until released. */
function reportServer(options: { status?: number; hold?: boolean } = {}) {
  const received: Received[] = [];
  const waiting: (() => void)[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      received.push({
        path: new URL(request.url).pathname,
        authorization: request.headers.get("authorization"),
        contentType: request.headers.get("content-type"),
        body: await request.json(),
      });
      if (options.hold) await new Promise<void>((resolve) => waiting.push(resolve));
      return new Response(null, { status: options.status ?? 204 });
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    received,
    release: () => waiting.splice(0).forEach((resolve) => resolve()),
    async [Symbol.asyncDispose]() {
      waiting.splice(0).forEach((resolve) => resolve());
      await server.shutdown();
    },
  };
}

function stats(n: number, stream: string): Record<string, unknown> {
  return { type: "stats", stream, packets: n, lost: 0, state: "receiving" };
}

Deno.test("reportsUrl() keeps the server's path prefix and names the stream", async (t) => {
  const cases: [string, string][] = [
    ["http://h:8080/offer", "http://h:8080/streams/news/reports"],
    ["http://h:8080", "http://h:8080/streams/news/reports"],
    ["http://h:8080/", "http://h:8080/streams/news/reports"],
    ["https://h/gw/streams/tv/offer", "https://h/gw/streams/news/reports"],
    ["https://h/gw/streams/tv.sdp?x=1", "https://h/gw/streams/news/reports"],
    ["http://h/gw/offer", "http://h/gw/streams/news/reports"],
  ];
  for (const [server, url] of cases) {
    await t.step(server, () => assert.equal(reportsUrl(server, "news"), url));
  }
  assert.equal(reportsUrl("http://h/", "a b/c"), "http://h/streams/a%20b%2Fc/reports");
});

Deno.test("Reporter posts each stream's records every period with the receiver id and the token", async () => {
  await using server = reportServer();
  const reporter = new Reporter({
    server: `${server.url}/offer`,
    token: "s3cret",
    everyS: 5,
    receiverId: "probe-1",
  });
  for (let s = 1; s <= 11; s++) {
    for (const stream of ["news", "sport"]) {
      reporter.add(stream, [stats(s, stream)], [{ type: "summary", packets: s * 10 }], s * 1000);
    }
    if (s === 6) await waitUntil(() => reporter.counts().sent === 2, 5000, "the first reports");
  }
  await waitUntil(() => reporter.counts().sent === 4, 5000, "4 reports");
  assert.deepEqual(reporter.counts(), { sent: 4, dropped: 0, failed: 0, inFlight: 0 });
  const news = server.received.filter((r) => r.path === "/streams/news/reports");
  assert.equal(news.length, 2);
  assert.equal(news[0]!.authorization, "Bearer s3cret");
  assert.equal(news[0]!.contentType, "application/json");
  // Due at 6 s (first records at 1 s + 5 s), then at 11 s: records 1-6, then 7-11.
  assert.deepEqual(news[0]!.body, {
    receiverId: "probe-1",
    stream: "news",
    records: [1, 2, 3, 4, 5, 6].map((n) => stats(n, "news")),
    summary: [{ type: "summary", packets: 60 }],
  });
  assert.deepEqual((news[1]!.body.records as { packets: number }[]).map((r) => r.packets), [
    7,
    8,
    9,
    10,
    11,
  ]);
  await reporter.close();
});

Deno.test("Reporter never waits for a slow server and drops reports while one is in flight", async () => {
  await using server = reportServer({ hold: true });
  const reporter = new Reporter({ server: server.url, everyS: 1, timeoutMs: 10_000 });
  const started = performance.now();
  for (let s = 1; s <= 4; s++) reporter.add("news", [stats(s, "news")], [], s * 1000);
  assert.ok(performance.now() - started < 50, "add() returned at once");
  await waitUntil(() => server.received.length === 1, 5000, "the first report to arrive");
  assert.deepEqual(reporter.counts(), { sent: 0, dropped: 2, failed: 0, inFlight: 1 });
  server.release();
  await waitUntil(() => reporter.counts().sent === 1, 5000, "the held report to complete");
  reporter.add("news", [stats(5, "news")], [], 5000);
  await waitUntil(() => server.received.length === 2, 5000, "the next report");
  assert.deepEqual(
    (server.received[1]!.body.records as { packets: number }[]).map((r) => r.packets),
    [5],
  );
  server.release();
  await waitUntil(() => reporter.counts().sent === 2, 5000, "the next report to complete");
  assert.deepEqual(reporter.counts(), { sent: 2, dropped: 2, failed: 0, inFlight: 0 });
  await reporter.close();
});

Deno.test("Reporter abandons a report after its timeout and counts refused and failed ones", async (t) => {
  await t.step("timeout", async () => {
    await using server = reportServer({ hold: true });
    const failures: string[] = [];
    const reporter = new Reporter({
      server: server.url,
      everyS: 1,
      timeoutMs: 200,
      onFailure: (s, r) => failures.push(`${s}: ${r}`),
    });
    reporter.add("news", [stats(1, "news")], [], 1000);
    reporter.add("news", [stats(2, "news")], [], 2000);
    await waitUntil(() => reporter.counts().failed === 1, 5000, "the timeout");
    assert.deepEqual(failures, ["news: no answer within 200 ms"]);
    assert.equal(reporter.counts().inFlight, 0);
    await reporter.close();
  });
  await t.step("4xx answer", async () => {
    await using server = reportServer({ status: 401 });
    const failures: string[] = [];
    const reporter = new Reporter({
      server: server.url,
      everyS: 1,
      onFailure: (_, r) => failures.push(r),
    });
    reporter.add("news", [stats(1, "news")], [], 1000);
    reporter.add("news", [stats(2, "news")], [], 2000);
    await waitUntil(() => reporter.counts().failed === 1, 5000, "the refusal");
    assert.match(failures[0]!, /^HTTP 401/);
    await reporter.close();
  });
  await t.step("server down", async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    const reporter = new Reporter({ server: `http://127.0.0.1:${port}`, everyS: 1 });
    reporter.add("news", [stats(1, "news")], [], 1000);
    reporter.add("news", [stats(2, "news")], [], 2000);
    await waitUntil(() => reporter.counts().failed === 1, 5000, "the connection error");
    await reporter.close();
  });
});

Deno.test("Reporter keeps a report within the server's body limit by dropping its oldest records", async () => {
  await using server = reportServer();
  const reporter = new Reporter({ server: server.url, everyS: 1 });
  const big = (n: number) => ({ ...stats(n, "news"), padding: "x".repeat(2000) });
  reporter.add("news", Array.from({ length: 100 }, (_, i) => big(i)), [], 1000);
  reporter.add("news", [big(100)], [], 2000);
  await waitUntil(() => reporter.counts().sent === 1, 5000, "the report");
  const body = server.received[0]!.body;
  const size = new TextEncoder().encode(JSON.stringify(body)).byteLength;
  assert.ok(size <= REPORT_LIMITS.MAX_BODY_BYTES, `${size} bytes`);
  const packets = (body.records as { packets: number }[]).map((r) => r.packets);
  assert.equal(packets.at(-1), 100, "the newest records are kept");
  assert.ok(packets.length > 10);
  await reporter.close();
});
