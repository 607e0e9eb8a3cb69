// Tests of lib/server/receiver_store.ts: the last report and running totals of each receiver, the
// per-stream and global caps, age expiry, the order of the list and the per-stream aggregates.
import assert from "node:assert/strict";
import { ReceiverStore } from "../../lib/server/receiver_store.ts";
import { parseReport, type ValidReport } from "../../lib/server/report_validation.ts";
import { sampleReport } from "../../scripts/support/sample_report.ts";

function report(body: Record<string, unknown>, stream = "news"): ValidReport {
  return parseReport(new TextEncoder().encode(JSON.stringify(body)), stream);
}

function stats(time: number, figures: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "stats",
    time: `t${time}`,
    packets: 100,
    expected: 100,
    lost: 0,
    state: "receiving",
    ...figures,
  };
}

Deno.test("ReceiverStore keeps the last period and the client's totals of two receivers", () => {
  let now = Date.UTC(2026, 11, 1, 10, 0, 0);
  const store = new ReceiverStore({ now: () => now });
  store.put("news", "10.0.0.1", report(sampleReport("probe-1")));
  now += 5000;
  store.put("news", "10.0.0.2", report(sampleReport("probe-2")));
  store.put("news", "10.0.0.1", report(sampleReport("probe-1")));
  const list = store.list("news");
  assert.deepEqual(list.map((r) => [r.id, r.address, r.reports]), [
    ["probe-1", "10.0.0.1", 2],
    ["probe-2", "10.0.0.2", 1],
  ]);
  const first = list[0]!;
  assert.equal(first.firstReportAt, "2026-12-01T10:00:00.000Z");
  assert.equal(first.lastReportAt, "2026-12-01T10:00:05.000Z");
  assert.equal(first.state, "receiving");
  // Period: records of 190 + 190 packets, lost 0 + 10; jitter the highest; bitrate the mean.
  assert.deepEqual(
    [first.packets, first.expected, first.lost, first.duplicates, first.reordered],
    [380, 390, 10, 2, 0],
  );
  assert.equal(first.fractionLost, 10 / 390);
  assert.equal(first.jitterMs, 2.054);
  assert.equal(first.bitrateBps, 2000001.5);
  assert.equal(first.ts?.ccErrors, 4, "the TS counters of both intervals");
  assert.deepEqual(first.ts?.pids, [{ pid: 256, ccErrors: 4 }], "the PIDs with errors, summed");
  assert.deepEqual(first.total, {
    packets: 5000,
    expected: 5020,
    lost: 20,
    fractionLost: 20 / 5020,
    duplicates: 1,
    reordered: 0,
    stalls: 1,
    stalledS: 2.5,
    durationS: 26.3,
    ts: { ...first.total.ts!, ccErrors: 2 },
  });
  assert.deepEqual(store.list("sport"), []);
});

Deno.test("ReceiverStore keeps its own totals for reports without a summary, counting stalls", () => {
  const store = new ReceiverStore();
  const put = (records: Record<string, unknown>[]) =>
    store.put("news", "::1", report({ receiverId: "r", records }));
  put([stats(1), stats(2, { lost: 3, expected: 103, state: "stalled" })]);
  put([stats(3, { state: "stalled", packets: 0, expected: 0 }), stats(4, { duplicates: 2 })]);
  put([stats(5, { state: "stalled", packets: 0, expected: 0 })]);
  const [receiver] = store.list("news");
  assert.equal(receiver!.state, "stalled");
  assert.deepEqual(
    [
      receiver!.total.packets,
      receiver!.total.lost,
      receiver!.total.duplicates,
      receiver!.total.stalls,
    ],
    [300, 3, 2, 2],
  );
});

