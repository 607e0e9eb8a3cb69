// The client's monitoring outputs end to end: `--metrics` scraped while it runs, checked by the real
// Prometheus linter (promtool) and against the client's own JSON summary; `--report` posting to a
// small Deno.serve that records what arrives, while reception goes on undisturbed. Inside the
// private network namespace of scripts/netns_test.sh.
import assert from "node:assert/strict";
import { sendRtpStream } from "../lib/source/rtp_source.ts";
import type { TsSnapshot } from "../lib/ts/ts_report.ts";
import { delay } from "../lib/common/delay.ts";
import { receiverUsed, spawnClient, summaries } from "../scripts/support/client_process.ts";
import { randomRtpPort } from "../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../scripts/support/netns.ts";
import { waitUntil } from "../scripts/support/poll.ts";
import { startStreamServer } from "../scripts/support/server_process.ts";
import { peerTest } from "./support/peer_requirements.ts";
import { promtoolCheck } from "./support/prometheus.ts";
import { metricSample } from "./support/exposition.ts";

/** The value of `name{labels}` in a Prometheus text exposition (labels matched exactly). */
await peerTest({
  name: "--metrics: a running client's exposition passes promtool and equals its JSON summary",
  peers: ["prometheus"],
  async fn() {
    const port = randomRtpPort();
    await using server = await startStreamServer("239.32.0.1", port, ["--name", "news"]);
    const client = spawnClient([
      "--server",
      server.url,
      "--json",
      "--metrics",
      "127.0.0.1:0",
      "--interval",
      "0.3",
      "--stall-after",
      "0.6",
    ]);
    await client.waitForLog(/Joined 239\.32\.0\.1/);
    const address = /Metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)/.exec(client.child.stderr)
      ?.[1];
    assert.ok(address, client.child.stderr);
    const truth = await sendRtpStream({
      group: "239.32.0.1",
      port,
      bitrate: 4_000_000,
      durationS: 1.5,
      loss: 0.02,
      duplicate: 0.01,
      warmup: 100,
      tsFaults: {
        ccSkips: { atMs: 50, count: 4, everyMs: 80 },
        transportErrors: { atMs: 60, count: 3 },
      },
      seed: 21,
    });
    await client.waitForLog(/stream stalled/, 5000);
    await delay(700); // two more intervals: the metrics hold the final figures
    const response = await fetch(address);
    assert.equal(response.status, 200);
    const text = await response.text();
    client.process.kill("SIGINT");
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    const lint = await promtoolCheck(text);
    assert.equal(lint.code, 3, lint.output); // only the bits-not-bytes naming remark (README)
    assert.deepEqual(lint.output.trim().split("\n"), [
      'rtp_bitrate_bits_per_second use base unit "bytes" instead of "bits"',
    ]);

    const [summary] = summaries(result.records);
    assert.ok(summary);
    assert.equal(summary.packets, truth.sent);
    const labels = { stream: "news", ssrc: String(truth.ssrc) };
    for (
      const [metric, key] of [
        ["rtp_packets_received_total", "packets"],
        ["rtp_packets_expected_total", "expected"],
        ["rtp_packets_lost_total", "lost"],
        ["rtp_packets_duplicated_total", "duplicates"],
        ["rtp_packets_reordered_total", "reordered"],
      ] as const
    ) {
      assert.equal(metricSample(text, metric, labels), summary[key], metric);
    }
    const jitterS = metricSample(text, "rtp_jitter_seconds", labels)!;
    assert.ok(
      Math.abs(jitterS * 1000 - (summary.jitterMs as number)) <= 0.0005,
      "JSON rounds to µs",
    );
    assert.equal(metricSample(text, "rtp_stalls_total", { stream: "news" }), summary.stalls);
    assert.equal(metricSample(text, "rtp_stream_up", { stream: "news" }), 0, "stalled");
    const ts = summary.ts as TsSnapshot;
    assert.equal(ts.transportErrors, 3);
    assert.equal(metricSample(text, "mpegts_transport_errors_total", { stream: "news" }), 3);
    assert.equal(metricSample(text, "mpegts_pat_errors_total", { stream: "news" }), ts.patErrors);
    for (const pid of ts.pids) {
      assert.equal(
        metricSample(text, "mpegts_continuity_errors_total", {
          stream: "news",
          pid: String(pid.pid),
        }),
        pid.ccErrors,
        `PID ${pid.pid}`,
      );
    }
    assert.ok(ts.ccErrors >= 4);
    const drops = metricSample(text, "socket_receive_buffer_drops_total", { stream: "news" });
    if (receiverUsed(result.stderr) === "kernel") {
      assert.equal(drops, summary.socketDrops);
      assert.equal(summary.socketDrops, 0);
    } else {
      assert.equal(drops, undefined, "not known on the Deno path");
      assert.equal(summary.socketDrops, null);
    }
  },
});

