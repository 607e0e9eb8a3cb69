// Independent checks of an impaired sender's truth report (RFC 3550 A.1, A.3): what a receiver
// counts from the order datagrams arrived in, and the order the seeded decisions predict.
import assert from "node:assert/strict";
import {
  createImpairPlan,
  Impairer,
  type ImpairmentCounters,
} from "../../lib/source/impairment.ts";

/**
 * What an RFC 3550 receiver counts from arrivals (A.1 without probation, A.3 lost), as indices from
 * the first sequence number: unique packets, duplicates (seen before), late packets (below the
 * highest already received), lost.
 */
export function receiverCounts(indices: number[]) {
  const seen = new Set<number>();
  let highest = -1;
  let lowest = Infinity;
  let duplicates = 0;
  let late = 0;
  for (const k of indices) {
    if (seen.has(k)) {
      duplicates++;
      continue;
    }
    seen.add(k);
    if (k < highest) late++;
    highest = Math.max(highest, k);
    lowest = Math.min(lowest, k);
  }
  const expected = seen.size === 0 ? 0 : highest - lowest + 1;
  return { unique: seen.size, duplicates, late, lost: expected - seen.size };
}

/** Asserts that the truth counters equal what a receiver counts from `indices`. */
export function assertCountsMatch(indices: number[], truth: ImpairmentCounters): void {
  const counts = receiverCounts(indices);
  assert.equal(indices.length, truth.sent, "datagrams received = sent");
  assert.equal(counts.unique, truth.generated - truth.dropped);
  assert.equal(counts.duplicates, truth.duplicated);
  assert.equal(counts.late, truth.reordered);
  assert.equal(counts.lost, truth.lost);
}

/** Arrival order (packet indices) the impairer produces for `count` packets: the expectation. */
export function expectedOrder(options: ConstructorParameters<typeof Impairer>[0], count: number) {
  const impairer = new Impairer(options);
  const plan = createImpairPlan();
  const order: number[] = [];
  let held = -1;
  for (let k = 0; k < count; k++) {
    impairer.decide(plan);
    for (let i = 0; i < plan.currentCopies; i++) order.push(k);
    for (let i = 0; i < plan.heldCopies; i++) order.push(held);
    if (plan.hold) held = k;
  }
  for (let i = impairer.flush(); i > 0; i--) order.push(held);
  return order;
}
