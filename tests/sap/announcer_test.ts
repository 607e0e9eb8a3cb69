// Tests lib/sap/announcer.ts with an injected clock and a recording transport: the packets it sends
// and when, deletions on update and close, and send failures counted without stopping it.
import assert from "node:assert/strict";
import { type AnnouncerClock, SapAnnouncer } from "../../lib/sap/announcer.ts";
import { parseSapHeader } from "../../lib/sap/packet.ts";
import type { SapDestination, SapTransport } from "../../lib/sap/sender.ts";
import type { StreamDefinition } from "../../lib/sdp/stream.ts";
import { Catalog } from "../../lib/server/catalog.ts";

/** A clock whose timers fire only when the test advances it. */
class ManualClock implements AnnouncerClock {
  nowMs = 0;
  #timers = new Map<number, { at: number; callback: () => void }>();
  #next = 1;
  now(): number {
    return this.nowMs;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.nowMs + ms, callback });
    return id;
  }
  clearTimeout(id: unknown): void {
    this.#timers.delete(id as number);
  }
  /** Moves time to `toMs`, firing due timers in order and letting the announcer run after each. */
  async advance(toMs: number): Promise<void> {
    while (true) {
      const due = [...this.#timers.entries()].filter(([, t]) => t.at <= toMs)
        .sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.#timers.delete(due[0]);
      this.nowMs = due[1].at;
      due[1].callback();
      await settle();
    }
    this.nowMs = toMs;
    await settle();
  }
}

/** Lets pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

class RecordingTransport implements SapTransport {
  sent: { atMs: number; type: string; hash: number; to: SapDestination }[] = [];
  failing = false;
  closed = false;
  constructor(readonly clock: ManualClock) {}
  send(packet: Uint8Array, to: SapDestination): Promise<void> {
    if (this.failing) return Promise.reject(new Error("Network is unreachable"));
    const header = parseSapHeader(packet);
    this.sent.push({ atMs: this.clock.nowMs, type: header.messageType, hash: header.hash, to });
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const streams: StreamDefinition[] = ["a", "b"].map((name, i) => ({
  name,
  description: "",
  address: `239.255.0.${i + 1}`,
  port: 5004,
  ttl: i + 2,
  formats: [{ payloadType: 33, encoding: "MP2T", clockRate: 90000 }],
}));

Deno.test("SapAnnouncer sends each stream once per interval, spread, with the stream's TTL", async () => {
  const clock = new ManualClock();
  const transport = new RecordingTransport(clock);
  const { announcer } = SapAnnouncer.start(new Catalog(streams, { nowS: 1 }).entries(), {
    intervalMs: 1000,
    clock,
    transport,
  });
  await settle();
  await clock.advance(2999);
  assert.deepEqual(transport.sent.map((s) => [s.atMs, s.to.ttl]), [
    [0, 2],
    [500, 3],
    [1000, 2],
    [1500, 3],
    [2000, 2],
    [2500, 3],
  ]);
  assert.ok(transport.sent.every((s) => s.type === "announce" && s.to.group === "239.255.255.255"));
  await announcer.close();
  assert.deepEqual(transport.sent.slice(6).map((s) => s.type), ["delete", "delete"]);
  assert.ok(transport.closed);
  assert.equal(announcer.snapshot().counters.announcements, 6);
  assert.equal(announcer.snapshot().counters.deletions, 2);
});

Deno.test("SapAnnouncer.update() sends a deletion for a removed stream before anything else", async () => {
  const clock = new ManualClock();
  const transport = new RecordingTransport(clock);
  const first = new Catalog(streams, { nowS: 1 });
  const { announcer } = SapAnnouncer.start(first.entries(), { intervalMs: 1000, clock, transport });
  await settle();
  await clock.advance(700);
  const hashOfB = transport.sent.find((s) => s.to.ttl === 3)!.hash;
  await clock.advance(800);
  const update = await announcer.update(
    new Catalog([streams[0]!], { nowS: 2, previous: first }).entries(),
  );
  assert.deepEqual(update.deletions.map((d) => d.announcement.name), ["b"]);
  const last = transport.sent.at(-1)!;
  assert.deepEqual([last.atMs, last.type, last.hash], [800, "delete", hashOfB]);
  await clock.advance(3000);
  assert.ok(transport.sent.filter((s) => s.atMs > 800).every((s) => s.to.ttl === 2));
  await announcer.close();
  await announcer.close();
  assert.equal(transport.sent.filter((s) => s.type === "delete").length, 2);
});

Deno.test("SapAnnouncer counts send failures and keeps announcing", async () => {
  const clock = new ManualClock();
  const transport = new RecordingTransport(clock);
  transport.failing = true;
  const { announcer } = SapAnnouncer.start(new Catalog(streams, { nowS: 1 }).entries(), {
    intervalMs: 1000,
    clock,
    transport,
  });
  await settle();
  await clock.advance(1600);
  assert.equal(announcer.snapshot().counters.sendErrors, 4);
  assert.equal(announcer.snapshot().counters.lastError, "Network is unreachable");
  transport.failing = false;
  await clock.advance(2100);
  assert.equal(transport.sent.length, 1);
  await announcer.close();
});