Deno.test("ReceiverStore tells receivers apart by id and address, and lists stalled and lossy ones first", () => {
  const store = new ReceiverStore();
  store.put("news", "10.0.0.1", report({ receiverId: "a", records: [stats(1)] }));
  store.put(
    "news",
    "10.0.0.2",
    report({ receiverId: "a", records: [stats(1, { lost: 5, expected: 105 })] }),
  );
  store.put(
    "news",
    "10.0.0.3",
    report({ receiverId: "c", records: [stats(1, { state: "stalled" })] }),
  );
  store.put("news", "10.0.0.4", report({ receiverId: "b", records: [stats(1)] }));
  assert.deepEqual(store.list("news").map((r) => `${r.id}@${r.address}`), [
    "c@10.0.0.3",
    "a@10.0.0.2",
    "a@10.0.0.1",
    "b@10.0.0.4",
  ]);
  const aggregate = store.aggregates().get("news")!;
  assert.deepEqual(aggregate, {
    receivers: 4,
    withLoss: 1,
    stalled: 1,
    withContinuityErrors: 0,
    worstFractionLost: 5 / 105,
    worstJitterMs: 0,
  });
});

Deno.test("ReceiverStore replaces the longest silent receiver beyond its caps", async (t) => {
  await t.step("per stream", () => {
    const store = new ReceiverStore({ maxReceiversPerStream: 3 });
    for (const id of ["a", "b", "c"]) {
      store.put("news", "h", report({ receiverId: id, records: [] }));
    }
    store.put("news", "h", report({ receiverId: "a", records: [] })); // a reported again
    store.put("news", "h", report({ receiverId: "d", records: [] }));
    assert.deepEqual(store.list("news").map((r) => r.id), ["a", "c", "d"]);
    store.put("sport", "h", report({ receiverId: "x", records: [] }, "sport"));
    assert.equal(store.size, 4, "other streams are not affected");
    assert.deepEqual(store.forgotten, { cap: 1, age: 0 });
  });
  await t.step("in all", () => {
    const store = new ReceiverStore({ maxReceivers: 2, maxReceiversPerStream: 1 });
    store.put("a", "h", report({ receiverId: "1", records: [] }, "a"));
    store.put("b", "h", report({ receiverId: "2", records: [] }, "b"));
    store.put("c", "h", report({ receiverId: "3", records: [] }, "c"));
    assert.deepEqual(store.list("a"), []);
    assert.equal(store.list("c").length, 1);
    store.put("c", "h", report({ receiverId: "4", records: [] }, "c"));
    assert.deepEqual(store.list("c").map((r) => r.id), ["4"]);
    assert.equal(store.size, 2);
    assert.deepEqual([...store.aggregates().keys()].sort(), ["b", "c"]);
  });
});

Deno.test("ReceiverStore forgets a receiver silent for longer than its maximum age", () => {
  let now = 0;
  const store = new ReceiverStore({ maxAgeS: 60, now: () => now });
  store.put("news", "h", report({ receiverId: "old", records: [] }));
  now = 30_000;
  store.put("news", "h", report({ receiverId: "new", records: [] }));
  now = 60_000;
  assert.equal(store.list("news").length, 2, "exactly the maximum age is kept");
  now = 60_001;
  assert.deepEqual(store.list("news").map((r) => r.id), ["new"]);
  now = 90_001;
  assert.deepEqual(store.aggregates(), new Map());
  assert.deepEqual(store.forgotten, { cap: 0, age: 2 });
  assert.equal(store.size, 0);
});

Deno.test("ReceiverStore keeps a thousand receivers of a stream in a few MB", async () => {
  const script = new URL("../../scripts/bench/receiver_store_memory.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--v8-flags=--expose-gc", script.pathname, "--receivers", "1000"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const figures = new TextDecoder().decode(stdout).trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(figures.map((f) => f.name), [
    "server.receiver_store_mb_per_1000",
    "server.receiver_store_mb_per_1000_worst",
  ]);
  for (const figure of figures) {
    assert.ok(figure.value > 0.1 && figure.value < 5, `${figure.value} MB`);
  }
});
