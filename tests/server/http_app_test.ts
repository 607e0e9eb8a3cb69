import assert from "node:assert/strict";
import { Catalog, validateStreams } from "../../lib/server/catalog.ts";
import { createHandler } from "../../lib/server/http_app.ts";
import { readReceiveTarget } from "../../lib/sdp/receive_target.ts";

const offerText = Deno.readTextFileSync(
  new URL("../testdata/offer_vlc_style.sdp", import.meta.url),
);
const h264Offer = Deno.readTextFileSync(
  new URL("../testdata/offer_ffmpeg_style.sdp", import.meta.url),
);

const catalog = new Catalog(
  validateStreams([
    { name: "default", address: "239.0.0.1", port: 5004, ttl: 1, formats: [{ payloadType: 33 }] },
    {
      name: "hd",
      description: "H.264 channel",
      address: "239.0.0.2",
      port: 5006,
      ttl: 8,
      source: "192.0.2.1",
      formats: [{ payloadType: 96, encoding: "H264", clockRate: 90000 }],
    },
  ]),
);
const handler = createHandler({ catalog: () => catalog });

function post(path: string, body: BodyInit, type = "application/sdp"): Request {
  return new Request(`http://gateway${path}`, {
    method: "POST",
    body,
    headers: { "content-type": type },
  });
}

async function problemOf(response: Response): Promise<Record<string, unknown>> {
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  const body = await response.json() as Record<string, unknown>;
  assert.equal(body.status, response.status);
  assert.equal(typeof body.detail, "string");
  return body;
}

Deno.test("POST /offer answers an SDP offer for the default stream as application/sdp", async () => {
  const response = await handler(post("/offer", offerText));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/sdp");
  const target = readReceiveTarget(await response.text());
  assert.equal(target.group, "239.0.0.1");
  assert.equal(target.port, 5004);
  assert.equal(target.ttl, 1);
});

Deno.test("POST /streams/{name}/offer answers a JSON offer with a JSON answer", async () => {
  const response = await handler(
    post(
      "/streams/hd/offer",
      JSON.stringify({ type: "offer", sdp: h264Offer }),
      "application/json; charset=utf-8",
    ),
  );
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.type, "answer");
  const target = readReceiveTarget(body.sdp);
  assert.deepEqual([target.group, target.port, target.ttl, target.sources], ["239.0.0.2", 5006, 8, [
    "192.0.2.1",
  ]]);
});