Deno.test({
  name: "--report posts each stream's records and totals with the receiver id and token, " +
    "and a slow endpoint never holds reception up",
  ignore: !inPrivateNetns(),
  async fn() {
    const port = randomRtpPort();
    const sdp = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=tv\r\nc=IN IP4 239.32.0.2/1\r\nt=0 0\r\n" +
      `m=video ${port} RTP/AVP 33\r\na=rtpmap:33 MP2T/90000\r\n`;
    const reports: { path: string; auth: string | null; type: string | null; body: unknown }[] = [];
    await using endpoint = Deno.serve(
      { port: 0, hostname: "127.0.0.1", onListen() {} },
      async (request) => {
        const path = new URL(request.url).pathname;
        if (request.method === "GET" && path === "/streams/tv.sdp") {
          return new Response(sdp, { headers: { "content-type": "application/sdp" } });
        }
        if (request.method === "POST") {
          reports.push({
            path,
            auth: request.headers.get("authorization"),
            type: request.headers.get("content-type"),
            body: await request.json(),
          });
          await delay(1500); // slower than the report period: reports in between are dropped
          return new Response(null, { status: 204 });
        }
        return new Response("no", { status: 404 });
      },
    );
    const client = spawnClient([
      "--sdp",
      `http://127.0.0.1:${endpoint.addr.port}/streams/tv.sdp`,
      "--json",
      "--report",
      "--report-every",
      "0.3",
      "--interval",
      "0.1",
      "--receiver-id",
      "probe-7",
    ], { GATEWAY_TOKEN: "s3cret-token" });
    await client.waitForLog(/Joined 239\.32\.0\.2/);
    const truth = await sendRtpStream({
      group: "239.32.0.2",
      port,
      bitrate: 4_000_000,
      durationS: 2,
    });
    await waitUntil(() => reports.length >= 2, 10_000, "two reports");
    await delay(300); // the last datagrams land
    client.process.kill("SIGINT");
    const result = await client.finished();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /Reporting to the server as receiver probe-7/);
    assert.equal(summaries(result.records)[0]?.packets, truth.sent, "reception was not held up");
    assert.ok(reports.length <= 4, `${reports.length} reports: the slow ones were dropped`);
    for (const report of reports) {
      assert.equal(report.path, "/streams/tv/reports");
      assert.equal(report.auth, "Bearer s3cret-token");
      assert.equal(report.type, "application/json");
      const body = report.body as {
        receiverId: string;
        stream: string;
        records: Record<string, unknown>[];
        summary: Record<string, unknown>[];
      };
      assert.deepEqual([body.receiverId, body.stream], ["probe-7", "tv"]);
      assert.ok(
        body.records.length >= 2 &&
          body.records.every((r) => r.type === "stats" && r.stream === "tv"),
      );
      assert.ok(body.summary.every((r) => r.type === "summary" && r.ssrc === truth.ssrc));
      assert.ok(body.records.some((r) => typeof r.ts === "object"), "with the ts object");
    }
  },
});
