// Hostile requests against the handler (issue 11, items 3, 5 and 7): Host headers that must not
// steer routing (RFC 9110 §7.2), offers whose cost is bounded before the SDP grammar runs, and
// echoed input that is cut short. A real Deno.serve on an ephemeral port where the wire matters.
import assert from "node:assert/strict";
import { Catalog, validateStreams } from "../../lib/server/catalog.ts";
import { createHandler } from "../../lib/server/http_app.ts";
import { rawExchange, requestHead } from "../../scripts/support/raw_http.ts";

const catalog = new Catalog(validateStreams([
  { name: "default", address: "239.0.0.1", port: 5004, formats: [{ payloadType: 33 }] },
]));
const offerText = Deno.readTextFileSync(
  new URL("../testdata/offer_vlc_style.sdp", import.meta.url),
);

function serve() {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    createHandler({ catalog: () => catalog, accessLog: false }),
  );
}

function post(path: string, body: string): Request {
  return new Request(`http://gateway${path}`, {
    method: "POST",
    headers: { "content-type": "application/sdp" },
    body,
  });
}

Deno.test("item 3: a malformed Host header is answered 400 and never routes", async (t) => {
  await using server = serve();
  const hosts = ["a b", "[", "a@b", "a:99999", "x\\streams#", "x/streams", "[::1", "a:b:c"];
  for (const host of hosts) {
    await t.step(JSON.stringify(host), async () => {
      const result = await rawExchange(server.addr.port, requestHead("GET", "/healthz", { host }));
      assert.equal(result.status, 400, result.text);
      assert.match(result.body, /Malformed Host header/);
      assert.doesNotMatch(result.body, /defaultStream/); // never the catalog
    });
  }
});

Deno.test("item 3: routing follows the request target whatever a valid Host says", async (t) => {
  await using server = serve();
  const cases: [string, string, Record<string, string>, number, RegExp][] = [
    ["Host with a port", "/healthz", { host: "gateway.example:8080" }, 200, /"ok"/],
    ["IPv6 Host", "/healthz", { host: "[::1]:8080" }, 200, /"ok"/],
    ["absolute-form target", "http://gateway.example/streams", { host: "other" }, 200, /default/],
    ["dot segments are not resolved", "/streams/../healthz", {}, 404, /No route/],
    ["query ignored", "/healthz?x=/streams", {}, 200, /"ok"/],
  ];
  for (const [name, target, headers, status, pattern] of cases) {
    await t.step(name, async () => {
      const result = await rawExchange(server.addr.port, requestHead("GET", target, headers));
      assert.equal(result.status, status, result.text);
      assert.match(result.body, pattern);
    });
  }
});

Deno.test("item 5: an offer over the line, attribute or media limits gets 400 naming the limit", async (t) => {
  const handler = createHandler({ catalog: () => catalog, accessLog: false });
  const head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 239.0.0.1\r\nt=0 0\r\n";
  const cases: [string, string, RegExp][] = [
    ["16 000 a= lines in 64 KiB", offerText + "a=x\n".repeat(16_000), /limit of SDP lines/],
    ["129 a= lines", offerText + "a=x\r\n".repeat(125), /limit of SDP attributes/],
    ["65 rtpmaps", offerText + "a=rtpmap:96 H264/90000\r\n".repeat(65), /limit of SDP rtpmaps/],
    ["9 m= lines", head + "m=video 5004 RTP/AVP 33\r\n".repeat(9), /limit of SDP media sections/],
    [
      "65 formats",
      head + `m=video 5004 RTP/AVP ${Array.from({ length: 65 }, (_, i) => i).join(" ")}\r\n`,
      /limit of SDP formats/,
    ],
    ["a 2 KiB o= line", offerText.replace(/o=[^\r\n]*/, "o=" + "1".repeat(2048)), /line length/],
  ];
  for (const [name, body, pattern] of cases) {
    await t.step(name, async () => {
      const started = performance.now();
      const response = await handler(post("/offer", body));
      const ms = performance.now() - started;
      assert.equal(response.status, 400);
      const problem = await response.json();
      assert.match(problem.detail, pattern);
      assert.ok(ms < 50, `${ms.toFixed(1)} ms`);
    });
  }
});

