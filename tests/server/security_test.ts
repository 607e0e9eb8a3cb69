import assert from "node:assert/strict";
import { delay } from "../../lib/common/delay.ts";
import { bearerMatches } from "../../lib/server/access_control.ts";
import { Catalog, validateStreams } from "../../lib/server/catalog.ts";
import { createHandler, type HandlerOptions } from "../../lib/server/http_app.ts";
import { RateLimiter } from "../../lib/server/rate_limit.ts";
import { readReceiveTarget } from "../../lib/sdp/receive_target.ts";
import { makeCertificate } from "../support/tls.ts";
import { peerTest } from "../support/peer_requirements.ts";

const offerText = Deno.readTextFileSync(
  new URL("../testdata/offer_vlc_style.sdp", import.meta.url),
);
const catalog = new Catalog(validateStreams([
  { name: "default", address: "239.0.0.1", port: 5004, formats: [{ payloadType: 33 }] },
]));
const TOKEN = "s3cret-token-0123";

function handlerWith(options: Partial<HandlerOptions>) {
  return createHandler({ catalog: () => catalog, ...options });
}

function offer(headers: Record<string, string> = {}): Request {
  return new Request("http://gateway/offer", {
    method: "POST",
    headers: { "content-type": "application/sdp", ...headers },
    body: offerText,
  });
}

const info = (hostname: string) =>
  ({
    remoteAddr: { transport: "tcp", hostname, port: 1 },
    completed: Promise.resolve(),
  }) as Deno.ServeHandlerInfo<
    Deno.NetAddr
  >;

Deno.test("bearerMatches() accepts only the exact token", async (t) => {
  const cases: [string | null, boolean][] = [
    [`Bearer ${TOKEN}`, true],
    [`bearer ${TOKEN}`, true],
    [`Bearer ${TOKEN}x`, false],
    [`Bearer ${TOKEN.slice(0, -1)}`, false],
    ["Bearer ", false],
    [`Basic ${TOKEN}`, false],
    [null, false],
    ["", false],
  ];
  for (const [header, expected] of cases) {
    await t.step(String(header), () => assert.equal(bearerMatches(header, TOKEN), expected));
  }
});

Deno.test("a token protects offers with 401 and WWW-Authenticate; reads stay open unless protected", async () => {
  const open = handlerWith({ token: TOKEN });
  const missing = await open(offer());
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="rtp-multicast-gateway"');
  const wrong = await open(offer({ authorization: "Bearer nope-nope-nope" }));
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get("www-authenticate")!, /error="invalid_token"/);
  await wrong.body?.cancel();
  await missing.body?.cancel();
  const ok = await open(offer({ authorization: `Bearer ${TOKEN}` }));
  assert.equal(ok.status, 200);
  assert.equal(readReceiveTarget(await ok.text()).group, "239.0.0.1");
  assert.equal((await open(new Request("http://gateway/streams/default.sdp"))).status, 200);

  const closed = handlerWith({ token: TOKEN, protectReads: true });
  for (const path of ["/streams", "/streams/default.sdp"]) {
    const response = await closed(new Request(`http://gateway${path}`));
    assert.equal(response.status, 401, path);
    await response.body?.cancel();
  }
  const health = await closed(new Request("http://gateway/healthz"));
  assert.equal(health.status, 200);
  await health.body?.cancel();
  const authorized = await closed(
    new Request("http://gateway/streams", { headers: { authorization: `Bearer ${TOKEN}` } }),
  );
  assert.equal(authorized.status, 200);
  await authorized.body?.cancel();
});

Deno.test("CORS is off by default and answers preflights for the configured origin", async () => {
  const origin = "https://app.example";
  const off = await handlerWith({})(offer({ origin }));
  assert.equal(off.headers.get("access-control-allow-origin"), null);
  await off.body?.cancel();

  const on = handlerWith({ corsOrigin: origin });
  const preflight = await on(
    new Request("http://gateway/offer", {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    }),
  );
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), origin);
  assert.match(preflight.headers.get("access-control-allow-methods")!, /POST/);
  assert.match(preflight.headers.get("access-control-allow-headers")!, /authorization/);
  const actual = await on(offer({ origin }));
  assert.equal(actual.headers.get("access-control-allow-origin"), origin);
  await actual.body?.cancel();
  const other = await on(offer({ origin: "https://evil.example" }));
  assert.equal(other.headers.get("access-control-allow-origin"), null);
  await other.body?.cancel();
});

