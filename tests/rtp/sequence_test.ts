// Tests of lib/sequence.ts: the RFC 3550 Appendix A.1 sequence state machine (probation, wrap,
// late pre-wrap packets, large jumps and restarts) and its duplicate-detection window.

import assert from "node:assert/strict";
import {
  DUPLICATE_WINDOW,
  SEQUENCE_LIMITS,
  SequenceResult,
  SequenceTracker,
} from "../../lib/rtp/sequence.ts";
import { mulberry32 } from "../../lib/common/prng.ts";

const {
  PROBATION,
  VALIDATED,
  IN_ORDER,
  REORDERED,
  DUPLICATE,
  BAD,
  RESTART,
} = SequenceResult;

function feed(tracker: SequenceTracker, seqs: readonly number[]): number[] {
  return seqs.map((seq) => tracker.update(seq));
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => (from + i) & 0xffff);
}

Deno.test("SEQUENCE_LIMITS holds the RFC 3550 A.1 constants", () => {
  assert.deepEqual(SEQUENCE_LIMITS, {
    MIN_SEQUENTIAL: 2,
    MAX_DROPOUT: 3000,
    MAX_MISORDER: 100,
    RTP_SEQ_MOD: 65536,
  });
  assert.ok(DUPLICATE_WINDOW > SEQUENCE_LIMITS.MAX_MISORDER);
});

Deno.test("SequenceTracker keeps a source on probation until two sequential packets", () => {
  const tracker = new SequenceTracker();
  assert.equal(tracker.update(500), PROBATION);
  assert.equal(tracker.valid, false);
  assert.equal(tracker.expected, 0);
  assert.equal(tracker.received, 0);
  assert.equal(tracker.update(501), VALIDATED);
  assert.equal(tracker.valid, true);
  assert.equal(tracker.baseSeq, 500, "the probation run counts from its first packet");
  assert.equal(tracker.extendedMax, 501);
  assert.equal(tracker.expected, 2);
  assert.equal(tracker.received, 2);
});

Deno.test("SequenceTracker restarts probation when the run breaks", () => {
  const tracker = new SequenceTracker();
  assert.deepEqual(feed(tracker, [10, 20]), [PROBATION, PROBATION]);
  assert.equal(tracker.runLength, 1);
  assert.equal(tracker.update(21), VALIDATED);
  assert.equal(tracker.baseSeq, 20);
  assert.equal(tracker.expected, 2);
});

Deno.test("SequenceTracker counts an in-order stream without loss", () => {
  const tracker = new SequenceTracker();
  const results = feed(tracker, range(1000, 1000));
  assert.deepEqual(results.slice(0, 3), [PROBATION, VALIDATED, IN_ORDER]);
  assert.ok(results.slice(2).every((r) => r === IN_ORDER));
  assert.equal(tracker.expected, 1000);
  assert.equal(tracker.received, 1000);
  assert.equal(tracker.extendedMax, 1999);
  assert.equal(tracker.cycles, 0);
});

Deno.test("SequenceTracker wraps 65535 → 0 into the extended sequence number", async (t) => {
  await t.step("wrap after validation", () => {
    const tracker = new SequenceTracker();
    feed(tracker, range(65530, 20));
    assert.equal(tracker.cycles, 1);
    assert.equal(tracker.maxSeq, 13);
    assert.equal(tracker.extendedMax, 65536 + 13);
    assert.equal(tracker.expected, 20);
    assert.equal(tracker.received, 20);
  });
  await t.step("wrap inside the probation run", () => {
    const tracker = new SequenceTracker();
    assert.deepEqual(feed(tracker, [65535, 0, 1]), [PROBATION, VALIDATED, IN_ORDER]);
    assert.equal(tracker.baseSeq, 65535);
    assert.equal(tracker.extendedMax, 65537);
    assert.equal(tracker.cycles, 1);
    assert.equal(tracker.expected, 3);
  });
  await t.step("wrap with a gap", () => {
    const tracker = new SequenceTracker();
    feed(tracker, [65500, 65501, 10]);
    assert.equal(tracker.extendedMax, 65546);
    assert.equal(tracker.expected, 47);
    assert.equal(tracker.received, 3);
  });
});

