// Tests of lib/client/streams_table.ts: the several-streams table fits 60, 80 and 120 columns, puts
// stalled and lossy streams first, shows raw UDP streams and streams still waiting, and ends with a
// TR 101 290 health line per MPEG-TS stream.
import assert from "node:assert/strict";
import { renderStreams } from "../../lib/client/streams_table.ts";
import type { IntervalEntry } from "../../lib/client/reception.ts";
import { StreamWatch } from "../../lib/client/stream_watch.ts";
import { stripControls, visibleLength } from "../../lib/client/terminal_text.ts";
import { writeRtpHeader } from "../../lib/rtp/writer.ts";
import { muxRun } from "../support/ts_packets.ts";
import { mp2tTarget } from "../support/receiver_fixtures.ts";

function rtp(payload: Uint8Array, seq: number, ssrc: number): Uint8Array {
  const packet = new Uint8Array(12 + payload.length);
  writeRtpHeader(packet, {
    payloadType: 33,
    marker: false,
    sequenceNumber: seq,
    timestamp: seq * 450,
    ssrc,
  });
  packet.set(payload, 12);
  return packet;
}

/** Four streams at 10 s: "news" clean, "sport-hd-channel-long" lossy with CC errors, "radio"
 * stalled since 5 s, "raw" raw UDP, "idle" waiting. */
function entries(): IntervalEntry[] {
  const run = muxRun({ bitrate: 2_000_000 }, 10);
  const make = (name: string, group: string) =>
    new StreamWatch({
      name,
      target: mp2tTarget({ group }),
      sources: [],
      stallAfterMs: 1000,
      startMs: 0,
    });
  const news = make("news", "239.1.1.1");
  const sport = make("sport-hd-channel-long", "239.1.1.2");
  const radio = make("radio", "239.1.1.3");
  const raw = make("raw", "239.1.1.4");
  const idle = make("idle", "239.1.1.5");
  const watches = [news, sport, radio, raw, idle];
  let intervalTaken = false;
  run.datagrams.forEach((d, i) => {
    const at = run.timesMs[i]!;
    if (at >= 9000 && !intervalTaken) {
      for (const w of watches) w.takeInterval(9000);
      intervalTaken = true;
    }
    news.onDatagram(rtp(d, i, 0x1111), at);
    if (i % 29 !== 5) sport.onDatagram(rtp(d, i, 0x2222), at);
    if (at < 5000) radio.onDatagram(rtp(d, i, 0x3333), at);
    raw.onDatagram(d, at);
  });
  return watches.map((watch) => {
    watch.tick(10_000);
    return {
      watch,
      interval: watch.takeInterval(10_000),
      total: watch.snapshot(10_000),
      status: watch.status(10_000),
    };
  });
}

const health = (entry: IntervalEntry) =>
  entry.watch.ts.active ? entry.watch.ts.totals(entry.total.atMs) : undefined;

Deno.test("renderStreams() fits 60, 80 and 120 columns with the unhealthy streams first", async (t) => {
  for (const columns of [60, 80, 120]) {
    await t.step(`${columns} columns`, () => {
      const text = renderStreams(entries(), health, {
        columns,
        rows: 40,
        stallAfterS: 1,
        elapsedS: 10,
      });
      const lines = text.trimEnd().split("\n");
      if (Deno.env.get("SHOW_TABLE")) console.log(text);
      for (const line of lines) assert.ok(visibleLength(line) < columns, `${line} (${columns})`);
      assert.match(lines[0]!, /^5 streams {2}3 receiving {2}1 STALLED {2}1 waiting {2}10 s$/);
      assert.match(lines[1]!, /^stream +(SSRC +)?packets +lost +loss%/);
      const rows = lines.slice(2, 7);
      assert.deepEqual(rows.map((r) => r.split(/ +/)[0]!.replace("…", "").slice(0, 5)), [
        "radio",
        "sport",
        "idle",
        "news",
        "raw",
      ]);
      assert.match(rows[0]!, /STALLED$/);
      assert.match(rows[1]!, /LOSS$/);
      assert.match(rows[2]!, /waiting$/);
      assert.match(rows[4]!, / ok$/);
      if (columns >= 80) {
        assert.match(rows[4]!, /^raw +udp +\d+ +0 +0\.00 /, "raw UDP: no SSRC, lost from CC");
        assert.match(rows[1]!, /0x00002222 +\d+ +[1-9]/);
        assert.match(rows[3]!, / 2\.0\d /, "the interval's rate");
      }
      assert.match(lines[7]!, /^invalid 0 {2}filtered by source 0 {2}socket drops -/);
      const healthLines = lines.slice(8);
      assert.equal(healthLines.length, 4, "one per MPEG-TS stream; none for the idle one");
      assert.match(healthLines[0]!, /^sport-hd-channel-long {2}TS 1\.4 CC \d+$/);
      assert.deepEqual(healthLines.slice(1).map((l) => l.split("  ")[1]), [
        "TS OK",
        "TS OK",
        "TS OK",
      ]);
    });
  }
});

Deno.test("renderStreams() keeps to the terminal's height and says what it left out", () => {
  const text = renderStreams(entries(), health, {
    columns: 80,
    rows: 8,
    stallAfterS: 1,
    elapsedS: 10,
  });
  const lines = text.trimEnd().split("\n");
  assert.ok(lines.length <= 7, text);
  assert.ok(lines.some((l) => /… and \d+ more rows/.test(l)), text);
  assert.match(lines[2]!, /^radio .*STALLED$/, "the unhealthy stream is still shown");
});

Deno.test("renderStreams() says how the run ended in its final form, in colour when asked", () => {
  const text = renderStreams(entries(), health, {
    columns: 120,
    stallAfterS: 1,
    elapsedS: 10,
    final: true,
    color: true,
  });
  assert.match(stripControls(text.split("\n")[0]!), /^5 streams {2}STALLED AT END {2}3 receiving/);
  assert.ok(text.includes("\x1b[31mSTALLED"), "red");
  assert.match(renderStreams([], health, { stallAfterS: 1, elapsedS: 0 }), /\(no streams\)/);
});
