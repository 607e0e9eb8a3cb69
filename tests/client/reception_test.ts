// Tests of lib/client/reception.ts with an injected clock, on real sockets inside the private
// network namespace of scripts/netns_test.sh: the re-joins (IGMP leave and join, RFC 3376) of a
// stalled stream and the querier hint at the right times, and how a run of several streams ends
// (--timeout, --packets).
import assert from "node:assert/strict";
import { openReceiver, type OpenReceiverOptions } from "../../lib/net/open_receiver.ts";
import { Reception, type ReceptionOptions } from "../../lib/client/reception.ts";
import { StreamWatch } from "../../lib/client/stream_watch.ts";
import { randomRtpPort } from "../../scripts/support/endpoints.ts";
import { inPrivateNetns } from "../../scripts/support/netns.ts";
import { waitUntil } from "../../scripts/support/poll.ts";
import { mp2tPacket, mp2tTarget } from "../support/receiver_fixtures.ts";

interface Clocked {
  readonly reception: Reception;
  readonly rejoins: number[];
  readonly log: string[];
  readonly stop: AbortController;
  clock: number;
}

function clocked(overrides: Partial<ReceptionOptions> = {}): Clocked {
  const rejoins: number[] = [];
  const log: string[] = [];
  const stop = new AbortController();
  const state = { clock: 0 } as Clocked & { clock: number };
  const open = async (options: OpenReceiverOptions) => {
    const receiver = await openReceiver(options);
    const rejoin = receiver.rejoin.bind(receiver);
    receiver.rejoin = () => {
      rejoins.push(state.clock);
      return rejoin();
    };
    return receiver;
  };
  const reception = new Reception({
    single: true,
    timeoutS: 1e6,
    intervalS: 1e6,
    signal: stop.signal,
    now: () => state.clock,
    sockets: {
      prefer: "auto",
      receiveBufferBytes: 0,
      refreshEveryMs: 0,
      onEvent: () => {},
      open,
    },
    onInterval: () => {},
    onStateChange: (watch, s) => log.push(`${watch.name} ${s} ${state.clock}`),
    onSilent: (watch) => log.push(`${watch.name} silent ${state.clock}`),
    onQuerierHint: (watch, _socket, ageS) => log.push(`${watch.name} querier ${ageS}`),
    ...overrides,
  });
  return Object.assign(state, { reception, rejoins, log, stop });
}

function watchAt(name: string, port: number, group = "239.21.0.1"): StreamWatch {
  return new StreamWatch({
    name,
    target: mp2tTarget({ group, port }),
    sources: [],
    stallAfterMs: 2000,
    startMs: 0,
  });
}

Deno.test({
  name: "Reception re-joins a stalled stream every 10 s and names a missing querier at 260 s",
  ignore: !inPrivateNetns(),
  async fn() {
    const c = clocked();
    const tv = watchAt("tv", randomRtpPort());
    await c.reception.add(tv);
    const running = c.reception.run();
    try {
      const step = async (to: number, condition: () => boolean, what: string) => {
        c.clock = to;
        await waitUntil(condition, 3000, what);
      };
      tv.onDatagram(mp2tPacket(1, 7, 0), 1000);
      await step(1000, () => c.log.includes("tv receiving 1000"), "receiving");
      for (let seq = 2, at = 2000; at <= 260_000; seq++, at += 1000) {
        tv.onDatagram(mp2tPacket(seq, 7, seq * 90_000), at); // one packet a second, no stall
      }
      await step(262_500, () => c.log.some((l) => l.startsWith("tv stalled")), "the stall");
      assert.ok(c.log.includes("tv querier 260"), c.log.join("\n"));
      await waitUntil(() => c.rejoins.length === 1, 3000, "the first re-join");
      assert.deepEqual(c.rejoins, [262_500], "at once: the stream started receiving 261 s ago");
      await step(272_000, () => c.rejoins.length === 1, "nothing before 10 s");
      await step(272_500, () => c.rejoins.length === 2, "the second re-join");
      await step(300_000, () => c.rejoins.length === 3, "the third re-join");
      assert.deepEqual(c.rejoins, [262_500, 272_500, 300_000]);
      // Packets again: no more re-joins, and the next stall is far from 260 s: no hint.
      tv.onDatagram(mp2tPacket(400, 7, 0), 301_000);
      await step(301_000, () => c.log.includes("tv receiving 301000"), "receiving again");
      await step(
        320_000,
        () => c.log.filter((l) => l.startsWith("tv stalled")).length === 2,
        "stall 2",
      );
      assert.equal(c.log.filter((l) => l.includes("querier")).length, 1);
    } finally {
      c.stop.abort();
    }
    assert.equal(await running, "interrupted");
  },
});

Deno.test({
  name: "Reception of several streams: --timeout only when none received, --packets of every one",
  ignore: !inPrivateNetns(),
  async fn(t) {
    await t.step("nothing anywhere: timeout", async () => {
      const c = clocked({ single: false, timeoutS: 5 });
      await c.reception.add(watchAt("a", randomRtpPort()));
      await c.reception.add(watchAt("b", randomRtpPort(), "239.21.0.2"));
      const running = c.reception.run();
      c.clock = 5000;
      assert.equal(await running, "timeout");
      assert.deepEqual(c.log.filter((l) => l.includes("silent")), [
        "a silent 5000",
        "b silent 5000",
      ]);
    });
    await t.step("one stream receives: the silent one is reported, the run goes on", async () => {
      const c = clocked({ single: false, timeoutS: 5, packets: 3 });
      const a = watchAt("a", randomRtpPort());
      const b = watchAt("b", randomRtpPort(), "239.21.0.2");
      await c.reception.add(a);
      await c.reception.add(b);
      const running = c.reception.run();
      for (let seq = 0; seq < 5; seq++) a.onDatagram(mp2tPacket(seq, 1, 0), 100 + seq);
      c.clock = 6000;
      await waitUntil(() => c.log.includes("b silent 6000"), 3000, "b reported");
      assert.ok(!c.log.some((l) => l.startsWith("a silent")));
      for (let seq = 0; seq < 3; seq++) b.onDatagram(mp2tPacket(seq, 2, 0), 6100 + seq);
      // --packets is checked after each batch: one datagram on a's socket ends the run now.
      const conn = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
      try {
        await conn.send(mp2tPacket(9, 1, 0), {
          transport: "udp",
          hostname: a.target.group,
          port: a.target.port,
        });
      } finally {
        conn.close();
      }
      assert.equal(await running, "done");
      assert.equal(c.reception.received, true);
    });
  },
});

Deno.test({
  name: "Reception counts --timeout from run(), not from before a long negotiation",
  ignore: !inPrivateNetns(),
  async fn() {
    const c = clocked({ timeoutS: 5 });
    c.clock = 60_000; // the negotiation took a minute
    await c.reception.add(watchAt("slow", randomRtpPort()));
    const running = c.reception.run();
    let ended = false;
    running.then(() => (ended = true));
    c.clock = 64_000;
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few ticks
    assert.equal(ended, false, "4 s into the run: not yet");
    assert.equal(c.reception.startMs, 60_000);
    c.clock = 65_000;
    assert.equal(await running, "timeout");
  },
});