Deno.test("SequenceTracker takes a late pre-wrap packet after a wrap without adding 65 536", () => {
  const tracker = new SequenceTracker();
  feed(tracker, [65533, 65534, 0, 1, 2]);
  assert.equal(tracker.extendedMax, 65538);
  assert.equal(tracker.update(65535), REORDERED);
  assert.equal(tracker.lastExtended, 65535);
  assert.equal(tracker.extendedMax, 65538, "the highest number did not move");
  assert.equal(tracker.cycles, 1);
  assert.equal(tracker.expected, 6);
  assert.equal(tracker.received, 6);
  assert.equal(tracker.update(65535), DUPLICATE, "the same late packet again is a duplicate");
  assert.equal(tracker.update(3), IN_ORDER);
  assert.equal(tracker.extendedMax, 65539);
});

Deno.test("SequenceTracker tells duplicates from late packets", async (t) => {
  await t.step("duplicate of the highest", () => {
    const tracker = new SequenceTracker();
    feed(tracker, [1, 2, 3]);
    assert.equal(tracker.update(3), DUPLICATE);
    assert.equal(tracker.received, 3);
  });
  await t.step("duplicate of an older packet", () => {
    const tracker = new SequenceTracker();
    feed(tracker, range(1, 50));
    assert.equal(tracker.update(7), DUPLICATE);
    assert.equal(tracker.update(1), DUPLICATE, "the probation packets are marked as seen");
    assert.equal(tracker.received, 50);
  });
  await t.step("late packet filling a gap, then its duplicate", () => {
    const tracker = new SequenceTracker();
    feed(tracker, [1, 2, 4, 5]);
    assert.equal(tracker.expected, 5);
    assert.equal(tracker.received, 4);
    assert.equal(tracker.update(3), REORDERED);
    assert.equal(tracker.received, 5);
    assert.equal(tracker.update(3), DUPLICATE);
    assert.equal(tracker.received, 5);
  });
  await t.step("late packet before the base is not counted as received", () => {
    const tracker = new SequenceTracker();
    feed(tracker, [10, 11, 12]);
    assert.equal(tracker.update(9), REORDERED);
    assert.equal(tracker.expected, 3);
    assert.equal(tracker.received, 3, "received may not exceed expected");
    assert.equal(tracker.update(9), DUPLICATE);
  });
});

Deno.test("SequenceTracker clears window slots the highest number moved past", async (t) => {
  await t.step("jump shorter than the window", () => {
    const tracker = new SequenceTracker();
    feed(tracker, range(1, 60));
    assert.equal(tracker.update(2100), IN_ORDER);
    // 2060 shares its slot with 12 (2060 − 2048), which was seen: must not read as a duplicate.
    assert.equal(tracker.update(2060), REORDERED);
    assert.equal(tracker.update(2060), DUPLICATE);
  });
  await t.step("jump at least as long as the window", () => {
    const tracker = new SequenceTracker();
    feed(tracker, range(1, 60));
    assert.equal(tracker.update(2110), IN_ORDER);
    // 2060 and 2061 share slots with 12 and 13 (−2048), which were seen before the jump.
    assert.equal(tracker.update(2060), REORDERED);
    assert.equal(tracker.update(2061), REORDERED);
    assert.equal(tracker.expected, 2110);
    assert.equal(tracker.received, 63);
  });
});

Deno.test("SequenceTracker discards an unconfirmed large jump", () => {
  const tracker = new SequenceTracker();
  feed(tracker, range(1, 10));
  assert.equal(tracker.update(20000), BAD);
  assert.equal(tracker.update(11), IN_ORDER);
  assert.equal(tracker.update(30000), BAD);
  assert.equal(tracker.update(20001), BAD, "continues an older BAD packet, not the latest");
  assert.equal(tracker.restarts, 0);
  assert.equal(tracker.expected, 11);
  assert.equal(tracker.received, 11);
});

