// Tests of lib/client/socket_pool.ts on real sockets, on both receive paths, inside the private
// network namespace of scripts/netns_test.sh: two groups on one port stay apart, two senders on one
// group are told apart by source on one socket, and the IGMP refresh (leave and join, RFC 3376)
// happens at the times the injected clock says without losing a packet of a paced stream.
import assert from "node:assert/strict";
import { sendRtpStream } from "../../lib/source/rtp_source.ts";
import type { DatagramReceiver } from "../../lib/net/datagram_receiver.ts";
import { openReceiver, type OpenReceiverOptions } from "../../lib/net/open_receiver.ts";
import { type SocketEvent, SocketPool } from "../../lib/client/socket_pool.ts";
import { StreamWatch } from "../../lib/client/stream_watch.ts";
import { randomRtpPort } from "../../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { waitUntil } from "../../scripts/support/poll.ts";
import { delay } from "../../lib/common/delay.ts";
import { mp2tTarget } from "../support/receiver_fixtures.ts";

const PATHS = ["kernel", "deno"] as const;

function watch(name: string, group: string, port: number, sources: string[] = []): StreamWatch {
  return new StreamWatch({
    name,
    target: mp2tTarget({ group, port }),
    sources,
    stallAfterMs: 2000,
    startMs: performance.now(),
  });
}

interface Rig {
  pool: SocketPool;
  readonly events: SocketEvent[];
  /** The clock's time at each rejoin() call. */
  readonly rejoins: { at: number }[];
  clock: number;
}

/** A pool on `path` whose clock is `rig.clock`, recording events and every rejoin() call. */
function rig(path: "kernel" | "deno", refreshEveryMs = 0): Rig {
  const events: SocketEvent[] = [];
  const rejoins: Rig["rejoins"] = [];
  const state: Rig = { pool: undefined as unknown as SocketPool, events, rejoins, clock: 0 };
  const open = async (options: OpenReceiverOptions): Promise<DatagramReceiver> => {
    const receiver = await openReceiver({ ...options, prefer: path });
    assert.equal(receiver.kind, path);
    // Watch the calls; the real rejoin() runs.
    const rejoin = receiver.rejoin.bind(receiver);
    receiver.rejoin = () => {
      rejoins.push({ at: state.clock });
      return rejoin();
    };
    return receiver;
  };
  state.pool = new SocketPool({
    prefer: path,
    receiveBufferBytes: 4 * 1024 * 1024,
    refreshEveryMs,
    now: () => state.clock,
    onEvent: (event) => events.push(event),
    afterBatch: () => {},
    open,
  });
  return state;
}

