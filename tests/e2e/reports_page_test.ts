// Receiver reports, metrics and the web page on the real server (server.ts under its permission
// set): two receivers report real statistics through the client's Reporter; the receivers endpoint
// shows their totals; `promtool check metrics` accepts /metrics with sdp_offers_total equal to the
// offers made; headless Chromium loads / and shows every stream and both receivers, the hostile
// description as text (screenshot under tmp/test-output/); bad reports get 4xx, never a 5xx.
import assert from "node:assert/strict";
import { buildOffer } from "../../lib/sdp/offer.ts";
import { waitUntil } from "../../scripts/support/poll.ts";
import { startServer } from "../../scripts/support/server_process.ts";
import { sampleReport } from "../../scripts/support/sample_report.ts";
import { runChromium } from "../support/chromium.ts";
import { attr, byId, elements, parseHtml, text } from "../support/html_dom.ts";
import { peerTest } from "../support/peer_requirements.ts";
import { promtoolCheck } from "../support/prometheus.ts";
import { reportingClient } from "../support/reporting_client.ts";
import { metricSample } from "../support/exposition.ts";

const XSS = "<img src=x onerror=alert(1)>";

const STREAMS = [
  {
    name: "news",
    description: `News ${XSS}`,
    category: "tv.news",
    address: "239.255.0.61",
    port: 5004,
    formats: [{ payloadType: 33 }],
  },
  {
    name: "camera",
    description: "Lobby camera",
    address: "232.1.1.1",
    port: 5006,
    source: "192.0.2.10",
    formats: [{ payloadType: 96, encoding: "H264/90000" }],
  },
  { name: "raw", description: "Raw TS", address: "239.255.0.62", port: 1234, transport: "udp" },
];

