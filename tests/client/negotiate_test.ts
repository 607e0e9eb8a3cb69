import assert from "node:assert/strict";
import { Catalog, validateStreams } from "../../lib/server/catalog.ts";
import { NegotiationError } from "../../lib/common/errors.ts";
import { createHandler } from "../../lib/server/http_app.ts";
import { loadDescription, negotiate } from "../../lib/client/negotiate.ts";
import { describeStream } from "../../lib/sdp/describe.ts";

const MP2T = [{ payloadType: 33, encoding: "MP2T", clockRate: 90000 }];
const catalog = new Catalog(validateStreams([
  { name: "tv", address: "239.0.0.1", port: 5004, ttl: 2, formats: [{ payloadType: 33 }] },
  {
    name: "hd",
    address: "239.0.0.2",
    port: 5006,
    formats: [{ payloadType: 96, encoding: "H264/90000" }],
  },
]));
const fast = { retries: 2, backoffMs: () => 5 };

Deno.test("negotiate() gets group, port, TTL and format from a real server", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    createHandler({ catalog: () => catalog }),
  );
  const target = await negotiate(`http://127.0.0.1:${server.addr.port}/offer`, {
    ...fast,
    formats: MP2T,
  });
  assert.deepEqual([target.group, target.port, target.ttl, target.formats], [
    "239.0.0.1",
    5004,
    2,
    MP2T,
  ]);
});

Deno.test("negotiate() reports a rejected offer with what the server carries", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    createHandler({ catalog: () => catalog }),
  );
  await assert.rejects(
    negotiate(`http://127.0.0.1:${server.addr.port}/streams/hd/offer`, { ...fast, formats: MP2T }),
    (e) =>
      e instanceof NegotiationError &&
      /rejected the offer \(406\).*carries 96 H264\/90000/.test(e.message),
  );
});

Deno.test("negotiate() retries 5xx with backoff and succeeds when the server recovers", async () => {
  let calls = 0;
  const real = createHandler({ catalog: () => catalog });
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    calls++;
    return calls < 3 ? new Response("busy", { status: 503 }) : real(request);
  });
  const retries: string[] = [];
  const target = await negotiate(`http://127.0.0.1:${server.addr.port}/offer`, {
    ...fast,
    formats: MP2T,
    onRetry: (m) => retries.push(m),
  });
  assert.equal(target.group, "239.0.0.1");
  assert.equal(calls, 3);
  assert.equal(retries.length, 2);
  assert.match(retries[0]!, /Attempt 1\/3 .* failed: server answered 503 busy; retrying/);
});

Deno.test("negotiate() gives up on an unreachable server after the retries, with one line per attempt", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const retries: string[] = [];
  const delays: number[] = [];
  await assert.rejects(
    negotiate(`http://127.0.0.1:${port}/offer`, {
      retries: 3,
      backoffMs: (n) => (delays.push(n), 1),
      formats: MP2T,
      onRetry: (m) => retries.push(m),
    }),
    (e) => e instanceof NegotiationError && /after 4 attempts: connection refused/.test(e.message),
  );
  assert.equal(retries.length, 3);
  assert.deepEqual(delays, [1, 2, 3]);
});

Deno.test("negotiate() refuses answers a broken or malicious server sends", async (t) => {
  const head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
  const cases: [string, () => Response, RegExp][] = [
    ["no c=", () => new Response(head + "m=video 5004 RTP/AVP 33\r\n"), /No c= line/],
    [
      "unicast group",
      () => new Response(head + "c=IN IP4 192.0.2.1\r\nm=video 5004 RTP/AVP 33\r\n"),
      /not a multicast/,
    ],
    [
      "broadcast",
      () => new Response(head + "c=IN IP4 255.255.255.255\r\nm=video 5004 RTP/AVP 33\r\n"),
      /not a multicast/,
    ],
    [
      "port 0",
      () => new Response(head + "c=IN IP4 239.0.0.1\r\nm=video 0 RTP/AVP 33\r\n"),
      /port 0/,
    ],
    [
      "port 70000",
      () => new Response(head + "c=IN IP4 239.0.0.1\r\nm=video 70000 RTP/AVP 33\r\n"),
      /Invalid port/,
    ],
    [
      "TTL 9999",
      () => new Response(head + "c=IN IP4 239.0.0.1/9999\r\nm=video 5004 RTP/AVP 33\r\n"),
      /TTL/,
    ],
    [
      "thousands of formats",
      () =>
        new Response(
          head + "c=IN IP4 239.0.0.1\r\nm=video 5004 RTP/AVP " + "96 ".repeat(3000) + "\r\n",
        ),
      /formats|larger|limit of SDP/,
    ],
    ["megabytes", () => new Response("v=0\r\n" + "a=x\r\n".repeat(1_000_000)), /larger than 65536/],
    ["not SDP", () => new Response("<html>hello</html>"), /Unusable SDP/],
    ["JSON without sdp", () => Response.json({ type: "answer" }), /no "sdp"/],
    [
      "401",
      () => new Response(JSON.stringify({ detail: "Missing bearer token" }), { status: 401 }),
      /401.*Missing bearer token/,
    ],
  ];
  for (const [name, reply, pattern] of cases) {
    await t.step(name, async () => {
      await using server = Deno.serve(
        { hostname: "127.0.0.1", port: 0, onListen() {} },
        async (request) => {
          await request.body?.cancel();
          return reply();
        },
      );
      await assert.rejects(
        negotiate(`http://127.0.0.1:${server.addr.port}/offer`, { ...fast, formats: MP2T }),
        (e) => e instanceof NegotiationError && pattern.test(e.message),
      );
    });
  }
});

Deno.test("loadDescription() reads an SDP file and an SDP URL", async () => {
  const path = await Deno.makeTempFile({ suffix: ".sdp" });
  try {
    await Deno.writeTextFile(path, describeStream(catalog.get("hd")!));
    const fromFile = await loadDescription(path, fast);
    assert.deepEqual([fromFile.group, fromFile.port, fromFile.formats[0]?.encoding], [
      "239.0.0.2",
      5006,
      "H264",
    ]);
    assert.equal((await loadDescription(`file://${path}`, fast)).port, 5006);
  } finally {
    await Deno.remove(path);
  }
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    createHandler({ catalog: () => catalog }),
  );
  const fromUrl = await loadDescription(
    `http://127.0.0.1:${server.addr.port}/streams/tv.sdp`,
    fast,
  );
  assert.deepEqual([fromUrl.group, fromUrl.ttl], ["239.0.0.1", 2]);
  await assert.rejects(
    loadDescription("/nonexistent/x.sdp", fast),
    (e) => e instanceof NegotiationError && /Cannot read SDP file/.test(e.message),
  );
  await assert.rejects(
    loadDescription(`http://127.0.0.1:${server.addr.port}/streams/none.sdp`, fast),
    (e) => e instanceof NegotiationError && /404.*No stream named "none"/.test(e.message),
  );
});
