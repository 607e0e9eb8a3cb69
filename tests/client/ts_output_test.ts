// Tests of lib/client/ts_output.ts: the `--output` of one stream follows one source (a new one takes
// over after OUTPUT_TAKEOVER_PACKETS in a row), puts RTP back in order, writes raw UDP as received
// and counts what the sink had no room for.
import assert from "node:assert/strict";
import { OUTPUT_TAKEOVER_PACKETS, TsOutput } from "../../lib/client/ts_output.ts";

/** A sink that records the first byte of each write (the test's packet label), `room` writes at most. */
function sink(room = Infinity) {
  const written: number[] = [];
  return {
    written,
    write(bytes: Uint8Array): boolean {
      if (written.length >= room) return false;
      written.push(bytes[0]!);
      return true;
    },
  };
}

const label = (n: number) => Uint8Array.of(n, 0x47);

Deno.test("TsOutput puts one source's RTP back in sequence order and drops its duplicates", () => {
  const s = sink();
  const output = new TsOutput({ sink: s });
  for (const seq of [100, 102, 101, 101, 103]) output.rtp(1, seq, label(seq - 100), 0);
  output.end();
  assert.deepEqual(s.written, [0, 1, 2, 3]);
  const counts = output.counts();
  assert.deepEqual([counts.datagrams, counts.bytes, counts.duplicates, counts.reordered], [
    4,
    8,
    1,
    1,
  ]);
});

Deno.test("TsOutput ignores an interleaved second sender; a new SSRC in a row takes over", () => {
  const s = sink();
  const output = new TsOutput({ sink: s });
  // Source 1, with source 2 interleaved: 2 never gets a run of its own.
  for (let i = 0; i < 20; i++) {
    output.rtp(1, i, label(1), i);
    output.rtp(2, 500 + i, label(2), i);
  }
  assert.deepEqual([...new Set(s.written)], [1]);
  assert.equal(output.counts().otherSource, 20);
  // Source 1 stops (VLC --loop: a new SSRC each pass); source 3 sends alone and takes over.
  for (let i = 0; i < OUTPUT_TAKEOVER_PACKETS + 2; i++) output.rtp(3, 900 + i, label(3), 100 + i);
  output.end();
  assert.equal(output.counts().sourceChanges, 1);
  // The packets before the takeover are not written; from the takeover on, source 3's are.
  assert.equal(s.written.filter((b) => b === 3).length, 3);
});

Deno.test("TsOutput writes raw UDP as received and counts what the sink could not take", () => {
  const s = sink(3);
  const output = new TsOutput({ sink: s });
  for (const n of [5, 3, 4, 4, 9]) output.udp(label(n));
  output.notMpegTs();
  assert.deepEqual(s.written, [5, 3, 4], "as received: no reordering, no de-duplication");
  const counts = output.counts();
  assert.deepEqual([counts.datagrams, counts.sinkDropped, counts.notMpegTs], [3, 2, 1]);
});
