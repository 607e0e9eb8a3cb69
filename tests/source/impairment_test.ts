// Tests of lib/source/impairment.ts: seeded determinism, scripted interactions (held packet whose
// successor is dropped, duplicated and reordered, end-of-stream flush), and exact truth counters
// checked against a simulated RFC 3550 receiver on long runs with all impairments combined.

import assert from "node:assert/strict";
import { mulberry32 } from "../../lib/common/prng.ts";
import {
  createImpairPlan,
  Impairer,
  type ImpairmentCounters,
  type ImpairmentOptions,
} from "../../lib/source/impairment.ts";
import { assertCountsMatch } from "../support/impairment_truth.ts";

/** Runs `count` packets (indices 0…count-1) through an impairer; returns the arrival order. */
function simulate(
  options: ImpairmentOptions,
  count: number,
): { arrivals: number[]; counters: ImpairmentCounters; plans: string[] } {
  const impairer = new Impairer(options);
  const plan = createImpairPlan();
  const arrivals: number[] = [];
  const plans: string[] = [];
  let held = -1;
  for (let k = 0; k < count; k++) {
    const wasHolding = impairer.holding;
    impairer.decide(plan);
    assert.ok(!(plan.hold && wasHolding), "at most one packet is held");
    plans.push(`${plan.currentCopies}${plan.heldCopies}${plan.hold ? "h" : "-"}`);
    for (let i = 0; i < plan.currentCopies; i++) arrivals.push(k);
    for (let i = 0; i < plan.heldCopies; i++) arrivals.push(held);
    if (plan.hold) held = k;
    assert.equal(impairer.holding, plan.hold || (wasHolding && plan.heldCopies === 0));
  }
  for (let i = impairer.flush(); i > 0; i--) arrivals.push(held);
  assert.equal(impairer.flush(), 0, "flush is idempotent");
  return { arrivals, counters: impairer.snapshot(), plans };
}

/** The receiver's counts from `arrivals` equal the counters, and sent = unique + duplicates. */
function assertReceiverAgrees(arrivals: number[], counters: ImpairmentCounters): void {
  assertCountsMatch(arrivals, counters);
  assert.equal(counters.sent, counters.generated - counters.dropped + counters.duplicated);
}

Deno.test("mulberry32() is deterministic per seed and uniform in [0, 1)", () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const c = mulberry32(43);
  let sum = 0;
  let differs = 0;
  for (let i = 0; i < 10_000; i++) {
    const x = a();
    assert.equal(x, b());
    assert.ok(x >= 0 && x < 1);
    if (x !== c()) differs++;
    sum += x;
  }
  assert.ok(differs > 9_900);
  assert.ok(Math.abs(sum / 10_000 - 0.5) < 0.02);
});

Deno.test("Impairer makes the same decisions for the same seed", () => {
  const options = { loss: 0.1, duplicate: 0.1, reorder: 0.1, seed: 7 };
  const first = simulate(options, 5_000);
  const second = simulate(options, 5_000);
  assert.deepEqual(second.plans, first.plans);
  assert.deepEqual(second.arrivals, first.arrivals);
  assert.deepEqual(second.counters, first.counters);
  const other = simulate({ ...options, seed: 8 }, 5_000);
  assert.notDeepEqual(other.plans, first.plans);
});

Deno.test("Impairer decisions for packet k do not depend on the other probabilities", () => {
  // Three draws per packet whatever happens: the loss pattern stays put when reorder changes.
  const lossOnly = simulate({ loss: 0.2, seed: 99 }, 2_000);
  const combined = simulate({ loss: 0.2, duplicate: 0.3, reorder: 0.3, seed: 99 }, 2_000);
  const missing = (arrivals: number[]) => {
    const set = new Set(arrivals);
    return Array.from({ length: 2_000 }, (_, k) => k).filter((k) => !set.has(k));
  };
  assert.deepEqual(missing(combined.arrivals), missing(lossOnly.arrivals));
});

Deno.test("Impairer counters equal what a receiver counts on long combined runs", async (t) => {
  const cases = [
    { loss: 0, duplicate: 0, reorder: 0 },
    { loss: 0.01, duplicate: 0.01, reorder: 0.01 },
    { loss: 0.1, duplicate: 0.1, reorder: 0.1 },
    { loss: 0.3, duplicate: 0.2, reorder: 0.5 },
    { loss: 0.5, duplicate: 0.5, reorder: 0.9 },
    { loss: 0, duplicate: 1, reorder: 1 },
    { loss: 0.9, duplicate: 0, reorder: 1 },
    { loss: 1, duplicate: 1, reorder: 1 },
  ];
  for (const probabilities of cases) {
    for (const warmup of [0, 2]) {
      await t.step(`${JSON.stringify(probabilities)} warmup ${warmup}`, () => {
        for (const seed of [1, 2, 0xdeadbeef]) {
          const count = 20_000;
          const { arrivals, counters } = simulate({ ...probabilities, seed, warmup }, count);
          assert.equal(counters.generated, count);
          assertReceiverAgrees(arrivals, counters);
          // The probabilities are applied: observed rates are close to the requested ones.
          const { loss, duplicate } = probabilities;
          assert.ok(Math.abs(counters.dropped / count - loss) < 0.02, `loss ${counters.dropped}`);
          const kept = count - counters.dropped;
          if (kept > 1_000) {
            assert.ok(Math.abs(counters.duplicated / kept - duplicate) < 0.03, "duplicate rate");
          }
          if (probabilities.reorder > 0 && kept > 1_000) assert.ok(counters.reordered > 0);
        }
      });
    }
  }
});