/** Median cost in µs of answering `offers` (each once, so the answer cache cannot help). */
async function medianCostUs(offers: string[]): Promise<number> {
  const handler = createHandler({ catalog: () => catalog, accessLog: false });
  const costs: number[] = [];
  for (const offer of offers) {
    const request = post("/offer", offer);
    const started = performance.now();
    const response = await handler(request);
    costs.push((performance.now() - started) * 1000);
    await response.body?.cancel();
  }
  costs.sort((a, b) => a - b);
  return costs[Math.floor(costs.length / 2)]!;
}

Deno.test("item 5: the costliest offers, inside the limits or just over them, cost a few times a normal one", async () => {
  const distinct = (text: string, n: number) =>
    Array.from({ length: n }, (_, i) => text.replace(/^s=.*$/m, `s=offer ${i}`));
  const head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 239.0.0.1/255\r\nt=0 0\r\n";
  const fmts = (n: number, from: number) => Array.from({ length: n }, (_, i) => from + i).join(" ");
  const worst = [
    // 8 m-lines of 8 formats with 8 rtpmaps each, and every other attribute slot used.
    head + Array.from({ length: 8 }, (_, k) =>
      `m=video ${5000 + k} RTP/AVP ${fmts(8, 96)}\r\n` +
      Array.from({ length: 8 }, (_, i) => `a=rtpmap:${96 + i} MP2T/90000\r\n`).join("") +
      "a=x\r\n".repeat(8)).join(""),
    // One m-line with 64 formats and 64 rtpmaps.
    head + `m=video 5004 RTP/AVP ${fmts(64, 33)}\r\n` +
    Array.from({ length: 64 }, (_, i) => `a=rtpmap:${33 + i} H${i}/90000\r\n`).join(""),
    // 250 lines that the grammar never reads.
    head + "m=video 5004 RTP/AVP 33\r\n" + ("i=" + "x".repeat(250) + "\r\n").repeat(240),
    // 64 KiB of attribute lines (refused by the line limit before the grammar runs).
    offerText + "a=x\r\n".repeat(13_000),
  ];
  await medianCostUs(distinct(offerText, 300)); // warm up
  const normal = await medianCostUs(distinct(offerText, 300));
  for (const offer of worst) {
    const cost = await medianCostUs(distinct(offer, 100));
    console.log(`normal ${normal.toFixed(0)} µs, worst case ${cost.toFixed(0)} µs`);
    assert.ok(cost < 8 * normal, `${cost.toFixed(0)} µs against ${normal.toFixed(0)} µs`);
  }
});

Deno.test("item 7: echoed input is cut short and a NUL in s= is refused", async (t) => {
  const handler = createHandler({ catalog: () => catalog, accessLog: false });
  await t.step("a 64 KB stream name", async () => {
    const name = "n".repeat(64_000);
    for (const path of [`/streams/${name}/offer`, `/streams/${name}.sdp`, `/${name}`]) {
      const request = path.endsWith("/offer")
        ? post(path, offerText)
        : new Request(`http://g${path}`);
      const response = await handler(request);
      assert.equal(response.status, 404);
      const text = await response.text();
      assert.ok(text.length < 2048, `${text.length} bytes`);
    }
  });
  await t.step("NUL inside s=", async () => {
    const response = await handler(post("/offer", offerText.replace(/^s=.*$/m, "s=a\0b")));
    assert.equal(response.status, 400);
    assert.match((await response.json()).detail, /NUL/);
  });
  await t.step("a 60 KB JSON type", async () => {
    const response = await handler(
      new Request("http://g/offer", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ type: "x".repeat(60_000), sdp: offerText }),
      }),
    );
    assert.equal(response.status, 400);
    assert.ok((await response.text()).length < 1024);
  });
});
