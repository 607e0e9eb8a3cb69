// Tests lib/sap/schedule.ts with injected time: announcements spread over the interval, each stream
// once per interval, deletions at once for removed and re-described streams and at shutdown.
import assert from "node:assert/strict";
import { AnnouncementSchedule, MIN_SAP_SPACING_MS, type SapSend } from "../../lib/sap/schedule.ts";
import { parseSapHeader } from "../../lib/sap/packet.ts";
import type { StreamDefinition } from "../../lib/sdp/stream.ts";
import { Catalog } from "../../lib/server/catalog.ts";

function streams(count: number, extra: Partial<StreamDefinition> = {}): StreamDefinition[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `s${i}`,
    description: `Stream ${i}`,
    address: `239.255.0.${i + 1}`,
    port: 5004,
    ttl: 1,
    formats: [{ payloadType: 33, encoding: "MP2T", clockRate: 90000 }],
    ...extra,
  }));
}

/** Runs the schedule from `fromMs` to `toMs` the way the announcer does; returns what was sent. */
function run(schedule: AnnouncementSchedule, fromMs: number, toMs: number) {
  const sent: { atMs: number; send: SapSend }[] = [];
  let now = fromMs;
  while (true) {
    const send = schedule.due(now);
    if (send !== undefined) {
      sent.push({ atMs: now, send });
      continue;
    }
    const next = schedule.nextDueMs();
    if (next === undefined || next > toMs) return sent;
    now = Math.max(now, next);
  }
}

Deno.test("AnnouncementSchedule spreads five streams over 5 s: one packet a second, each once", () => {
  const schedule = new AnnouncementSchedule({ intervalMs: 5000 });
  const catalog = new Catalog(streams(5), { nowS: 1 });
  const update = schedule.update(catalog.entries(), 0);
  assert.deepEqual(update.deletions, []);
  assert.equal(schedule.spacingMs, 1000);
  const sent = run(schedule, 0, 19_999);
  assert.deepEqual(sent.map((s) => s.atMs), Array.from({ length: 20 }, (_, i) => i * 1000));
  for (let i = 0; i < 5; i++) {
    const times = sent.filter((s) => s.send.announcement.name === `s${i}`).map((s) => s.atMs);
    assert.deepEqual(times, [0, 5000, 10_000, 15_000].map((t) => t + i * 1000));
  }
  assert.ok(sent.every((s) => s.send.kind === "announce"));
  assert.deepEqual(schedule.snapshot().map((s) => s.announcements), [4, 4, 4, 4, 4]);
});

Deno.test("AnnouncementSchedule skips missed slots instead of bursting", () => {
  const schedule = new AnnouncementSchedule({ intervalMs: 1000 });
  schedule.update(new Catalog(streams(2), { nowS: 1 }).entries(), 0);
  assert.ok(schedule.due(0) !== undefined);
  // The loop was asleep for 10 s: one packet now, the next a slot later.
  assert.ok(schedule.due(10_000) !== undefined);
  assert.equal(schedule.due(10_000), undefined);
  assert.equal(schedule.nextDueMs(), 10_500);
});

Deno.test("AnnouncementSchedule keeps 10 ms between packets when the streams are many", () => {
  const schedule = new AnnouncementSchedule({ intervalMs: 1000 });
  schedule.update(new Catalog(streams(200), { nowS: 1 }).entries(), 0);
  assert.equal(schedule.spacingMs, MIN_SAP_SPACING_MS);
  const hashes = new Set(schedule.snapshot().map((s) => s.hash));
  assert.equal(hashes.size, 200, "every stream of one origin has its own hash");
});

Deno.test("AnnouncementSchedule deletes a removed stream at once and announces a new one next", () => {
  const schedule = new AnnouncementSchedule({ intervalMs: 3000 });
  const first = new Catalog(streams(3), { nowS: 1 });
  schedule.update(first.entries(), 0);
  run(schedule, 0, 1500);
  const [s0, s1] = first.entries();
  const added = { ...streams(1)[0]!, name: "fresh", address: "239.255.1.1" };
  const second = new Catalog([s0!.stream, s1!.stream, added], { nowS: 2, previous: first });
  const update = schedule.update(second.entries(), 1600);
  assert.deepEqual(update.deletions.map((d) => [d.kind, d.announcement.name]), [["delete", "s2"]]);
  assert.equal(parseSapHeader(update.deletions[0]!.announcement.delete).messageType, "delete");
  assert.equal(schedule.due(1600)?.announcement.name, "fresh");
  assert.deepEqual(schedule.snapshot().map((s) => s.name).sort(), ["fresh", "s0", "s1"]);
});

Deno.test("AnnouncementSchedule re-announces a re-described stream with a new hash, deleting the old", () => {
  const schedule = new AnnouncementSchedule({ intervalMs: 5000 });
  const first = new Catalog(streams(2), { nowS: 100 });
  schedule.update(first.entries(), 0);
  const oldHash = schedule.snapshot().find((s) => s.name === "s1")!.hash;
  const changed = streams(2);
  changed[1] = { ...changed[1]!, port: 6000 };
  const second = new Catalog(changed, { nowS: 200, previous: first });
  const update = schedule.update(second.entries(), 10);
  assert.deepEqual(update.deletions.map((d) => [d.announcement.name, d.announcement.hash]), [[
    "s1",
    oldHash,
  ]]);
  const next = schedule.due(10)!;
  assert.equal(next.announcement.name, "s1");
  assert.equal(next.announcement.version, 200);
  assert.notEqual(next.announcement.hash, oldHash);
  // An unchanged catalog changes nothing.
  const same = schedule.update(new Catalog(changed, { nowS: 300, previous: second }).entries(), 20);
  assert.deepEqual(same.deletions, []);
});

Deno.test("AnnouncementSchedule refuses what it cannot announce and warns about 239/8", () => {
  const schedule = new AnnouncementSchedule();
  const catalog = new Catalog([
    ...streams(1, { address: "239.0.0.1" }),
    { ...streams(1)[0]!, name: "v6", address: "ff15::1", ttl: 0 },
  ], { nowS: 1 });
  const update = schedule.update(catalog.entries(), 0);
  assert.deepEqual(update.refused.map((e) => e.stream), ["v6"]);
  assert.match(update.warnings.join("\n"), /239\.0\.0\.1 is in 239\.0\.0\.0\/8/);
  assert.deepEqual(schedule.snapshot().map((s) => [s.name, s.group]), [["s0", "224.2.127.254"]]);
});

Deno.test("AnnouncementSchedule.clear() returns a deletion for every stream and stops", () => {
  const schedule = new AnnouncementSchedule();
  schedule.update(new Catalog(streams(3), { nowS: 1 }).entries(), 0);
  const deletions = schedule.clear();
  assert.deepEqual(deletions.map((d) => [d.kind, d.announcement.name]).sort(), [
    ["delete", "s0"],
    ["delete", "s1"],
    ["delete", "s2"],
  ]);
  assert.equal(schedule.nextDueMs(), undefined);
  assert.equal(schedule.due(1e9), undefined);
});

Deno.test("AnnouncementSchedule rejects a non-positive interval", () => {
  assert.throws(() => new AnnouncementSchedule({ intervalMs: 0 }), RangeError);
  assert.throws(() => new AnnouncementSchedule({ intervalMs: Number.NaN }), RangeError);
});
