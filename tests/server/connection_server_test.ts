// Tests of lib/server/connection_server.ts, the server's connection policy (issue 11, items 1 and 4):
// the cap with the longest-idle connection closed first, refusal when every connection is busy,
// the idle timeout, Connection: close honoured, graceful shutdown, and no exit on a handler error.
import assert from "node:assert/strict";
import { type ConnectionHandler, serveConnections } from "../../lib/server/connection_server.ts";
import { ServerLoad } from "../../lib/server/server_load.ts";
import {
  closeAll,
  closedBy,
  rawExchange,
  requestHead,
  writeAll,
} from "../../scripts/support/raw_http.ts";

const encoder = new TextEncoder();
const ok: ConnectionHandler = () => new Response("ok");

function start(
  handler: ConnectionHandler,
  options: { maxConnections?: number; idleTimeoutMs?: number; load?: ServerLoad } = {},
) {
  return serveConnections({
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: options.maxConnections ?? 100,
    idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
    ...(options.load === undefined ? {} : { load: options.load }),
  }, handler);
}

async function connect(port: number) {
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

Deno.test("at the cap the longest-idle connection is closed to make room", async () => {
  await using server = start(ok, { maxConnections: 3 });
  assert.ok(server.enforcesLimits);
  const port = server.addr.port;
  const idle = [await connect(port), await connect(port), await connect(port)];
  try {
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(server.connections <= 3);
    const served = await rawExchange(port, requestHead("GET", "/"));
    assert.equal(served.status, 200);
    assert.ok(await closedBy(idle[0]!, 2000), "the oldest idle connection was closed");
    assert.ok(server.connections <= 3);
    // The next two idle ones go before a connection is refused.
    const more = [await connect(port), await connect(port)];
    idle.push(...more);
    assert.equal((await rawExchange(port, requestHead("GET", "/"))).status, 200);
    assert.ok(await closedBy(idle[1]!, 2000));
  } finally {
    closeAll(idle);
  }
});

Deno.test("when every connection has a request in flight a new one gets 503 and degraded health", async () => {
  const load = new ServerLoad();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await using server = start(async () => {
    await held;
    return new Response("late");
  }, { maxConnections: 2, load });
  const port = server.addr.port;
  const busy = [
    rawExchange(port, requestHead("GET", "/a")),
    rawExchange(port, requestHead("GET", "/b")),
  ];
  await new Promise((resolve) => setTimeout(resolve, 200));
  const refused = await rawExchange(port, requestHead("GET", "/c"), { untilClose: true });
  assert.equal(refused.status, 503);
  assert.match(refused.text, /retry-after: 1/i);
  assert.ok(refused.closed);
  assert.equal(load.health().status, "degraded");
  release();
  assert.deepEqual((await Promise.all(busy)).map((r) => r.status), [200, 200]);
});

Deno.test("a connection with no request in flight is closed after the idle timeout, a busy one is not", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  await using server = start(async (request) => {
    if (new URL(request.url).pathname === "/slow") await held;
    return new Response("ok");
  }, { idleTimeoutMs: 300 });
  const port = server.addr.port;
  const idle = await connect(port);
  const busy = rawExchange(port, requestHead("GET", "/slow"), { timeoutMs: 5000 });
  try {
    assert.ok(await closedBy(idle, 3000));
    await new Promise((resolve) => setTimeout(resolve, 700));
    release();
    assert.equal((await busy).status, 200, "the request in flight outlived the idle timeout");
  } finally {
    closeAll([idle]);
  }
});

Deno.test("a response with Connection: close closes the connection once sent", async () => {
  await using server = start(() => new Response("bye", { headers: { connection: "close" } }));
  const conn = await connect(server.addr.port);
  try {
    await writeAll(conn, encoder.encode(requestHead("GET", "/")));
    assert.ok(await closedBy(conn, 3000));
  } finally {
    closeAll([conn]);
  }
});

Deno.test("a throwing handler answers 500 on that connection only", async () => {
  await using server = start(() => {
    throw new Error("boom");
  });
  const first = await rawExchange(server.addr.port, requestHead("GET", "/"), { untilClose: true });
  assert.equal(first.status, 500);
  assert.ok(first.closed);
  const second = await rawExchange(server.addr.port, requestHead("GET", "/"));
  assert.equal(second.status, 500);
});

Deno.test("shutdown() closes idle connections at once and lets requests in flight finish", async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const server = start(async (request) => {
    if (new URL(request.url).pathname === "/slow") await held;
    return new Response("done");
  });
  const port = server.addr.port;
  const idle = await connect(port);
  const busy = rawExchange(port, requestHead("GET", "/slow"), { timeoutMs: 5000 });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const stopping = server.shutdown();
  try {
    assert.ok(await closedBy(idle, 2000), "idle connection closed at shutdown");
    await assert.rejects(connect(port), "no longer listening");
    release();
    assert.equal((await busy).status, 200);
    await stopping;
    await server.finished;
    assert.equal(server.connections, 0);
  } finally {
    closeAll([idle]);
  }
});

Deno.test("peers that close their connections just as the server closes them do not end it", async () => {
  // Closing a connection the peer has just closed made Deno's abort listener throw BadResource,
  // which ended the process as an uncaught error (seen at shutdown after 300 idle connections).
  for (let round = 0; round < 3; round++) {
    const server = start(ok, { maxConnections: 1000 });
    const port = server.addr.port;
    const conns = await Promise.all(Array.from({ length: 200 }, () => connect(port)));
    const deadline = Date.now() + 5000;
    while (server.connections < 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    closeAll(conns);
    await new Promise((resolve) => setTimeout(resolve, round));
    await server.shutdown();
  }
});
