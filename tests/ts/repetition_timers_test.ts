// Tests of lib/ts/repetition_timers.ts: the counting rule of the ETSI TR 101 290 repetition
// indicators (1.3, 1.5, 1.6, 2.3a, 2.5): ⌈gap / limit⌉ − 1 errors per gap, counted as time passes.

import assert from "node:assert/strict";
import { RepetitionTimers } from "../../lib/ts/repetition_timers.ts";

Deno.test("RepetitionTimers counts one error per whole limit elapsed, as soon as it elapses", () => {
  const timers = new RepetitionTimers(4, 500);
  timers.start(2, 0);
  for (
    const [now, errors] of <[number, number][]> [[500, 0], [500.001, 1], [999, 1], [1000, 1], [
      1001,
      2,
    ], [2600, 5]]
  ) {
    timers.check(now);
    assert.equal(timers.errors, errors, `at ${now} ms`);
  }
  timers.hit(2, 2600);
  timers.check(3000);
  assert.equal(timers.errors, 5, "an occurrence starts a new gap");
  assert.ok(timers.nextDueMs > 3000 && timers.nextDueMs <= 3100);
});

Deno.test("RepetitionTimers watches only started slots and forgets stopped ones", () => {
  const timers = new RepetitionTimers(4, 100);
  timers.hit(0, 0);
  timers.start(1, 0);
  timers.start(3, 0);
  timers.stop(1);
  timers.stop(1);
  timers.check(250);
  assert.equal(timers.errors, 2, "slot 3 only");
  assert.ok(!timers.isActive(0) && !timers.isActive(1) && timers.isActive(3));
  timers.start(1, 250);
  timers.check(260);
  assert.equal(timers.errors, 2);
});

Deno.test("RepetitionTimers stays constant-time for absurd gaps", () => {
  const timers = new RepetitionTimers(1, 0.001);
  timers.start(0, 0);
  const started = performance.now();
  timers.check(1e15);
  const errors = timers.errors;
  assert.ok(Number.isFinite(errors) && errors >= 1e17, `${errors}`);
  assert.ok(performance.now() - started < 50);
  timers.check(Number.NaN);
  assert.equal(timers.errors, errors);
});
