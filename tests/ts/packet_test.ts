// Tests of lib/ts/packet.ts and lib/ts/pes.ts: transport packet header, adaptation field and PCR
// (ISO/IEC 13818-1 §2.4.3.2-§2.4.3.5), PES header and PTS (§2.4.3.6-§2.4.3.7), malformed and
// random input.

import assert from "node:assert/strict";
import { mulberry32 } from "../../lib/common/prng.ts";
import { TsParseError } from "../../lib/ts/parse_error.ts";
import {
  createTsPacketFields,
  parseTsPacket,
  readTsPacket,
  TsPacketStatus,
} from "../../lib/ts/packet.ts";
import { parsePesHeader, readPesPts } from "../../lib/ts/pes.ts";
import { tsPacket } from "../support/ts_packets.ts";

Deno.test("parseTsPacket() reads the header, the adaptation field and the PCR", () => {
  const pcr = 2 ** 33 * 300 - 1; // the largest PCR: every bit of base and extension
  const p = parseTsPacket(
    tsPacket({ pid: 0x1abc, cc: 9, pusi: true, tei: true, scrambling: 2, pcr, payload: [7, 8] }),
  );
  assert.equal(p.pid, 0x1abc);
  assert.equal(p.continuityCounter, 9);
  assert.ok(p.payloadUnitStart && p.transportError);
  assert.equal(p.scrambling, 2);
  assert.equal(p.adaptationFieldControl, 3);
  assert.equal(p.pcr, pcr);
  assert.deepEqual([...p.payload], [7, 8]);
  const plain = parseTsPacket(tsPacket({ pid: 0x11, payload: [1] }));
  assert.equal(plain.pcr, null);
  assert.equal(plain.payload.length, 184);
  const afOnly = parseTsPacket(tsPacket({ pid: 0x11, afc: 2, discontinuity: true }));
  assert.equal(afOnly.payload.length, 0);
  assert.ok(afOnly.discontinuity);
});

Deno.test("parseTsPacket() rejects malformed packets with the offset", async (t) => {
  const cases: [string, (p: Uint8Array) => Uint8Array, number, RegExp][] = [
    ["too short", (p) => p.subarray(0, 187), 0, /shorter than 188/],
    ["bad sync byte", (p) => ((p[0] = 0x48), p), 0, /sync byte/],
    ["reserved adaptation_field_control", (p) => ((p[3] = 0x00), p), 3, /reserved/],
    [
      "adaptation field past the end, no payload",
      (p) => ((p[3] = 0x20), (p[4] = 184), p),
      4,
      /past/,
    ],
    ["adaptation field past the end, payload", (p) => ((p[3] = 0x30), (p[4] = 183), p), 4, /past/],
    [
      "PCR past the adaptation field",
      (p) => ((p[3] = 0x20), (p[4] = 6), (p[5] = 0x10), p),
      4,
      /past/,
    ],
  ];
  for (const [name, mutate, offset, message] of cases) {
    await t.step(name, () => {
      const packet = mutate(tsPacket({ pid: 0x100, payload: [1] }));
      assert.throws(
        () => parseTsPacket(packet),
        (e) => e instanceof TsParseError && e.offset === offset && message.test(e.message),
      );
    });
  }
  // The largest valid lengths: 183 without payload, 182 with one byte of payload.
  const full = tsPacket({ pid: 1, afc: 2 });
  assert.equal(parseTsPacket(full).payload.length, 0);
  const one = tsPacket({ pid: 1, afc: 3, payload: [5] });
  one[4] = 182;
  assert.deepEqual([...parseTsPacket(one).payload], [5]);
});

Deno.test("readTsPacket() never throws or reads outside the packet on random input", () => {
  const random = mulberry32(290);
  const f = createTsPacketFields();
  const buffer = new Uint8Array(188 * 3);
  for (let i = 0; i < 20_000; i++) {
    for (let k = 0; k < buffer.length; k++) buffer[k] = (random() * 256) | 0;
    buffer[188] = 0x47;
    const at = (random() * 400) | 0;
    const status = readTsPacket(buffer, at, f);
    if (at + 188 > buffer.length) assert.equal(status, TsPacketStatus.TOO_SHORT);
    if (status === TsPacketStatus.OK) {
      assert.ok(
        f.payloadStart >= at + 4 && f.payloadStart <= at + 188 && f.payloadEnd === at + 188,
      );
      assert.ok(f.pcr === -1 || (f.pcr >= 0 && f.pcr < 2 ** 33 * 300));
    }
    // The throwing parser agrees: TsParseError exactly when the status is not OK.
    const view = buffer.subarray(Math.min(at, buffer.length));
    try {
      parseTsPacket(view);
      assert.equal(readTsPacket(view, 0, f), TsPacketStatus.OK);
    } catch (e) {
      assert.ok(e instanceof TsParseError, String(e));
    }
  }
});

