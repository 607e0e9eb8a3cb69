// The routes the server gained with discovery and receiver reports (issues 12-14), in memory through
// createHandler(): the page with its CSP, the playlist, /metrics with sdp_offers_total counted for
// every offer, reports and receivers behind the token, raw-UDP streams, and OPTIONS/405 for each.
import assert from "node:assert/strict";
import { createExposition } from "../../lib/common/prometheus.ts";
import { metricsHandler } from "../../lib/common/metrics_endpoint.ts";
import { parseSdp } from "../../lib/sdp/parse.ts";
import { buildOffer } from "../../lib/sdp/offer.ts";
import { Catalog, validateStreams } from "../../lib/server/catalog.ts";
import { createHandler, type HandlerOptions } from "../../lib/server/http_app.ts";
import { SERVER_FAMILIES, ServerMetrics } from "../../lib/server/metrics.ts";
import { PLAYLIST_CONTENT_TYPE } from "../../lib/server/playlist.ts";
import { RateLimiter } from "../../lib/server/rate_limit.ts";
import { ReceiverStore } from "../../lib/server/receiver_store.ts";
import { WEB_PAGE_CSP } from "../../lib/server/web_page.ts";
import { sampleReport } from "../../scripts/support/sample_report.ts";
import { metricSample } from "../support/exposition.ts";

const XSS = "<img src=x onerror=alert(1)>";
const TOKEN = "s3cret-token-1";

const streams = validateStreams([
  {
    name: "news",
    description: XSS,
    category: "tv.news",
    address: "239.0.0.1",
    port: 5004,
    formats: [{ payloadType: 33 }],
  },
  { name: "raw", description: "Raw TS", address: "239.255.0.1", port: 1234, transport: "udp" },
]);
const discovered = validateStreams([
  { name: "vlcnews", address: "239.255.0.5", port: 5004, formats: [{ payloadType: 33 }] },
]);
const catalog = new Catalog(streams, {
  nowS: 1_700_000_000,
  discovered: [{ stream: discovered[0]!, announcedBy: "192.0.2.9" }],
});

const INFO = {
  remoteAddr: { transport: "tcp", hostname: "192.0.2.7", port: 40000 },
  completed: Promise.resolve(),
} as unknown as Deno.ServeHandlerInfo;

/** A handler with reports and metrics on, as server.ts builds it; `options` replace. */
async function server(options: Partial<HandlerOptions> = {}) {
  const store = new ReceiverStore();
  const metrics = new ServerMetrics({ store });
  const exposition = await createExposition(SERVER_FAMILIES, () => metrics.samples());
  const scrape = metricsHandler({
    render: () => exposition.render(),
    contentType: exposition.contentType,
  });
  const handler = createHandler({
    catalog: () => catalog,
    accessLog: false,
    reports: { store, rateLimiter: new RateLimiter({ ratePerS: 20, burst: 100 }) },
    metrics,
    scrape,
    ...options,
  });
  return {
    store,
    fetch: (path: string, init: RequestInit = {}) =>
      handler(new Request(`http://gateway.test${path}`, init), INFO),
    /** The exposition as GET /metrics renders it, read past the handler's limits. */
    metricsText: () => exposition.render(),
  };
}

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers },
});
const bearer = { authorization: `Bearer ${TOKEN}` };