Deno.test("SequenceTracker resyncs after a confirmed large jump without false loss", async (t) => {
  await t.step("jump forward", () => {
    const tracker = new SequenceTracker();
    feed(tracker, range(1, 100));
    assert.deepEqual(feed(tracker, [40000, 40001, 40002]), [BAD, RESTART, IN_ORDER]);
    assert.equal(tracker.restarts, 1);
    assert.equal(tracker.baseSeq, 40000);
    assert.equal(tracker.extendedMax, 40002);
    assert.equal(tracker.expected, 103);
    assert.equal(tracker.received, 103);
  });
  await t.step("jump backwards (sender restarted from 0)", () => {
    const tracker = new SequenceTracker();
    feed(tracker, range(30000, 100));
    assert.deepEqual(feed(tracker, [0, 1]), [BAD, RESTART]);
    assert.equal(tracker.expected, 102);
    assert.equal(tracker.received, 102);
  });
  await t.step("restart across a wrap", () => {
    const tracker = new SequenceTracker();
    feed(tracker, range(20000, 10));
    assert.deepEqual(feed(tracker, [65535, 0, 1]), [BAD, RESTART, IN_ORDER]);
    assert.equal(tracker.baseSeq, 65535);
    assert.equal(tracker.extendedMax, 65537);
    assert.equal(tracker.expected, 13);
  });
  await t.step("loss after the restart still counts", () => {
    const tracker = new SequenceTracker();
    feed(tracker, range(1, 10));
    feed(tracker, [50000, 50001, 50005]);
    assert.equal(tracker.expected, 16);
    assert.equal(tracker.received, 13);
  });
});

Deno.test("SequenceTracker matches a set-based model on a lossy, duplicating, reordering network", async (t) => {
  for (const seed of [1, 2, 3, 4]) {
    await t.step(`seed ${seed}`, () => {
      const random = mulberry32(seed);
      const start = 60000 + Math.floor(random() * 5000); // crosses at least one wrap
      const sent = 20000;
      // Deliver extended numbers: 2% lost, 3% duplicated, 5% delayed by up to 60 packets.
      const delivered: number[] = [start, start + 1];
      const delayed: { ext: number; due: number }[] = [];
      for (let ext = start + 2; ext < start + sent; ext++) {
        for (let i = delayed.length - 1; i >= 0; i--) {
          if (delayed[i]!.due <= ext) delivered.push(delayed.splice(i, 1)[0]!.ext);
        }
        const r = random();
        if (r < 0.02) continue;
        if (r < 0.07) {
          delayed.push({ ext, due: ext + 1 + Math.floor(random() * 60) });
          continue;
        }
        delivered.push(ext);
        if (random() < 0.03) delivered.push(ext);
      }
      const tracker = new SequenceTracker();
      const unique = new Set<number>();
      let highest = -1;
      let duplicates = 0;
      let reordered = 0;
      for (const ext of delivered) {
        const result = tracker.update(ext & 0xffff);
        if (unique.has(ext)) {
          duplicates++;
          assert.equal(result, DUPLICATE, `ext ${ext}`);
        } else if (ext < highest) {
          reordered++;
          assert.equal(result, REORDERED, `ext ${ext}`);
          assert.equal(tracker.lastExtended - tracker.baseSeq, ext - start);
        }
        unique.add(ext);
        highest = Math.max(highest, ext);
      }
      assert.ok(duplicates > 100 && reordered > 100, "the scenario exercised both");
      assert.equal(tracker.extendedMax - tracker.baseSeq, highest - start);
      assert.equal(tracker.expected, highest - start + 1);
      assert.equal(tracker.received, unique.size);
      assert.equal(tracker.cycles, Math.floor(highest / 65536) - Math.floor(start / 65536));
    });
  }
});