/** A PES header with PTS (and DTS) like an encoder writes (§2.4.3.7). */
function pes(pts: number, dts?: number): Uint8Array {
  const ts = (prefix: number, v: number) => [
    (prefix << 4) | (Math.floor(v / 2 ** 30) << 1) | 1,
    Math.floor(v / 2 ** 22) & 0xff,
    ((Math.floor(v / 2 ** 15) & 0x7f) << 1) | 1,
    Math.floor(v / 2 ** 7) & 0xff,
    ((v & 0x7f) << 1) | 1,
  ];
  const fields = dts === undefined ? ts(2, pts) : [...ts(3, pts), ...ts(1, dts)];
  return Uint8Array.from([
    0,
    0,
    1,
    0xe0,
    0,
    0,
    0x80,
    dts === undefined ? 0x80 : 0xc0,
    fields.length,
    ...fields,
    9,
  ]);
}

Deno.test("readPesPts() and parsePesHeader() read PTS and DTS", () => {
  const max = 2 ** 33 - 1;
  for (const value of [0, 1, 2 ** 32, max, 123_456_789]) {
    assert.equal(readPesPts(pes(value), 0, 15), value);
    assert.equal(parsePesHeader(pes(value)).pts, value);
  }
  const both = parsePesHeader(pes(900_000, 896_400));
  assert.deepEqual([both.pts, both.dts, both.dataOffset], [900_000, 896_400, 19]);
  assert.equal(readPesPts(pes(900_000, 896_400), 0, 20), 900_000);
  // Padding stream: no optional header, no PTS.
  const padding = Uint8Array.from([
    0,
    0,
    1,
    0xbe,
    0,
    2,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
    0xff,
  ]);
  assert.equal(readPesPts(padding, 0, padding.length), -1);
  assert.equal(parsePesHeader(padding).pts, null);
});

Deno.test("PES parsers reject malformed headers and stay inside their bounds", async (t) => {
  const cases: [string, (p: Uint8Array) => Uint8Array, RegExp][] = [
    ["no start code", (p) => ((p[2] = 2), p), /start code/],
    ["cut short", (p) => p.subarray(0, 12), /past the end|cut short/],
    ["forbidden PTS_DTS_flags 01", (p) => ((p[7] = 0x40), p), /forbidden/],
    ["header too short for the PTS", (p) => ((p[8] = 4), p), /too short/],
    ["marker bit 0", (p) => ((p[11] = p[11]! & 0xfe), p), /marker/],
    ["no '10' before the flags", (p) => ((p[6] = 0x40), p), /'10'/],
  ];
  for (const [name, mutate, message] of cases) {
    await t.step(name, () => {
      const bytes = mutate(pes(90_000));
      assert.throws(
        () => parsePesHeader(bytes),
        (e) => e instanceof TsParseError && message.test(e.message),
      );
      assert.equal(readPesPts(bytes, 0, bytes.length), -1);
    });
  }
  // A PTS cut by the end offset is not read even if the buffer goes on.
  assert.equal(readPesPts(pes(90_000), 0, 13), -1);
  assert.equal(readPesPts(pes(90_000), 5, 100), -1);
  const random = mulberry32(7);
  const buffer = new Uint8Array(40);
  for (let i = 0; i < 20_000; i++) {
    for (let k = 0; k < buffer.length; k++) {
      buffer[k] = random() < 0.3 ? [0, 1, 0x80][k % 3]! : (random() * 256) | 0;
    }
    const start = (random() * 40) | 0;
    const end = start + ((random() * 45) | 0);
    const pts = readPesPts(buffer, start, end);
    assert.ok(pts === -1 || (pts >= 0 && pts < 2 ** 33));
    try {
      parsePesHeader(buffer.subarray(start, end));
    } catch (e) {
      assert.ok(e instanceof TsParseError, String(e));
    }
  }
});
