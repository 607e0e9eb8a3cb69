// deno-lint-ignore-file no-control-regex -- these tests match the SGR colour sequences
// Tests of lib/client/pid_table.ts: the PID table's rows (role, stream type, packets, the interval's
// bitrate, CC errors, scrambling), its fit to the width, the summed-up rest, and which source's PIDs
// are shown.
import assert from "node:assert/strict";
import { pidTableSource, renderPidTable } from "../../lib/client/pid_table.ts";
import { stripControls } from "../../lib/client/terminal_text.ts";
import type { TsPidSnapshot, TsSnapshot } from "../../lib/ts/ts_report.ts";

function pid(fields: Partial<TsPidSnapshot> & { pid: number }): TsPidSnapshot {
  return {
    role: "unreferenced",
    streamType: null,
    streamTypeId: null,
    packets: 0,
    bitrateBps: 0,
    ccErrors: 0,
    scrambled: false,
    pcr: false,
    ...fields,
  };
}

function snapshot(pids: TsPidSnapshot[], packets = 0): TsSnapshot {
  return { packets, pids } as unknown as TsSnapshot;
}

const TOTAL = snapshot([
  pid({ pid: 0, role: "PAT", packets: 50, bitrateBps: 10_000 }),
  pid({
    pid: 0x100,
    role: "video",
    streamType: "H.264 video",
    streamTypeId: 0x1b,
    packets: 9000,
    bitrateBps: 3_000_000,
    ccErrors: 4,
    pcr: true,
  }),
  pid({
    pid: 0x101,
    role: "audio",
    streamType: "AAC audio (ADTS)",
    streamTypeId: 0x0f,
    packets: 700,
    bitrateBps: 128_000,
    scrambled: true,
  }),
  pid({ pid: 0x1000, role: "PMT", packets: 50, bitrateBps: 10_000 }),
]);
const INTERVAL = snapshot([pid({ pid: 0x100, bitrateBps: 4_500_000 })]);

Deno.test("renderPidTable() shows each PID's role, type, packets, interval rate, CC errors, scrambling", () => {
  const text = renderPidTable("PIDs of tv (SSRC 0x00000001)", TOTAL, INTERVAL, { columns: 79 });
  assert.equal(
    text,
    [
      "PIDs of tv (SSRC 0x00000001)",
      "PID    role         stream type                     packets  Mbit/s CC err  scr",
      "0x0000 PAT          -                                    50    0.00      0   no",
      "0x0100 video+PCR    0x1b H.264 video                   9000    4.50      4   no",
      "0x0101 audio        0x0f AAC audio (ADTS)               700    0.00      0  yes",
      "0x1000 PMT          -                                    50    0.00      0   no",
      "",
    ].join("\n"),
  );
  // Without an interval, the rate over the run.
  assert.match(renderPidTable("t", TOTAL, undefined, { columns: 79 }), /^0x0100 .* 3\.00 +4 +no$/m);
});

Deno.test("renderPidTable() fits narrow terminals, colours errors and sums up the rows beyond the limit", () => {
  const narrow = renderPidTable("PIDs of a stream with a long name", TOTAL, INTERVAL, {
    columns: 60,
    maxRows: 2,
  });
  for (const line of narrow.trimEnd().split("\n")) assert.ok([...line].length <= 60, line);
  assert.match(narrow, /^0x0100 video\+PCR +0x1b H\.2… +9000 +4\.50 +4 +no$/m);
  assert.match(narrow, /^PID +role +stream t… +packets +Mbit\/s +CC err +scr$/m);
  assert.match(narrow, /^\+2 more PIDs: 750 packets, 0 CC errors$/m);
  const colour = renderPidTable("t", TOTAL, INTERVAL, { columns: 79, color: true });
  assert.match(colour, /\x1b\[31m +4\x1b\[0m/, "CC errors in red");
  assert.match(colour, /\x1b\[33m +yes\x1b\[0m/, "scrambled in yellow");
  assert.equal(stripControls(colour), renderPidTable("t", TOTAL, INTERVAL, { columns: 79 }));
  assert.match(renderPidTable("t", snapshot([]), undefined), /\(no PID seen yet\)/);
});

Deno.test("pidTableSource() takes the source with the most TS packets in the interval", () => {
  const totals = new Map([[1, TOTAL], [2, TOTAL], [3, TOTAL]]);
  assert.equal(pidTableSource(new Map([[1, snapshot([], 5)], [2, snapshot([], 70)]]), totals), 2);
  assert.equal(pidTableSource(new Map(), totals), 3, "else the last one reported");
  assert.equal(pidTableSource(new Map(), new Map()), undefined);
});