/** Scripted draws: per packet "L" lost, "D" duplicated, "R" reorder, "-" nothing. */
function scripted(script: string[]): () => number {
  const draws = script.flatMap((flags) => [
    flags.includes("L") ? 0 : 0.99,
    flags.includes("D") ? 0 : 0.99,
    flags.includes("R") ? 0 : 0.99,
  ]);
  let i = 0;
  return () => {
    assert.ok(i < draws.length, "script exhausted");
    return draws[i++]!;
  };
}

Deno.test("Impairer handles interactions between impairments exactly", async (t) => {
  const cases: {
    name: string;
    script: string[];
    arrivals: number[];
    counters: Partial<ImpairmentCounters>;
  }[] = [
    {
      name: "a held packet is sent after its successor",
      script: ["R", "-", "-"],
      arrivals: [1, 0, 2],
      counters: { sent: 3, reordered: 1, dropped: 0 },
    },
    {
      name: "a held packet whose successor is dropped waits for the next packet sent",
      script: ["-", "R", "L", "-"],
      arrivals: [0, 3, 1],
      counters: { sent: 3, reordered: 1, dropped: 1, lost: 1 },
    },
    {
      name: "a duplicated and reordered packet arrives late once, then as a duplicate",
      script: ["RD", "-"],
      arrivals: [1, 0, 0],
      counters: { sent: 3, reordered: 1, duplicated: 1 },
    },
    {
      name: "the successor of a held packet is duplicated before the held one",
      script: ["R", "D"],
      arrivals: [1, 1, 0],
      counters: { sent: 3, reordered: 1, duplicated: 1 },
    },
    {
      name: "a reorder draw while a packet is held is ignored (that packet is sent at once)",
      script: ["R", "R", "R"],
      arrivals: [1, 0, 2],
      counters: { sent: 3, reordered: 1 },
    },
    {
      name: "a packet held at the end is flushed in order, not reordered",
      script: ["-", "R"],
      arrivals: [0, 1],
      counters: { sent: 2, reordered: 0 },
    },
    {
      name: "a duplicated packet held at the end is flushed twice",
      script: ["-", "RD", "L"],
      arrivals: [0, 1, 1],
      counters: { sent: 3, reordered: 0, duplicated: 1, dropped: 1, lost: 0 },
    },
    {
      name: "drops before the first and after the last packet kept are not lost",
      script: ["L", "L", "-", "L", "-", "L"],
      arrivals: [2, 4],
      counters: { sent: 2, dropped: 4, lost: 1 },
    },
    {
      name: "everything dropped: nothing sent, nothing lost",
      script: ["L", "L"],
      arrivals: [],
      counters: { sent: 0, dropped: 2, lost: 0 },
    },
  ];
  for (const c of cases) {
    await t.step(c.name, () => {
      const { arrivals, counters } = simulate(
        { loss: 0.5, duplicate: 0.5, reorder: 0.5, seed: 0, warmup: 0, random: scripted(c.script) },
        c.script.length,
      );
      assert.deepEqual(arrivals, c.arrivals);
      assert.deepEqual({ ...counters, ...c.counters }, counters);
      assertReceiverAgrees(arrivals, counters);
    });
  }
});

Deno.test("Impairer passes the warmup packets unimpaired", () => {
  const { arrivals, counters } = simulate(
    {
      loss: 1,
      duplicate: 1,
      reorder: 1,
      seed: 0,
      warmup: 3,
      random: scripted(["LDR", "LDR", "LDR", "L"]),
    },
    4,
  );
  assert.deepEqual(arrivals, [0, 1, 2]);
  assert.equal(counters.dropped, 1);
  assert.equal(counters.lost, 0);
});

Deno.test("Impairer rejects probabilities outside [0, 1] and bad seeds", async (t) => {
  const cases: [string, ImpairmentOptions, RegExp][] = [
    ["loss above 1", { loss: 1.5, seed: 1 }, /loss must be a probability/],
    ["negative duplicate", { duplicate: -0.1, seed: 1 }, /duplicate must be/],
    ["NaN reorder", { reorder: NaN, seed: 1 }, /reorder must be/],
    ["fractional seed", { seed: 1.5 }, /seed must be an integer/],
    ["negative warmup", { seed: 1, warmup: -1 }, /warmup must be/],
  ];
  for (const [name, options, pattern] of cases) {
    await t.step(name, () => assert.throws(() => new Impairer(options), pattern));
  }
});