Deno.test("GET / serves the page with its CSP, the catalog escaped, and HEAD the same headers", async () => {
  const { fetch } = await server();
  const response = await fetch("/");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-security-policy"), WEB_PAGE_CSP);
  assert.equal(response.headers.get("content-type"), "text/html; charset=utf-8");
  const html = await response.text();
  assert.ok(!html.includes(XSS), "the description is escaped");
  assert.ok(html.includes("&#60;img src=x onerror=alert(1)&#62;"));
  assert.match(html, /data-stream="raw"/);
  assert.match(html, /MPEG-TS over UDP \(no RTP\)/);
  assert.match(html, /--server http:\/\/gateway\.test --stream news/);
  const head = await fetch("/", { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-security-policy"), WEB_PAGE_CSP);
  assert.equal(await head.text(), "");
});

Deno.test("GET / with --protect-reads holds no catalog and needs no token; the playlist and /metrics do", async () => {
  const { fetch } = await server({ token: TOKEN, protectReads: true });
  const page = await fetch("/");
  assert.equal(page.status, 200);
  const html = await page.text();
  assert.doesNotMatch(html, /data-stream=/);
  assert.match(html, /<form id="auth"/);
  for (const path of ["/playlist.m3u", "/metrics", "/streams"]) {
    assert.equal((await fetch(path)).status, 401, path);
    assert.equal((await fetch(path, { headers: bearer })).status, 200, path);
  }
});

Deno.test("GET /playlist.m3u lists every stream: rtp://@ and udp://@ URLs, group-title from the category", async () => {
  const { fetch } = await server();
  const response = await fetch("/playlist.m3u");
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), PLAYLIST_CONTENT_TYPE);
  assert.equal(
    await response.text(),
    [
      "#EXTM3U",
      `#EXTINF:-1 tvg-id="news" tvg-name="news" group-title="tv.news",${XSS}`,
      "rtp://@239.0.0.1:5004",
      '#EXTINF:-1 tvg-id="raw" tvg-name="raw",Raw TS',
      "udp://@239.255.0.1:1234",
      '#EXTINF:-1 tvg-id="vlcnews" tvg-name="vlcnews",vlcnews',
      "rtp://@239.255.0.5:5004",
      "",
    ].join("\n"),
  );
});

Deno.test("GET /streams shows transport, category and origin of configured and discovered streams", async () => {
  const { fetch } = await server();
  const body = await (await fetch("/streams")).json();
  const byName = Object.fromEntries(
    body.streams.map((s: Record<string, unknown>) => [s.name, s]),
  );
  assert.deepEqual(
    [byName.news.transport, byName.news.category, byName.news.origin],
    ["rtp", "tv.news", "config"],
  );
  assert.deepEqual([byName.raw.transport, byName.raw.formats], ["udp", []]);
  assert.deepEqual([byName.vlcnews.origin, byName.vlcnews.announcedBy], ["sap", "192.0.2.9"]);
  assert.equal(byName.news.announcedBy, undefined);
});

Deno.test("a raw-UDP stream's .sdp is VLC's udp m-line; an RTP offer gets 406 naming why, a udp one 200", async () => {
  const { fetch } = await server();
  const sdp = await (await fetch("/streams/raw.sdp")).text();
  const media = parseSdp(sdp).media[0]!;
  assert.deepEqual([media.port, media.protocol, media.formatTokens], [1234, "udp", ["mpeg"]]);
  const rtpOffer = buildOffer({
    formats: [{ payloadType: 33, encoding: "MP2T", clockRate: 90000 }],
    group: "239.255.0.1",
    port: 1234,
  });
  const refused = await fetch("/streams/raw/offer", {
    method: "POST",
    body: rtpOffer,
    headers: { "content-type": "application/sdp" },
  });
  assert.equal(refused.status, 406);
  const problem = await refused.json();
  assert.equal(problem.transport, "udp");
  assert.match(
    problem.detail,
    /MPEG-TS straight over UDP \(no RTP\).*offer "m=video 1234 udp mpeg"/,
  );
  const udpOffer = rtpOffer.replace(
    /m=video 1234 RTP\/AVP 33\r\n(a=rtpmap[^\r]*\r\n)?/,
    "m=video 1234 udp mpeg\r\n",
  );
  const answered = await fetch("/streams/raw/offer", {
    method: "POST",
    body: udpOffer,
    headers: { "content-type": "application/sdp" },
  });
  assert.equal(answered.status, 200, udpOffer);
  assert.match(await answered.text(), /^m=video 1234 udp mpeg\r$/m);
});