Deno.test("the rate limit answers 429 with Retry-After per client address", async () => {
  let now = 0;
  const handler = handlerWith({ rateLimiter: new RateLimiter({ ratePerS: 2, now: () => now }) });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const response = await handler(offer(), info("192.0.2.1"));
    statuses.push(response.status);
    if (response.status === 429) assert.equal(response.headers.get("retry-after"), "1");
    await response.body?.cancel();
  }
  assert.deepEqual(statuses, [200, 200, 429, 429]);
  const other = await handler(offer(), info("192.0.2.2"));
  assert.equal(other.status, 200, "another address has its own bucket");
  await other.body?.cancel();
  now += 1000;
  const later = await handler(offer(), info("192.0.2.1"));
  assert.equal(later.status, 200, "tokens come back with time");
  await later.body?.cancel();
});

Deno.test("the rate limiter's client table stays bounded", () => {
  const limiter = new RateLimiter({ ratePerS: 1, maxClients: 100 });
  for (let i = 0; i < 10_000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`);
  assert.equal(limiter.size, 100);
});

Deno.test("a body trickled slower than the body timeout gets 408, and too many at once get 503", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    handlerWith({ bodyTimeoutMs: 300, maxConcurrent: 2 }),
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  const pushes: ReadableStreamDefaultController<Uint8Array>[] = [];
  const slow = () =>
    fetch(`${base}/offer`, {
      method: "POST",
      headers: { "content-type": "application/sdp" },
      body: new ReadableStream<Uint8Array>({
        start(c) {
          pushes.push(c);
          c.enqueue(new TextEncoder().encode("v=0\r\n"));
        },
      }),
    });
  const first = slow();
  const second = slow();
  await delay(100);
  const third = await fetch(`${base}/offer`, {
    method: "POST",
    headers: { "content-type": "application/sdp" },
    body: offerText,
  });
  assert.equal(third.status, 503);
  assert.equal(third.headers.get("retry-after"), "1");
  await third.body?.cancel();
  for (const response of await Promise.all([first, second])) {
    assert.equal(response.status, 408);
    assert.match((await response.json()).detail, /not received within 0.3 s/);
  }
  for (const push of pushes) push.close();
  const after = await fetch(`${base}/offer`, {
    method: "POST",
    headers: { "content-type": "application/sdp" },
    body: offerText,
  });
  assert.equal(after.status, 200, "the server recovers");
  await after.body?.cancel();
});

Deno.test("500 stalled connections with half-sent headers do not stop the server answering", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    handlerWith({}),
  );
  const stalled: Deno.TcpConn[] = [];
  try {
    for (let i = 0; i < 500; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
      await conn.write(new TextEncoder().encode("POST /offer HTTP/1.1\r\nHost: x\r\n"));
      stalled.push(conn);
    }
    const started = performance.now();
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/offer`, {
      method: "POST",
      headers: { "content-type": "application/sdp" },
      body: offerText,
    });
    assert.equal(response.status, 200);
    await response.body?.cancel();
    assert.ok(performance.now() - started < 2000, "answered promptly");
  } finally {
    for (const conn of stalled) conn.close();
  }
});

await peerTest({
  name: "HTTPS with a self-signed certificate serves offers to a client trusting it",
  peers: ["openssl"],
  netns: false,
  async fn() {
    const certificate = await makeCertificate();
    try {
      await using server = Deno.serve(
        {
          hostname: "127.0.0.1",
          port: 0,
          cert: certificate.cert,
          key: certificate.key,
          onListen() {},
        },
        handlerWith({}),
      );
      using client = Deno.createHttpClient({ caCerts: [certificate.ca] });
      const response = await fetch(`https://127.0.0.1:${server.addr.port}/offer`, {
        method: "POST",
        headers: { "content-type": "application/sdp" },
        body: offerText,
        client,
      });
      assert.equal(response.status, 200);
      assert.equal(readReceiveTarget(await response.text()).port, 5004);
      await assert.rejects(
        fetch(`https://127.0.0.1:${server.addr.port}/healthz`),
        "an untrusting client refuses the certificate",
      );
    } finally {
      await Deno.remove(certificate.dir, { recursive: true });
    }
  },
});
