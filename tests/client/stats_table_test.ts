// deno-lint-ignore-file no-control-regex -- these tests match the SGR colour sequences
// Tests of lib/client/stats_table.ts: the live table fits 60, 80 and 120 columns, marks unhealthy
// figures in colour and in text, keeps recent sources visible as ended, and its final form says how
// the run ended.
import assert from "node:assert/strict";
import { ReceiverStats } from "../../lib/rtp/session_stats.ts";
import { MAX_SOURCE_ROWS, renderTable } from "../../lib/client/stats_table.ts";
import { stripControls, visibleLength } from "../../lib/client/terminal_text.ts";
import { mp2tPacket, viewContext } from "../support/receiver_fixtures.ts";

const context = viewContext({
  interfaceName: "any interface",
  formats: [{ payloadType: 33, encoding: "MP2T", clockRate: 90000 }],
  elapsedS: 12,
  stalls: 1,
  stalledS: 2.5,
});

/** An MP2T datagram timestamped 5 ms a sequence number (the sources below arrive 10 ms apart). */
function packet(seq: number, ssrc: number): Uint8Array {
  return mp2tPacket(seq, ssrc, seq * 450);
}

/** Source A sends 0-3 s with 1 loss and is followed at 5 s by source B (an SSRC change), which sends to 9 s. */
function twoSources(): ReceiverStats {
  const stats = new ReceiverStats({ clockRates: new Map([[33, 90000]]) });
  for (let i = 0; i < 300; i++) if (i !== 7) stats.onDatagram(packet(i, 0xaaaa), i * 10);
  stats.takeInterval(3000);
  for (let i = 0; i < 400; i++) stats.onDatagram(packet(1000 + i, 0xbbbb), 5000 + i * 10);
  return stats;
}

Deno.test("renderTable() fits every line in the width and keeps the essential figures", async (t) => {
  for (const columns of [40, 60, 80, 96, 120]) {
    await t.step(`${columns} columns`, () => {
      const stats = twoSources();
      const text = renderTable(stats.snapshot(9000), stats.takeInterval(9000), context, {
        columns,
      });
      const lines = text.trimEnd().split("\n");
      for (const line of lines) {
        assert.ok(visibleLength(line) < columns, `${visibleLength(line)} ≥ ${columns}: ${line}`);
      }
      assert.equal(lines.filter((l) => l.startsWith("239.0.0.1 port 5004")).length, 1);
      if (columns < 60) {
        // Narrower than the essential columns: rows are cut cleanly, not wrapped.
        assert.ok(lines.some((l) => /^0x0000aaaa +33 +299 .*…$/.test(l)), text);
        return;
      }
      assert.match(lines[1]!, /SSRC +PT +packets +lost +loss%/);
      const a = lines.find((l) => l.startsWith("0x0000aaaa"));
      const b = lines.find((l) => l.startsWith("0x0000bbbb"));
      assert.match(a ?? "", /^0x0000aaaa +33 +299 +1 +0\.33 .* ended$/);
      assert.match(b ?? "", /^0x0000bbbb +33 +400 +0 +0\.00 .* ok$/);
      if (columns >= 80) {
        assert.match(lines[1]!, /dup +reord +disc +jit ms +Mbit\/s/, "80 columns keep these");
      }
      if (columns >= 120) assert.match(lines[1]!, /wire Mbit\/s +pkt\/s/);
    });
  }
});

Deno.test("renderTable() marks unhealthy figures with colour and with a word that survives without it", () => {
  const stats = new ReceiverStats();
  for (let i = 0; i < 100; i++) if (i % 10 !== 3) stats.onDatagram(packet(i, 0xcc), i * 10);
  const plain = renderTable(stats.snapshot(1000), stats.takeInterval(1000), context);
  assert.doesNotMatch(plain, /\x1b\[/, "no control sequences without colour");
  assert.match(plain, /^0x000000cc +33 +90 +10 +10\.00 .* LOSS$/m);
  const stats2 = new ReceiverStats();
  for (let i = 0; i < 100; i++) if (i % 10 !== 3) stats2.onDatagram(packet(i, 0xcc), i * 10);
  const colored = renderTable(stats2.snapshot(1000), stats2.takeInterval(1000), context, {
    color: true,
  });
  assert.match(colored, /\x1b\[31m +10\x1b\[0m/, "lost in red");
  assert.match(colored, /\x1b\[31mLOSS/, "state in red");
  assert.match(colored, /\x1b\[32mRECEIVING/, "receiving in green");
  assert.equal(stripControls(colored), plain, "colour adds nothing but SGR sequences");
});

Deno.test("renderTable() shows a stall as STALLED and a final table without RECEIVING", () => {
  const stats = new ReceiverStats();
  for (let i = 0; i < 100; i++) stats.onDatagram(packet(i, 0xdd), i * 10);
  stats.takeInterval(1000);
  const stalled = renderTable(stats.snapshot(4000), stats.takeInterval(4000), {
    ...context,
    state: "stalled",
  });
  assert.match(stalled.split("\n")[0]!, /STALLED {2}12 s {2}stalls 1 \(2\.5 s\)/);
  assert.match(stalled, /^0x000000dd .* STALLED$/m);
  const final = renderTable(stats.snapshot(4000), stats.snapshot(4000), {
    ...context,
    state: "stalled",
    final: true,
  });
  assert.doesNotMatch(final, /RECEIVING/);
  assert.match(final.split("\n")[0]!, /STALLED AT END/);
  assert.match(final, /^0x000000dd .* ended$/m);
  // Rates of the final table are averages over the time the source was sending (1 s), not 4 s.
  // 100 packets 10 ms apart: 100 × 1316 × 8 bit / 1 s = 1.05 Mbit/s, 100 packets/s.
  assert.match(
    final,
    /^0x000000dd +33 +100 +0 +0\.00 +0 +0 +0 +\d+\.\d\d +1\.05 +1\.08 +100 ended$/m,
  );
  const done = renderTable(stats.snapshot(1000), stats.snapshot(1000), {
    ...context,
    final: true,
  });
  assert.match(done.split("\n")[0]!, /DONE/);
});

Deno.test("renderTable() keeps to the terminal height and the row limit, most recent sources first", () => {
  const stats = new ReceiverStats();
  for (let s = 0; s < 12; s++) {
    for (let i = 0; i < 5; i++) stats.onDatagram(packet(i, 0x100 + s), s * 1000 + i * 10);
  }
  const text = renderTable(stats.snapshot(12_000), stats.takeInterval(12_000), context);
  const rows = text.split("\n").filter((l) => l.startsWith("0x"));
  assert.equal(rows.length, MAX_SOURCE_ROWS);
  assert.ok(rows.at(-1)!.startsWith("0x0000010b"), "the newest source is shown");
  assert.match(text, /… and 4 older sources/);
  const short = renderTable(stats.snapshot(12_000), stats.snapshot(12_000), context, { rows: 8 });
  assert.ok(short.trimEnd().split("\n").length <= 7, short);
});