/** A real server with the catalog above; `args` added. Removes its config file when disposed. */
async function catalogServer(args: string[] = [], env: Record<string, string> = {}) {
  const path = await Deno.makeTempFile({ prefix: "reports-catalog-", suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify({ streams: STREAMS }));
  const server = await startServer(["--config", path, ...args], { env });
  return {
    server,
    async [Symbol.asyncDispose]() {
      try {
        const status = await server.stop();
        assert.equal(status.code, 0);
      } finally {
        await Deno.remove(path);
      }
    },
  };
}

/** Two receivers of `news` report five seconds of statistics: a with 5 % loss, b with none. */
async function twoReceivers(url: string, token?: string) {
  const a = reportingClient({
    server: url,
    stream: "news",
    receiverId: "probe-a",
    lossEvery: 20,
    ...(token ? { token } : {}),
  });
  const b = reportingClient({
    server: url,
    stream: "news",
    receiverId: "probe-b",
    lossEvery: 1000,
    ...(token ? { token } : {}),
  });
  for (let s = 0; s < 5; s++) {
    a.second(s);
    b.second(s);
    await waitUntil(
      () => a.reporter.counts().inFlight + b.reporter.counts().inFlight === 0,
      5000,
      "reports answered",
    );
  }
  await a.reporter.close();
  await b.reporter.close();
  assert.deepEqual(a.reporter.counts(), { sent: 2, dropped: 0, failed: 0, inFlight: 0 });
  assert.deepEqual(b.reporter.counts(), { sent: 2, dropped: 0, failed: 0, inFlight: 0 });
  return { a, b };
}

/** Where screenshots go: GATEWAY_TEST_OUTPUT, else tmp/test-output/ in the repository (ignored by git). */
function outputDir(): string {
  const dir = Deno.env.get("GATEWAY_TEST_OUTPUT") ??
    new URL("../../tmp/test-output/", import.meta.url).pathname;
  Deno.mkdirSync(dir, { recursive: true });
  return dir.replace(/\/$/, "");
}

/** Value of the sample `name{labels}` in an exposition. */
await peerTest({
  name:
    "two receivers' reports on the real server: the receivers' totals, and promtool accepts /metrics with every offer counted",
  peers: ["prometheus"],
  netns: false,
  async fn() {
    await using running = await catalogServer();
    const { url } = running.server;
    const { a, b } = await twoReceivers(url);
    const body = await (await fetch(`${url}/streams/news/receivers`)).json() as {
      receivers: {
        id: string;
        address: string;
        reports: number;
        lost: number;
        total: { packets: number; lost: number; duplicates: number };
      }[];
    };
    assert.deepEqual(body.receivers.map((r) => [r.id, r.address, r.reports]), [
      ["probe-a", "127.0.0.1", 2],
      ["probe-b", "127.0.0.1", 2],
    ]);
    const [ra, rb] = body.receivers;
    for (const [view, client] of [[ra!, a], [rb!, b]] as const) {
      const truth = client.stats.snapshot(5000).sources[0]!;
      assert.deepEqual(
        [view.total.packets, view.total.lost, view.total.duplicates],
        [truth.packets, truth.lost, truth.duplicates],
      );
    }
    assert.equal(ra!.total.lost, 24, "25 of 500 dropped; the last cannot be known lost yet");
    assert.equal(rb!.total.lost, 0);

    // Offers: what the server must count, by stream and status.
    const mp2t = buildOffer({
      formats: [{ payloadType: 33, encoding: "MP2T", clockRate: 90000 }],
      group: "239.0.0.1",
      port: 5004,
    });
    const offer = (path: string, sdp = mp2t) =>
      fetch(`${url}${path}`, {
        method: "POST",
        body: sdp,
        headers: { "content-type": "application/sdp" },
      }).then(async (r) => {
        await r.body?.cancel();
        return r.status;
      });
    const made = [
      await offer("/offer"),
      await offer("/offer"),
      await offer("/streams/news/offer"),
      await offer("/streams/camera/offer"), // MP2T offered, H.264 carried
      await offer("/streams/raw/offer"), // RTP offered, raw UDP carried
      await offer("/streams/none/offer"),
      await offer("/streams/news/offer", "not sdp"),
    ];
    assert.deepEqual(made, [200, 200, 200, 406, 406, 404, 400]);
    const exposition = await (await fetch(`${url}/metrics`)).text();
    const lint = await promtoolCheck(exposition);
    assert.equal(lint.code, 0, lint.output);
    const offers = exposition.split("\n").filter((l) => l.startsWith("sdp_offers_total{"));
    assert.equal(
      offers.reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0),
      made.length,
      offers.join("\n"),
    );
    assert.equal(
      metricSample(exposition, "sdp_offers_total", { stream: "news", status: "200" }),
      3,
    );
    assert.equal(
      metricSample(exposition, "sdp_offers_total", { stream: "camera", status: "406" }),
      1,
    );
    assert.equal(metricSample(exposition, "sdp_offers_total", { stream: "raw", status: "406" }), 1);
    assert.equal(
      metricSample(exposition, "sdp_offers_total", { stream: "(unknown)", status: "404" }),
      1,
    );
    assert.equal(
      metricSample(exposition, "sdp_offers_total", { stream: "news", status: "400" }),
      1,
    );
    assert.equal(
      metricSample(exposition, "receiver_reports_total", { stream: "news", status: "204" }),
      4,
    );
    assert.equal(metricSample(exposition, "receivers_reporting", { stream: "news" }), 2);
    assert.equal(metricSample(exposition, "receivers_with_loss", { stream: "news" }), 1);
    assert.equal(
      metricSample(exposition, "receivers_worst_fraction_lost", { stream: "news" }),
      10 / 200,
    );
  },
});

