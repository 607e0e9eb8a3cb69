// Tests of lib/ts/pcr_tracker.ts: 2.3b PCR_discontinuity_indicator_error (ETSI TR 101 290 §5.2.2)
// and the PCR drift and jitter against arrival time reported in place of 2.4.

import assert from "node:assert/strict";
import { mulberry32 } from "../../lib/common/prng.ts";
import { TS } from "../../lib/ts/constants.ts";
import { PcrTracker } from "../../lib/ts/pcr_tracker.ts";

const TICKS_PER_MS = 27_000;

Deno.test("PcrTracker measures a sender clock running 80 ppm fast through arrival jitter", () => {
  const random = mulberry32(80);
  const tracker = new PcrTracker(4, 100);
  const start = TS.PCR_MODULO - 5_000 * TICKS_PER_MS; // wraps 5 s in
  for (let ms = 0; ms <= 20_000; ms += 30) {
    const pcr = Math.round(start + ms * (1 + 80e-6) * TICKS_PER_MS) % TS.PCR_MODULO;
    tracker.onPcr(1, pcr, ms + random() * 2, false);
  }
  const { driftPpm, jitterMs } = tracker.drift(1, false);
  assert.ok(Math.abs(driftPpm! - 80) < 5, `${driftPpm} ppm`);
  assert.ok(jitterMs! > 1.5 && jitterMs! < 2 + 20_000 * 80e-6 + 0.1, `${jitterMs} ms`);
  assert.equal(tracker.errors, 0, "the wrap is no discontinuity");
});

Deno.test("PcrTracker: 2.3b outside 0...100 ms unless flagged; each restarts the drift", () => {
  const tracker = new PcrTracker(2, 100);
  const at = (ms: number) => ms * TICKS_PER_MS;
  tracker.onPcr(0, at(0), 0, false);
  tracker.onPcr(0, at(100), 100, false); // exactly 100 ms: inside the range
  tracker.onPcr(0, at(201), 201, false); // 101 ms: error
  tracker.onPcr(0, at(150), 230, false); // backwards: error
  tracker.onPcr(0, at(9000), 260, true); // flagged: fine
  tracker.onPcr(0, at(9030), 290, false);
  assert.equal(tracker.errors, 2);
  assert.deepEqual(tracker.drift(0, false), { driftPpm: null, jitterMs: 0 }, "30 ms since restart");
  assert.deepEqual(tracker.drift(1, false), { driftPpm: null, jitterMs: null }, "no PCR");
  tracker.reset(0);
  tracker.onPcr(0, at(0), 300, false); // after reset: a first PCR, no comparison
  assert.equal(tracker.errors, 2);
});