Deno.test("GET /metrics counts every offer by stream and status, and parses as an exposition", async () => {
  const { fetch } = await server();
  const offer = buildOffer({
    formats: [{ payloadType: 33, encoding: "MP2T", clockRate: 90000 }],
    group: "239.0.0.1",
    port: 5004,
  });
  const sdp = (path: string, body: string, type = "application/sdp") =>
    fetch(path, { method: "POST", body, headers: { "content-type": type } });
  const statuses = [
    (await sdp("/offer", offer)).status,
    (await sdp("/offer", offer)).status,
    (await sdp("/streams/news/offer", offer)).status,
    (await sdp("/streams/raw/offer", offer)).status,
    (await sdp("/streams/nope/offer", offer)).status,
    (await sdp("/streams/news/offer", "garbage")).status,
    (await sdp("/streams/news/offer", offer, "text/plain")).status,
    (await fetch("/offer")).status, // a GET is not an offer
  ];
  assert.deepEqual(statuses, [200, 200, 200, 406, 404, 400, 415, 405]);
  const response = await fetch("/metrics");
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  assert.equal(metricSample(text, "sdp_offers_total", { stream: "news", status: "200" }), 3);
  assert.equal(metricSample(text, "sdp_offers_total", { stream: "raw", status: "406" }), 1);
  assert.equal(metricSample(text, "sdp_offers_total", { stream: "(unknown)", status: "404" }), 1);
  assert.equal(metricSample(text, "sdp_offers_total", { stream: "news", status: "400" }), 1);
  assert.equal(metricSample(text, "sdp_offers_total", { stream: "news", status: "415" }), 1);
  const total = text.split("\n").filter((l) => l.startsWith("sdp_offers_total{"))
    .reduce((sum, l) => sum + Number(l.split(" ").at(-1)), 0);
  assert.equal(total, 7, "every POST to an offer path, no more");
  assert.match(text, /^process_resident_memory_bytes \d+/m);
});

Deno.test("reports: 204 kept and listed; the receivers list and per-stream aggregates reach /metrics", async () => {
  const { fetch } = await server();
  assert.equal(
    (await fetch("/streams/news/reports", json(sampleReport("probe-a", "news")))).status,
    204,
  );
  assert.equal(
    (await fetch("/streams/vlcnews/reports", json(sampleReport("probe-b", "vlcnews")))).status,
    204,
  );
  const list = await (await fetch("/streams/news/receivers")).json();
  assert.equal(list.receivers.length, 1);
  assert.deepEqual(
    [list.receivers[0].id, list.receivers[0].address, list.receivers[0].total.packets],
    ["probe-a", "192.0.2.7", 5000],
  );
  const text = await (await fetch("/metrics")).text();
  assert.equal(metricSample(text, "receivers_reporting", { stream: "news" }), 1);
  assert.equal(metricSample(text, "receivers_with_loss", { stream: "news" }), 1);
  assert.equal(
    metricSample(text, "receiver_reports_total", { stream: "vlcnews", status: "204" }),
    1,
  );
});

Deno.test("reports and the receivers list need the token whenever one is set, even with reads open", async () => {
  const { fetch } = await server({ token: TOKEN });
  const report = sampleReport("probe-a", "news");
  const refused = await fetch("/streams/news/reports", json(report));
  assert.equal(refused.status, 401);
  assert.match(refused.headers.get("www-authenticate") ?? "", /^Bearer realm=/);
  assert.equal((await fetch("/streams/news/reports", json(report, bearer))).status, 204);
  assert.equal((await fetch("/streams/news/receivers")).status, 401);
  assert.equal((await fetch("/streams/news/receivers", { headers: bearer })).status, 200);
  // Reads stay open otherwise.
  assert.equal((await fetch("/streams")).status, 200);
  assert.equal((await fetch("/playlist.m3u")).status, 200);
  assert.equal((await fetch("/metrics")).status, 200);
});

