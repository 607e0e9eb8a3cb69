// Tests of lib/common/metrics_endpoint.ts: the --metrics address, GET /metrics, 404 and 405, and a
// real Prometheus server scraping the endpoint on loopback and reading back the same figures and
// label values (the parser of record for the text format).
import assert from "node:assert/strict";
import {
  metricsHandler,
  parseListenAddress,
  serveMetrics,
} from "../../lib/common/metrics_endpoint.ts";
import { CLIENT_FAMILIES, ClientMetrics, type StreamFigures } from "../../lib/client/metrics.ts";
import { createExposition } from "../../lib/common/prometheus.ts";
import { ConfigError } from "../../lib/common/errors.ts";
import { ReceiverStats } from "../../lib/rtp/session_stats.ts";
import { startPrometheus } from "../support/prometheus.ts";
import { peerTest } from "../support/peer_requirements.ts";
import { feedSequence, range } from "../support/receiver_fixtures.ts";

Deno.test("parseListenAddress() reads HOST:PORT, [IPv6]:PORT and :PORT, and names the flag otherwise", async (t) => {
  const good: [string, string, number][] = [
    ["127.0.0.1:9464", "127.0.0.1", 9464],
    ["[::1]:9464", "::1", 9464],
    [":9464", "0.0.0.0", 9464],
    ["localhost:0", "localhost", 0],
  ];
  for (const [text, hostname, port] of good) {
    await t.step(text, () => assert.deepEqual(parseListenAddress(text), { hostname, port }));
  }
  for (const text of ["9464", "host:", "host:65536", "::1:9464", "a b:1", "", "host:12x"]) {
    await t.step(`rejects "${text}"`, () => {
      assert.throws(() => parseListenAddress(text), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.field, "--metrics");
        assert.match(error.message, /^--metrics: expected HOST:PORT/);
        return true;
      });
    });
  }
});

Deno.test("metricsHandler() answers GET and HEAD /metrics, 404 elsewhere, 405 with Allow, 500 on failure", async () => {
  const errors: unknown[] = [];
  let fail = false;
  const handler = metricsHandler({
    render: () => (fail ? Promise.reject(new Error("boom")) : Promise.resolve("up 1\n")),
    contentType: "text/plain; version=0.0.4; charset=utf-8",
    onError: (error) => errors.push(error),
  });
  let response = await handler(new Request("http://probe/metrics"));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  assert.equal(await response.text(), "up 1\n");
  response = await handler(new Request("http://probe/metrics", { method: "HEAD" }));
  assert.equal(response.status, 200);
  assert.equal(response.body, null);
  response = await handler(new Request("http://probe/"));
  assert.equal(response.status, 404);
  await response.body?.cancel();
  response = await handler(new Request("http://probe/metrics", { method: "POST", body: "x" }));
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "GET, HEAD");
  await response.body?.cancel();
  fail = true;
  response = await handler(new Request("http://probe/metrics"));
  assert.equal(response.status, 500);
  assert.equal(await response.text(), "Internal Server Error\n");
  assert.equal((errors[0] as Error).message, "boom");
});

Deno.test("serveMetrics() serves on an ephemeral port and names --metrics when the port is taken", async () => {
  await using server = serveMetrics({ hostname: "127.0.0.1", port: 0 }, {
    render: () => Promise.resolve("up 1\n"),
    contentType: "text/plain; version=0.0.4",
  });
  const response = await fetch(`http://127.0.0.1:${server.addr.port}/metrics`);
  assert.equal(await response.text(), "up 1\n");
  assert.throws(
    () =>
      serveMetrics({ hostname: "127.0.0.1", port: server.addr.port }, {
        render: () => Promise.resolve(""),
        contentType: "text/plain",
      }),
    (error: unknown) =>
      error instanceof ConfigError &&
      error.message.startsWith(`--metrics: cannot listen on 127.0.0.1:${server.addr.port}: `),
  );
});

/** Feeds `from` up to `to` of `ssrc`, one packet in 50 lost, 10 ms apart; returns the end time. */
function feed(stats: ReceiverStats, ssrc: number, from: number, to: number, startMs: number) {
  return feedSequence(stats, ssrc, range(from, to).filter((seq) => seq % 50 !== 7), startMs);
}

await peerTest({
  name:
    "a real Prometheus server scrapes /metrics and reads the snapshot figures and hostile labels",
  peers: ["prometheus"],
  netns: false,
  async fn() {
    const names = ['quote"d', "back\\slash", "new\nline", "tab\there", "ünïcødé 📺"];
    const stats = names.map(() => new ReceiverStats());
    let at = 0;
    stats.forEach((s, i) => (at = Math.max(at, feed(s, 1000 + i, 0, 100 * (i + 1), 0))));
    const metrics = new ClientMetrics();
    const current = (): StreamFigures[] =>
      names.map((name, i) => ({
        name,
        state: "receiving",
        stalls: i,
        total: stats[i]!.snapshot(at),
      }));
    const exposition = await createExposition(
      CLIENT_FAMILIES,
      () => metrics.collect(current(), at),
    );
    await using server = serveMetrics({ hostname: "127.0.0.1", port: 0 }, {
      render: () => exposition.render(),
      contentType: exposition.contentType,
    });
    await using prometheus = await startPrometheus([`127.0.0.1:${server.addr.port}`]);
    const expected = () =>
      new Map(names.map((name, i) => [name, stats[i]!.snapshot(at).sources[0]!.packets]));
    const matches = (result: { metric: Record<string, string>; value: number }[]) => {
      const want = expected();
      return result.length === want.size &&
        result.every((r) => want.get(r.metric.stream!) === r.value);
    };
    const first = await prometheus.waitFor("rtp_packets_received_total", matches);
    assert.deepEqual(first.map((r) => r.metric.stream).sort(), [...names].sort());
    for (const r of first) {
      const i = names.indexOf(r.metric.stream!);
      assert.equal(r.metric.ssrc, String(1000 + i));
      assert.equal(r.metric.job, "gateway");
    }
    const lost = await prometheus.query("rtp_packets_lost_total");
    for (const r of lost) {
      const i = names.indexOf(r.metric.stream!);
      assert.equal(r.value, stats[i]!.snapshot(at).sources[0]!.lost);
    }
    const stalls = await prometheus.query("rtp_stalls_total");
    assert.deepEqual(
      stalls.map((r) => [r.metric.stream, r.value]).sort(),
      names.map((name, i) => [name, i]).sort(),
    );
    // The figures move on: a later scrape sees the new values.
    at = feed(stats[0]!, 1000, 100, 400, at);
    await prometheus.waitFor("rtp_packets_received_total", matches);
    const up = await prometheus.query("up");
    assert.deepEqual(up.map((r) => r.value), [1]);
  },
});