await peerTest({
  name:
    "headless Chromium loads / from the real server: every stream, both reporting receivers, the hostile text as text",
  peers: ["chromium"],
  async fn() {
    await using running = await catalogServer();
    const { url } = running.server;
    await twoReceivers(url);
    const result = await runChromium(`${url}/`, { output: "dump", budgetMs: 3000 });
    assert.equal(result.code, 0);
    assert.deepEqual(result.console.filter((l) => /Content Security Policy|Refused/.test(l)), []);
    const doc = parseHtml(result.dom);
    assert.deepEqual(elements(doc, "img"), [], "no <img> element was created");
    const rows = elements(byId(doc, "streams")!, "tr").filter((r) =>
      attr(r, "data-stream") !== undefined
    );
    assert.deepEqual(rows.map((r) => attr(r, "data-stream")), ["news", "camera", "raw"]);
    const cells = (i: number) => elements(rows[i]!, "td").map((c) => text(c).trim());
    // news: its description as text (the script's textContent), 2 of 2 receiving, 1 with loss.
    assert.deepEqual(cells(0).slice(0, 9), [
      "news",
      `News ${XSS}tv.news`,
      "239.255.0.61",
      "5004",
      "33 MP2T/90000",
      "",
      "2 / 2",
      "1",
      "5.00 %",
    ]);
    assert.deepEqual(cells(2).slice(4, 5), ["MPEG-TS over UDP (no RTP)"]);
    assert.deepEqual(cells(1).slice(5, 7), ["192.0.2.10", "0 / 0"]);
    const receivers = elements(byId(doc, "receivers")!, "tr").map((r) =>
      elements(r, "td").map((c) => text(c))
    );
    assert.deepEqual(receivers.map((r) => r.slice(0, 4)), [
      ["news", "probe-a", "127.0.0.1", "receiving"],
      ["news", "probe-b", "127.0.0.1", "receiving"],
    ]);
    assert.deepEqual(receivers.map((r) => r[5]), ["10", "0"], "lost in the last report period");
    assert.match(text(byId(doc, "status")!), /· 3 streams · 2 receivers$/);

    const path = `${outputDir()}/server_page.png`;
    await Deno.remove(path).catch(() => {});
    const shot = await runChromium(`${url}/`, {
      output: { screenshot: path },
      budgetMs: 3000,
      width: 1400,
      height: 600,
    });
    assert.equal(shot.code, 0);
    const png = await Deno.readFile(path);
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    assert.ok(png.length > 20_000, `${png.length} bytes`);
    console.log(`Screenshot: ${path}`);
  },
});

await peerTest({
  name: "with a token, Chromium shows the catalog and asks for the token for the receivers",
  peers: ["chromium"],
  async fn() {
    await using running = await catalogServer([], { GATEWAY_TOKEN: "s3cret-token" });
    const { url } = running.server;
    await twoReceivers(url, "s3cret-token");
    const doc = parseHtml((await runChromium(`${url}/`, { output: "dump", budgetMs: 3000 })).dom);
    assert.equal(attr(byId(doc, "auth")!, "hidden"), undefined, "the token form is shown");
    assert.match(text(byId(doc, "auth-label")!), /Receiver reports need/);
    const rows = elements(byId(doc, "streams")!, "tr").filter((r) =>
      attr(r, "data-stream") !== undefined
    );
    assert.equal(rows.length, 3);
    assert.match(text(rows[0]!), /reports need the token/);
    assert.deepEqual(elements(byId(doc, "receivers")!, "tr"), []);
  },
});

Deno.test("bad reports to the real server: 401 without the token, 413, 400, 429 over the rate; never a 5xx", async () => {
  const token = "s3cret-token";
  await using running = await catalogServer(["--report-rate-limit", "1"], {
    GATEWAY_TOKEN: token,
  });
  const { url } = running.server;
  const post = (body: BodyInit, headers: Record<string, string> = {}) =>
    fetch(`${url}/streams/news/reports`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
    }).then(async (r) => {
      const problem = r.headers.get("content-type") === "application/problem+json"
        ? await r.json()
        : (await r.body?.cancel(), undefined);
      return { status: r.status, problem };
    });
  const auth = { authorization: `Bearer ${token}` };
  const report = JSON.stringify(sampleReport("probe-a", "news"));
  // Rate 1/s in bursts of 5: every request takes one; the sixth is over.
  const results = [
    await post(report),
    await post("x".repeat(70_000), auth),
    await post('{"receiverId":"probe-a","records":[{"packets":-1}]}', auth),
    await post(report, auth),
    await post(report, auth),
    await post(report, auth),
  ];
  assert.deepEqual(results.map((r) => r.status), [401, 413, 400, 204, 204, 429]);
  assert.match(String(results[2]!.problem?.detail), /^Invalid report: records\[0\]\.type: /);
  assert.ok(results.every((r) => r.status < 500));
  const health = await (await fetch(`${url}/healthz`)).json();
  assert.equal(health.status, "ok");
  assert.deepEqual(running.server.logs.filter((r) => r.level === "error"), []);
});
