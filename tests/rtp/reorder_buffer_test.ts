// Tests of lib/rtp/reorder_buffer.ts: payloads back in RFC 3550 sequence order within the window,
// duplicates dropped, gaps left after the wait or when the window is full, the 16-bit wrap, a
// sender restart, and random arrival orders against a sorted reference.
import { SEQUENCE_LIMITS } from "../../lib/rtp/sequence.ts";
import assert from "node:assert/strict";
import { mulberry32 } from "../../lib/common/prng.ts";
import { ReorderBuffer } from "../../lib/rtp/reorder_buffer.ts";

/** A buffer whose output is the first payload byte pair read back as the sequence number. */
function recorder(options: { capacity?: number; windowMs?: number } = {}) {
  const out: number[] = [];
  const buffer = new ReorderBuffer({
    ...options,
    emit: (payload) => out.push((payload[0]! << 8) | payload[1]!),
  });
  const push = (seq: number, atMs = 0) =>
    buffer.push(seq, Uint8Array.of((seq >> 8) & 0xff, seq & 0xff, 0x47), atMs);
  return { out, buffer, push };
}

Deno.test("ReorderBuffer hands on packets in order, puts a late one back in place, drops duplicates", async (t) => {
  const cases: {
    name: string;
    arrivals: number[];
    out: number[];
    duplicates: number;
    reordered: number;
  }[] = [
    {
      name: "in order",
      arrivals: [10, 11, 12, 13],
      out: [10, 11, 12, 13],
      duplicates: 0,
      reordered: 0,
    },
    {
      name: "one late by one",
      arrivals: [10, 12, 11, 13],
      out: [10, 11, 12, 13],
      duplicates: 0,
      reordered: 1,
    },
    {
      name: "late by three",
      arrivals: [10, 12, 13, 14, 11],
      out: [10, 11, 12, 13, 14],
      duplicates: 0,
      reordered: 1,
    },
    {
      name: "a held duplicate",
      arrivals: [10, 12, 12, 11],
      out: [10, 11, 12],
      duplicates: 1,
      reordered: 1,
    },
    {
      name: "a duplicate handed on",
      arrivals: [10, 11, 11, 12],
      out: [10, 11, 12],
      duplicates: 1,
      reordered: 0,
    },
    {
      name: "across the wrap",
      arrivals: [65534, 0, 65535, 1],
      out: [65534, 65535, 0, 1],
      duplicates: 0,
      reordered: 1,
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const { out, buffer, push } = recorder();
      for (const seq of c.arrivals) push(seq);
      assert.deepEqual(out, c.out);
      assert.equal(buffer.counts().duplicates, c.duplicates);
      assert.equal(buffer.counts().reordered, c.reordered);
      assert.equal(buffer.held, 0);
    });
  }
});

Deno.test("ReorderBuffer leaves a gap once the packet after it waited the window", () => {
  const { out, buffer, push } = recorder({ windowMs: 100 });
  push(1, 0);
  push(3, 10);
  push(4, 20);
  buffer.flush(105); // 3 has waited 95 ms
  assert.deepEqual(out, [1]);
  buffer.flush(110);
  assert.deepEqual(out, [1, 3, 4]);
  assert.equal(buffer.counts().missing, 1);
  // 2 comes after its place was given up: dropped as late, never written out of order.
  push(2, 120);
  push(5, 121);
  assert.deepEqual(out, [1, 3, 4, 5]);
  assert.deepEqual(buffer.counts(), {
    released: 4,
    reordered: 0,
    duplicates: 0,
    late: 1,
    missing: 1,
    restarts: 0,
  });
});

Deno.test("ReorderBuffer gives up the oldest places when a packet lands beyond a full window", () => {
  const { out, buffer, push } = recorder({ capacity: 8 });
  push(0);
  for (let seq = 2; seq <= 9; seq++) push(seq); // 1 lost; 9 is 8 ahead of the missing 1
  assert.deepEqual(out, [0, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(buffer.counts().missing, 1);
});

Deno.test("ReorderBuffer treats a jump beyond MAX_DROPOUT as a restart: what it held goes first", () => {
  const { out, buffer, push } = recorder();
  push(100);
  push(102);
  push(100 + SEQUENCE_LIMITS.MAX_DROPOUT + 10);
  push(100 + SEQUENCE_LIMITS.MAX_DROPOUT + 11);
  assert.deepEqual(out, [100, 102, 3110, 3111]);
  assert.equal(buffer.counts().restarts, 1);
  buffer.push(7, new Uint8Array(0), 0);
  assert.equal(buffer.counts().late, 1, "an old number after the restart is late");
});

Deno.test("ReorderBuffer drain() hands on everything held in order and starts over", () => {
  const { out, buffer, push } = recorder();
  push(50);
  push(53);
  push(52);
  buffer.drain();
  assert.deepEqual(out, [50, 52, 53]);
  push(9); // a new source's numbering
  assert.deepEqual(out, [50, 52, 53, 9]);
});

Deno.test("ReorderBuffer copies payloads: a receive buffer reused after push() changes nothing", () => {
  const out: string[] = [];
  const buffer = new ReorderBuffer({ emit: (p) => out.push(new TextDecoder().decode(p)) });
  const shared = new Uint8Array(4);
  for (const [seq, text] of [[1, "aaaa"], [3, "cccc"], [2, "bbbb"]] as const) {
    shared.set(new TextEncoder().encode(text));
    buffer.push(seq, shared, 0);
  }
  assert.deepEqual(out, ["aaaa", "bbbb", "cccc"]);
});

Deno.test("ReorderBuffer on random arrival orders: output strictly in order, each number once", () => {
  for (let run = 0; run < 50; run++) {
    const random = mulberry32(run + 1);
    const start = Math.floor(random() * 65536);
    const count = 2000;
    // Each packet is delayed by up to 20 positions, some are lost, some duplicated.
    const arrivals: { seq: number; at: number }[] = [];
    for (let i = 0; i < count; i++) {
      if (i > 0 && random() < 0.02) continue;
      const at = i === 0 ? -1 : i + random() * 20; // the first one sets where the output starts
      arrivals.push({ seq: (start + i) & 0xffff, at });
      if (random() < 0.02) arrivals.push({ seq: (start + i) & 0xffff, at: at + random() * 30 });
    }
    arrivals.sort((a, b) => a.at - b.at);
    const out: number[] = [];
    const buffer = new ReorderBuffer({
      windowMs: 25,
      emit: (p) => out.push((p[0]! << 8) | p[1]!),
    });
    for (const a of arrivals) {
      buffer.push(a.seq, Uint8Array.of(a.seq >> 8, a.seq & 0xff), a.at);
      buffer.flush(a.at);
    }
    buffer.drain();
    const unwrapped = out.map((s) => (s - start + 65536) & 0xffff);
    for (let i = 1; i < unwrapped.length; i++) {
      assert.ok(unwrapped[i]! > unwrapped[i - 1]!, `run ${run}: out of order at ${i}`);
    }
    const unique = new Set(arrivals.map((a) => a.seq));
    const c = buffer.counts();
    assert.equal(c.released, out.length);
    assert.equal(c.released, unique.size, `run ${run}: every number handed on once`);
    assert.equal(c.duplicates, arrivals.length - unique.size, `run ${run}: every copy dropped`);
    assert.equal(c.late, 0, `run ${run}: a 25 ms window holds 20 positions of delay`);
  }
});