for (const path of PATHS) {
  Deno.test({
    name: `SocketPool (${path}): two groups on one port stay apart on their own sockets`,
    ignore: !inPrivateNetns(),
    async fn() {
      const port = randomRtpPort();
      const { pool, events } = rig(path);
      const a = watch("a", "239.20.0.1", port);
      const b = watch("b", "239.20.0.2", port);
      try {
        await pool.add(a);
        await pool.add(b);
        assert.equal([...pool.sockets()].length, 2);
        const [ta, tb] = await Promise.all([
          sendRtpStream({ group: "239.20.0.1", port, packets: 200, bitrate: 4_000_000, ssrc: 1 }),
          sendRtpStream({ group: "239.20.0.2", port, packets: 300, bitrate: 4_000_000, ssrc: 2 }),
        ]);
        await waitUntil(() => a.accepted === ta.sent && b.accepted === tb.sent, 5000, "all in");
        const at = performance.now();
        assert.deepEqual(a.snapshot(at).rtp.sources.map((s) => [s.ssrc, s.packets]), [[1, 200]]);
        assert.deepEqual(b.snapshot(at).rtp.sources.map((s) => [s.ssrc, s.packets]), [[2, 300]]);
        await pool.remove(a);
        assert.equal([...pool.sockets()].length, 1, "a socket left empty is closed");
      } finally {
        await pool.close();
      }
      assert.deepEqual(events.map((e) => e.kind), ["opened", "opened", "closed", "closed"]);
    },
  });

  Deno.test({
    name:
      `SocketPool (${path}): two senders on one group and port share a socket, told apart by source`,
    ignore: !inPrivateNetns(),
    async fn() {
      const port = randomRtpPort();
      const { pool, events } = rig(path);
      const one = watch("one", "232.20.0.3", port, ["127.0.0.1"]);
      const two = watch("two", "232.20.0.3", port, ["127.0.0.2"]);
      try {
        await pool.add(one);
        await pool.add(two);
        const [socket, ...others] = [...pool.sockets()];
        assert.equal(others.length, 0, "one socket for the group and port");
        assert.deepEqual(socket!.joined, ["127.0.0.1", "127.0.0.2"]);
        assert.equal(socket!.receiver.filtersSources, path === "kernel");
        assert.deepEqual(events.map((e) => e.kind), ["opened", "reopened"]);
        const send = (interfaceAddress: string, ssrc: number, packets: number) =>
          sendRtpStream({
            group: "232.20.0.3",
            port,
            interfaceAddress,
            packets,
            bitrate: 4_000_000,
            ssrc,
          });
        const [t1, t2, t3] = await Promise.all([
          send("127.0.0.1", 11, 150),
          send("127.0.0.2", 22, 250),
          send("127.0.0.3", 33, 100), // neither stream's sender
        ]);
        await waitUntil(() => one.accepted === t1.sent && two.accepted === t2.sent, 5000, "in");
        await delay(100);
        const at = performance.now();
        const figures = (w: StreamWatch) =>
          w.snapshot(at).rtp.sources.map((s) => [s.ssrc, s.packets]);
        assert.deepEqual(figures(one), [[11, 150]]);
        assert.deepEqual(figures(two), [[22, 250]]);
        // The third sender: filtered in user space on the Deno path; never delivered by the
        // kernel's source-specific joins on the kernel path.
        const filtered = path === "kernel" ? 0 : t3.sent;
        assert.deepEqual([one.stats.filtered, two.stats.filtered], [filtered, filtered]);
      } finally {
        await pool.close();
      }
    },
  });

  Deno.test({
    name:
      `SocketPool (${path}): --rejoin-every renews at the injected times without losing a packet`,
    ignore: !inPrivateNetns(),
    async fn() {
      const port = randomRtpPort();
      const state = rig(path, 60_000);
      const stream = watch("tv", "239.20.0.4", port);
      try {
        await state.pool.add(stream);
        const sending = sendRtpStream({
          group: "239.20.0.4",
          port,
          durationS: 2.5,
          bitrate: 8_000_000,
          ssrc: 0x77,
        });
        // While the source sends (about 760 packets a second), the injected clock runs 10 s of
        // membership time every 50 ms: a renewal every 300 ms or so.
        const ticks: number[] = [];
        for (let i = 0; i < 40; i++) {
          await delay(50);
          state.clock += 10_000;
          ticks.push(state.clock);
          state.pool.tick(state.clock);
        }
        const truth = await sending;
        await waitUntil(() => stream.accepted >= truth.sent, 5000, "every packet arrived");
        const source = stream.snapshot(performance.now()).rtp.sources[0]!;
        assert.deepEqual(
          [source.packets, source.lost, source.duplicates, source.discarded],
          [truth.sent, 0, 0, 0],
          "no false loss across the renewals",
        );
        assert.deepEqual(
          state.rejoins.map((r) => r.at),
          ticks.filter((t) => t % 60_000 === 0),
          "a leave and join every 60 s of the clock, none in between",
        );
        assert.ok(state.rejoins.length >= 6);
        await waitUntil(
          () => state.events.filter((e) => e.kind === "renewed").length === state.rejoins.length,
          2000,
          "every renewal completed",
        );
      } finally {
        await state.pool.close();
      }
    },
  });
}
