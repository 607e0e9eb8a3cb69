// Tests of lib/ts/section_assembler.ts: PSI section reassembly (ISO/IEC 13818-1 §2.4.4.1-§2.4.4.4)
// across packets, several per packet, pointer_field, stuffing, and malformed and random payloads.

import assert from "node:assert/strict";
import { mulberry32 } from "../../lib/common/prng.ts";
import { SectionAssembler, SectionDrop, type SectionSink } from "../../lib/ts/section_assembler.ts";
import { section } from "../support/ts_packets.ts";

class Collector implements SectionSink {
  sections: number[][] = [];
  drops: SectionDrop[] = [];
  onSection(_pid: number, s: Uint8Array, length: number): void {
    this.sections.push([...s.subarray(0, length)]);
  }
  onSectionDrop(_pid: number, reason: SectionDrop): void {
    this.drops.push(reason);
  }
}

/** Pushes `payloads` (each [unitStart, bytes]) through one assembler. */
function assemble(payloads: [boolean, number[]][], maxBytes?: number): Collector {
  const assembler = new SectionAssembler(maxBytes);
  const sink = new Collector();
  for (const [unitStart, bytes] of payloads) {
    const u8 = Uint8Array.from([0xaa, ...bytes, 0xbb]); // guard bytes outside [start, end)
    assembler.push(u8, 1, u8.length - 1, unitStart, 0x100, sink);
  }
  return sink;
}

const a = section(0x02, 1, Array.from({ length: 300 }, (_, i) => i & 0xff)); // spans 2+ packets
const b = section(0x00, 2, [0, 1, 0xe1, 0]);
const c = section(0x42, 3, [0xff, 1, 0xff]);

Deno.test("SectionAssembler: one section per packet, then stuffing", () => {
  const sink = assemble([[true, [0, ...b, 0xff, 0xff]]]);
  assert.deepEqual(sink.sections, [b]);
  assert.deepEqual(sink.drops, []);
});

Deno.test("SectionAssembler: a section across packets, and the next one after the pointer_field", () => {
  const sink = assemble([
    [true, [0, ...a.slice(0, 150)]],
    [false, a.slice(150, 250)],
    [true, [a.length - 250, ...a.slice(250), ...b, ...c, 0xff]],
  ]);
  assert.deepEqual(sink.sections, [a, b, c]);
});

Deno.test("SectionAssembler: a header split across packets", () => {
  const sink = assemble([[true, [0, ...b.slice(0, 2)]], [false, b.slice(2)]]);
  assert.deepEqual(sink.sections, [b]);
});

Deno.test("SectionAssembler: malformed payloads are dropped with a reason, never thrown", async (t) => {
  await t.step("pointer_field past the end", () => {
    const sink = assemble([[true, [50, 1, 2, 3]]]);
    assert.deepEqual(sink.drops, [SectionDrop.POINTER_PAST_END]);
    assert.deepEqual(sink.sections, []);
  });
  await t.step("section_length past the buffer", () => {
    const long = [0x02, 0xb3, 0xff, 0, 0]; // section_length 1023 > 1021
    const sink = assemble([[true, [0, ...long]]], 1024);
    assert.deepEqual(sink.drops, [SectionDrop.TOO_LONG]);
  });
  await t.step("cut short by the next unit start", () => {
    const sink = assemble([[true, [0, ...a.slice(0, 100)]], [true, [0, ...b]]]);
    assert.deepEqual(sink.drops, [SectionDrop.CUT_SHORT]);
    assert.deepEqual(sink.sections, [b]);
  });
  await t.step("continuation without a start is ignored", () => {
    const sink = assemble([[false, a.slice(10, 80)], [true, [0, ...b]]]);
    assert.deepEqual(sink.sections, [b]);
    assert.deepEqual(sink.drops, []);
  });
  await t.step("empty payload with unit start", () => {
    assert.deepEqual(assemble([[true, []]]).sections, []);
  });
  await t.step("reset() drops the section in progress", () => {
    const assembler = new SectionAssembler();
    const sink = new Collector();
    const first = Uint8Array.from([0, ...a.slice(0, 100)]);
    assembler.push(first, 0, first.length, true, 1, sink);
    assert.ok(assembler.inProgress);
    assembler.reset();
    const rest = Uint8Array.from(a.slice(100));
    assembler.push(rest, 0, rest.length, false, 1, sink);
    assert.deepEqual(sink.sections, []);
  });
});

Deno.test("SectionAssembler: random payloads only ever yield whole sections of their stated length", () => {
  const random = mulberry32(4);
  const assembler = new SectionAssembler(1024);
  let sections = 0;
  const sink: SectionSink = {
    onSection(_pid, s, length) {
      sections++;
      assert.ok(length >= 3 && length <= 1024);
      assert.equal(length, 3 + (((s[1]! & 0x0f) << 8) | s[2]!));
    },
    onSectionDrop() {},
  };
  const u8 = new Uint8Array(200);
  for (let i = 0; i < 50_000; i++) {
    for (let k = 0; k < u8.length; k++) {
      u8[k] = random() < 0.5 ? (random() * 16) | 0 : (random() * 256) | 0;
    }
    const start = (random() * 200) | 0;
    const end = Math.min(200, start + ((random() * 185) | 0));
    assembler.push(u8, start, end, random() < 0.5, 1, sink);
  }
  assert.ok(sections > 100, `${sections} sections`);
});
