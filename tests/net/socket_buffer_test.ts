import assert from "node:assert/strict";
import {
  enlargeReceiveBuffer,
  SOCKET_OPTION,
  socketDescriptorsOf,
} from "../../lib/net/socket_buffer.ts";

const linux = Deno.build.os === "linux";

function udpSocket(): { conn: Deno.DatagramConn; addr: Deno.NetAddr } {
  const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
  return { conn, addr: conn.addr as Deno.NetAddr };
}

Deno.test({
  name: "socketDescriptorsOf() finds the UDP socket bound to an address, not others",
  ignore: !linux,
  fn() {
    const a = udpSocket();
    const b = udpSocket();
    const tcp = Deno.listen({ hostname: "127.0.0.1", port: a.addr.port });
    try {
      const fdsA = socketDescriptorsOf(a.addr);
      const fdsB = socketDescriptorsOf(b.addr);
      assert.equal(fdsA.length, 1, "the TCP listener on the same port is not a UDP socket");
      assert.equal(fdsB.length, 1);
      assert.notEqual(fdsA[0], fdsB[0]);
      assert.deepEqual(socketDescriptorsOf({ hostname: "127.0.0.2", port: a.addr.port }), []);
      assert.deepEqual(socketDescriptorsOf({ hostname: "not an address", port: 1 }), []);
    } finally {
      a.conn.close();
      b.conn.close();
      tcp.close();
    }
  },
});

Deno.test({
  name: "enlargeReceiveBuffer() raises SO_RCVBUF up to net.core.rmem_max",
  ignore: !linux,
  fn() {
    const rmemMax = Number(Deno.readTextFileSync("/proc/sys/net/core/rmem_max").trim());
    const { conn, addr } = udpSocket();
    try {
      const asked = 1024 * 1024;
      const outcome = enlargeReceiveBuffer(addr, asked);
      assert.ok(outcome.ok, outcome.ok ? "" : outcome.reason);
      assert.equal(outcome.fds.length, 1);
      // The kernel doubles the request for its bookkeeping (socket(7)); FORCE ignores rmem_max.
      const expected = 2 * (outcome.forced ? asked : Math.min(asked, rmemMax));
      assert.equal(outcome.bytes, expected);
    } finally {
      conn.close();
    }
  },
});

Deno.test({
  name: "enlargeReceiveBuffer() explains why it changed nothing",
  ignore: !linux,
  async fn(t) {
    const { conn, addr } = udpSocket();
    try {
      const cases = [
        {
          name: "no socket there",
          local: { hostname: "127.0.0.1", port: 1 },
          bytes: 4096,
          reason: /no UDP socket/,
        },
        { name: "size 0", local: addr, bytes: 0, reason: /invalid buffer size 0/ },
        { name: "fractional size", local: addr, bytes: 1.5, reason: /invalid buffer size/ },
      ];
      for (const c of cases) {
        await t.step(c.name, () => {
          const outcome = enlargeReceiveBuffer(c.local, c.bytes);
          assert.equal(outcome.ok, false);
          assert.match(outcome.ok ? "" : outcome.reason, c.reason);
        });
      }
    } finally {
      conn.close();
    }
  },
});

Deno.test({
  name: "enlargeReceiveBuffer() without --allow-ffi reports it and leaves the socket alone",
  ignore: !linux,
  permissions: { net: true, ffi: false },
  fn() {
    const { conn, addr } = udpSocket();
    try {
      const outcome = enlargeReceiveBuffer(addr, 1024 * 1024);
      assert.deepEqual(outcome, { ok: false, reason: "no FFI permission (--allow-ffi)" });
    } finally {
      conn.close();
    }
  },
});

Deno.test("SOCKET_OPTION carries the Linux option numbers of socket(7)", () => {
  assert.deepEqual(SOCKET_OPTION, { SOL_SOCKET: 1, SO_RCVBUF: 8, SO_RCVBUFFORCE: 33 });
});
