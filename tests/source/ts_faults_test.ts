// Tests of lib/source/ts_faults.ts and the muxer's fault injection (lib/source/ts_muxer.ts): the
// schedule is validated, faults keep the constant bitrate, and each lands where it is scheduled.

import assert from "node:assert/strict";
import { TS } from "../../lib/ts/constants.ts";
import { inWindow, RepeatedSchedule, validateFaults } from "../../lib/source/ts_faults.ts";
import { TS_LAYOUT, TsMuxer } from "../../lib/source/ts_muxer.ts";
import { headerOf, muxRun } from "../support/ts_packets.ts";

Deno.test("validateFaults() names the first bad option", async (t) => {
  const cases: [string, Parameters<typeof validateFaults>[0], RegExp][] = [
    ["negative time", { ccSkips: { atMs: -1, count: 1 } }, /ccSkips.atMs/],
    ["fractional count", { transportErrors: { atMs: 0, count: 1.5 } }, /transportErrors.count/],
    ["zero spacing", { crcErrors: { atMs: 0, count: 2, everyMs: 0 } }, /crcErrors.everyMs/],
    [
      "unknown table",
      { crcErrors: { atMs: 0, count: 1, table: "nit" as "pat" } },
      /crcErrors.table/,
    ],
    ["window without duration", { patGaps: [{ atMs: 0, durationMs: Number.NaN }] }, /patGaps\[0\]/],
    [
      "jump of no size",
      { pcrJumps: [{ atMs: 0, jumpMs: Number.POSITIVE_INFINITY }] },
      /pcrJumps\[0\]/,
    ],
  ];
  for (const [name, faults, message] of cases) {
    await t.step(name, () => {
      assert.throws(() => validateFaults(faults), message);
      assert.throws(() => new TsMuxer({ bitrate: 1_000_000, faults }), message);
    });
  }
  validateFaults({});
});

Deno.test("RepeatedSchedule and inWindow() follow mux time", () => {
  const s = new RepeatedSchedule({ atMs: 100, count: 2, everyMs: 50 });
  assert.ok(!s.due(99) && s.due(100));
  s.apply();
  assert.ok(!s.due(149) && s.due(150));
  s.apply();
  assert.ok(!s.due(1e9));
  assert.equal(s.applied, 2);
  assert.ok(
    inWindow([{ atMs: 10, durationMs: 5 }], 10) && !inWindow([{ atMs: 10, durationMs: 5 }], 15),
  );
  assert.ok(!inWindow(undefined, 0));
});

Deno.test("Faults keep the stream's constant bitrate and land on their PIDs", () => {
  const clean = muxRun({ bitrate: 1_000_000 }, 4);
  const faulty = muxRun({
    bitrate: 1_000_000,
    faults: {
      ccSkips: { atMs: 1000, count: 3 },
      transportErrors: { atMs: 1000, count: 4 },
      patGaps: [{ atMs: 2000, durationMs: 600 }],
      audioGaps: [{ atMs: 3000, durationMs: 500 }],
    },
  }, 4);
  assert.equal(faulty.datagrams.length, clean.datagrams.length);
  const tei = new Map<number, number>();
  let patsInGap = 0;
  let audioInGap = 0;
  const packetMs = (TS.PACKET_SIZE * 8 * 1000) / 1_000_000;
  faulty.datagrams.forEach((d, i) => {
    for (let k = 0; k < 7; k++) {
      const t = faulty.timesMs[i]! + k * packetMs;
      const { pid } = headerOf(d, k);
      if (d[k * TS.PACKET_SIZE + 1]! & 0x80) tei.set(pid, (tei.get(pid) ?? 0) + 1);
      if (pid === TS.PAT_PID && t >= 2000 && t < 2600) patsInGap++;
      // A PES in progress when the gap opens is finished first (a few ms).
      if (pid === TS_LAYOUT.AUDIO_PID && t >= 3010 && t < 3500) audioInGap++;
    }
  });
  assert.deepEqual([...tei], [[TS_LAYOUT.AUDIO_PID, 4]]);
  assert.equal(patsInGap, 0);
  assert.equal(audioInGap, 0, "no audio and no PCR in the audio gap");
  assert.equal(faulty.truth.ccErrors, 3);
  assert.equal(faulty.truth.transportErrors, 4);
  assert.equal(faulty.truth.packets, faulty.datagrams.length * 7);
});

Deno.test("The SDT can be switched off, and names that do not fit are refused", () => {
  const run = muxRun({ bitrate: 1_000_000, sdt: false }, 1);
  assert.ok(
    run.datagrams.every((d) => [0, 1, 2, 3, 4, 5, 6].every((k) => headerOf(d, k).pid !== 0x11)),
  );
  assert.throws(
    () => new TsMuxer({ bitrate: 1_000_000, sdt: { serviceName: "é".repeat(40) } }),
    /at most 64/,
  );
});