Deno.test("the handler answers bad requests with problem+json 4xx", async (t) => {
  const cases: [string, () => Request, number, RegExp][] = [
    ["empty body", () => post("/offer", ""), 400, /empty/],
    ["not SDP", () => post("/offer", "hello"), 400, /Invalid SDP offer/],
    [
      "no m-line",
      () => post("/offer", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"),
      400,
      /no media/,
    ],
    ["invalid UTF-8", () => post("/offer", new Uint8Array([0x76, 0x3d, 0xff, 0xfe])), 400, /UTF-8/],
    [
      "JSON without sdp",
      () => post("/offer", '{"type":"offer"}', "application/json"),
      400,
      /"sdp"/,
    ],
    [
      "JSON of wrong type",
      () => post("/offer", '{"type":"answer","sdp":"v=0"}', "application/json"),
      400,
      /"offer"/,
    ],
    ["JSON array", () => post("/offer", "[1,2]", "application/json"), 400, /JSON object/],
    ["broken JSON", () => post("/offer", '{"sdp":', "application/json"), 400, /not valid JSON/],
    ["deep JSON", () => post("/offer", "[".repeat(60_000), "application/json"), 400, /JSON/],
    ["wrong content type", () => post("/offer", offerText, "text/plain"), 415, /text\/plain/],
    [
      "missing content type",
      () => new Request("http://gateway/offer", { method: "POST", body: new Blob([offerText]) }),
      415,
      /Missing Content-Type/,
    ],
    [
      "oversized body",
      () => post("/offer", "v=0\r\n" + "a=x\r\n".repeat(20_000)),
      413,
      /larger than/,
    ],
    ["unknown stream", () => post("/streams/nope/offer", offerText), 404, /No stream named "nope"/],
    ["unknown .sdp", () => new Request("http://gateway/streams/nope.sdp"), 404, /nope/],
    ["unknown path", () => new Request("http://gateway/elsewhere"), 404, /No route/],
    ["no common format", () => post("/offer", h264Offer), 406, /carries 33 MP2T\/90000/],
  ];
  for (const [name, request, status, pattern] of cases) {
    await t.step(name, async () => {
      const response = await handler(request());
      assert.equal(response.status, status);
      const body = await problemOf(response);
      assert.match(String(body.detail), pattern);
    });
  }
});

Deno.test("406 names what was offered and what the stream carries", async () => {
  const body = await problemOf(await handler(post("/offer", h264Offer)));
  assert.deepEqual(body.carried, ["33 MP2T/90000"]);
  assert.deepEqual(body.offered, ["video RTP/AVP 96 H264/90000"]);
});

Deno.test("wrong methods get 405 with Allow", async (t) => {
  const cases: [string, string, string][] = [
    ["GET", "/offer", "POST"],
    ["PUT", "/streams", "GET, HEAD"],
    ["DELETE", "/streams/default.sdp", "GET, HEAD"],
    ["GET", "/streams/default/offer", "POST"],
    ["POST", "/healthz", "GET, HEAD"],
  ];
  for (const [method, path, allow] of cases) {
    await t.step(`${method} ${path}`, async () => {
      const response = await handler(new Request(`http://gateway${path}`, { method }));
      assert.equal(response.status, 405);
      assert.equal(response.headers.get("allow"), allow);
      await problemOf(response);
    });
  }
});

Deno.test("GET /streams, /streams/{name}.sdp and /healthz describe the catalog", async () => {
  const list = await (await handler(new Request("http://gateway/streams"))).json();
  assert.equal(list.defaultStream, "default");
  assert.deepEqual(list.streams.map((s: { name: string }) => s.name), ["default", "hd"]);
  assert.equal(list.streams[1].sdp, "/streams/hd.sdp");
  const sdp = await handler(new Request("http://gateway/streams/hd.sdp"));
  assert.equal(sdp.headers.get("content-type"), "application/sdp");
  const target = readReceiveTarget(await sdp.text());
  assert.deepEqual([target.group, target.port, target.formats[0]?.encoding], [
    "239.0.0.2",
    5006,
    "H264",
  ]);
  const head = await handler(new Request("http://gateway/streams/hd.sdp", { method: "HEAD" }));
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
  assert.deepEqual(await (await handler(new Request("http://gateway/healthz"))).json(), {
    status: "ok",
  });
});

Deno.test("a real Deno.serve answers offers, refuses a large body without reading it all, and handles concurrency", async () => {
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const base = `http://127.0.0.1:${server.addr.port}`;

  const ok = await fetch(`${base}/offer`, {
    method: "POST",
    headers: { "content-type": "application/sdp" },
    body: offerText,
  });
  assert.equal(ok.status, 200);
  assert.equal(readReceiveTarget(await ok.text()).port, 5004);

  // A streamed 10 MiB body: the server answers 413 once 64 KiB are exceeded.
  let sent = 0;
  const chunk = new Uint8Array(16 * 1024).fill(0x61);
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= 10 * 1024 * 1024) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const big = await fetch(`${base}/offer`, {
    method: "POST",
    headers: { "content-type": "application/sdp" },
    body,
  });
  assert.equal(big.status, 413);
  await big.body?.cancel();
  assert.ok(sent < 10 * 1024 * 1024, `the server read all ${sent} bytes`);

  const declared = await fetch(`${base}/offer`, {
    method: "POST",
    headers: { "content-type": "application/sdp" },
    body: "x".repeat(70_000),
  });
  assert.equal(declared.status, 413);
  await declared.body?.cancel();

  const results = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const json = i % 2 === 0;
    const response = await fetch(`${base}${i % 3 === 0 ? "/streams/default/offer" : "/offer"}`, {
      method: "POST",
      headers: { "content-type": json ? "application/json" : "application/sdp" },
      body: json ? JSON.stringify({ type: "offer", sdp: offerText }) : offerText,
    });
    const text = await response.text();
    return { status: response.status, sdp: json ? JSON.parse(text).sdp : text };
  }));
  for (const result of results) {
    assert.equal(result.status, 200);
    assert.equal(readReceiveTarget(result.sdp).group, "239.0.0.1");
  }
});