Deno.test("bad reports: 413 oversized, 400 malformed, 404 unknown stream, 415, 429 over the rate; never 5xx", async () => {
  const { fetch } = await server({
    reports: {
      store: new ReceiverStore(),
      rateLimiter: new RateLimiter({ ratePerS: 1, burst: 5 }),
    },
  });
  const oversized = await fetch("/streams/news/reports", {
    method: "POST",
    body: "x".repeat(70_000),
    headers: { "content-type": "application/json" },
  });
  // As for offers: the rest of an oversized body is never read, so the connection closes.
  assert.equal(oversized.headers.get("connection"), "close");
  const statuses = [
    oversized.status,
    (await fetch("/streams/news/reports", json({ receiverId: "a", records: "no" }))).status,
    (await fetch("/streams/nope/reports", json(sampleReport()))).status,
    (await fetch("/streams/news/reports", {
      method: "POST",
      body: "{}",
      headers: { "content-type": "text/plain" },
    })).status,
    (await fetch("/streams/news/reports", json(sampleReport()))).status,
    (await fetch("/streams/news/reports", json(sampleReport()))).status,
  ];
  // Five in the bucket: every request takes one, the sixth is over the rate.
  assert.deepEqual(statuses, [413, 400, 404, 415, 204, 429]);
});

Deno.test("reports refused before the report handler (global rate limit, too busy) are counted too", async () => {
  const limited = await server({ rateLimiter: new RateLimiter({ ratePerS: 0.001, burst: 2 }) });
  const statuses = [
    (await limited.fetch("/streams/news/reports", json(sampleReport("probe-a", "news")))).status,
    (await limited.fetch("/streams/nope/reports", json(sampleReport("probe-a", "nope")))).status,
    (await limited.fetch("/streams/news/reports", json(sampleReport("probe-a", "news")))).status,
  ];
  assert.deepEqual(statuses, [204, 404, 429]);
  const text = await limited.metricsText();
  // Each counted once: the handler's 204 and 404, the gate's 429.
  assert.equal(metricSample(text, "receiver_reports_total", { stream: "news", status: "204" }), 1);
  assert.equal(
    metricSample(text, "receiver_reports_total", { stream: "(unknown)", status: "404" }),
    1,
  );
  assert.equal(metricSample(text, "receiver_reports_total", { stream: "news", status: "429" }), 1);
  const busy = await server({ maxConcurrent: 0 });
  assert.equal((await busy.fetch("/streams/news/reports", json(sampleReport()))).status, 503);
  assert.equal(
    metricSample(await busy.metricsText(), "receiver_reports_total", {
      stream: "news",
      status: "503",
    }),
    1,
  );
});

Deno.test("OPTIONS and 405 know the new paths", async (t) => {
  const { fetch } = await server();
  const cases: [string, string, string][] = [
    ["/", "GET", "GET, HEAD, OPTIONS"],
    ["/playlist.m3u", "GET", "GET, HEAD, OPTIONS"],
    ["/metrics", "GET", "GET, HEAD, OPTIONS"],
    ["/streams/news/receivers", "GET", "GET, HEAD, OPTIONS"],
    ["/streams/news/reports", "POST", "POST, OPTIONS"],
  ];
  for (const [path, method, allow] of cases) {
    await t.step(path, async () => {
      const options = await fetch(path, { method: "OPTIONS" });
      assert.equal(options.status, 204);
      assert.equal(options.headers.get("allow"), allow);
      const wrong = await fetch(path, method === "GET" ? { method: "POST", body: "x" } : {});
      assert.equal(wrong.status, 405, `${path}: ${await wrong.clone().text()}`);
      assert.ok(wrong.headers.get("allow") !== null);
    });
  }
  assert.equal((await fetch("/nothing-here.m3u")).status, 404);
});

Deno.test("without reports and scrape the new paths are 404, as before", async () => {
  const handler = createHandler({ catalog: () => catalog, accessLog: false });
  for (const path of ["/metrics", "/streams/news/receivers"]) {
    const response = await handler(new Request(`http://gateway.test${path}`), INFO);
    assert.equal(response.status, 404, path);
  }
});
