// Tests of lib/ts/psi.ts, lib/ts/sdt.ts, lib/ts/dvb_text.ts and lib/ts/stream_types.ts: PAT, PMT
// (ISO/IEC 13818-1 §2.4.4) and SDT (ETSI EN 300 468 §5.2.3) on the test source's own tables, DVB
// strings (Annex A), and malformed and random sections.

import assert from "node:assert/strict";
import { mulberry32 } from "../../lib/common/prng.ts";
import { decodeDvbText, encodeDvbText } from "../../lib/ts/dvb_text.ts";
import { TsParseError } from "../../lib/ts/parse_error.ts";
import { parsePat, parsePmt, sectionCrcOk, sectionHasCrc } from "../../lib/ts/psi.ts";
import { parseSdt } from "../../lib/ts/sdt.ts";
import { describeStream } from "../../lib/ts/stream_types.ts";
import { patPacket, pmtPacket, sdtPacket, TS_LAYOUT } from "../../lib/source/ts_tables.ts";
import { section } from "../support/ts_packets.ts";

/** The section inside a table packet of lib/source/ts_tables.ts (pointer_field 0). */
function sectionOf(packet: Uint8Array): Uint8Array {
  const length = 3 + (((packet[6]! & 0x0f) << 8) | packet[7]!);
  return packet.subarray(5, 5 + length);
}

Deno.test("parsePat() and parsePmt() read the test source's tables, CRC included", () => {
  const pat = sectionOf(patPacket());
  assert.ok(sectionHasCrc(pat, pat.length) && sectionCrcOk(pat, pat.length));
  const parsed = parsePat(pat);
  assert.equal(parsed.transportStreamId, TS_LAYOUT.TRANSPORT_STREAM_ID);
  assert.deepEqual(parsed.programs, [{ number: 1, pid: TS_LAYOUT.PMT_PID }]);
  assert.ok(parsed.currentNext);
  const pmt = parsePmt(sectionOf(pmtPacket()));
  assert.equal(pmt.programNumber, 1);
  assert.equal(pmt.pcrPid, TS_LAYOUT.AUDIO_PID);
  assert.deepEqual(pmt.streams.map((s) => [s.streamType, s.pid]), [[0x03, TS_LAYOUT.AUDIO_PID]]);
  const corrupt = pat.slice();
  corrupt[9]! ^= 0x10;
  assert.ok(!sectionCrcOk(corrupt, corrupt.length));
});

Deno.test("parseSdt() reads names through the charset prefix (EN 300 468 Annex A)", () => {
  const sdt = parseSdt(sectionOf(sdtPacket("Radio Kraków", "ACME")));
  assert.ok(sdt.actual);
  assert.equal(sdt.transportStreamId, TS_LAYOUT.TRANSPORT_STREAM_ID);
  assert.equal(sdt.originalNetworkId, TS_LAYOUT.ORIGINAL_NETWORK_ID);
  assert.deepEqual(
    sdt.services.map((s) => [s.serviceId, s.serviceType, s.name, s.provider, s.runningStatus]),
    [
      [1, TS_LAYOUT.SERVICE_TYPE, "Radio Kraków", "ACME", 4],
    ],
  );
  assert.throws(() => sdtPacket("x".repeat(65), "p"), /at most 64/);
});

Deno.test("decodeDvbText() handles each character table and the control codes", async (t) => {
  const cases: [string, number[], string][] = [
    ["default table, ASCII", [0x42, 0x42, 0x43], "BBC"],
    ["default table, 6937 diacritic before its letter", [0x43, 0x61, 0x66, 0xc2, 0x65], "Café"],
    ["default table, euro and symbols", [0xa4, 0x35, 0x20, 0xd3], "€5 ©"],
    ["emphasis codes dropped, CR/LF a space", [0x86, 0x41, 0x87, 0x8a, 0x42], "A B"],
    ["ISO 8859-5 (0x01)", [0x01, 0xbf, 0xd5, 0xe0], "Пер"],
    ["ISO 8859-7 (0x03)", [0x03, 0xc1, 0xe1], "Αα"],
    ["ISO 8859-N by 0x10 0x00 N", [0x10, 0x00, 0x02, 0xb1], "ą"],
    ["UCS-2 (0x11)", [0x11, 0x04, 0x1f, 0x00, 0x41], "ПA"],
    ["UTF-8 (0x15)", [0x15, ...new TextEncoder().encode("日本")], "日本"],
    ["UTF-8 with a DVB control code", [0x15, 0xee, 0x82, 0x86, 0x41], "A"],
    ["GB 2312 (0x13)", [0x13, 0xd6, 0xd0], "中"],
    ["empty", [], ""],
    ["prefix only", [0x15], ""],
    ["truncated 0x10 prefix", [0x10, 0x00], ""],
  ];
  for (const [name, bytes, text] of cases) {
    await t.step(name, () => assert.equal(decodeDvbText(Uint8Array.from(bytes)), text));
  }
  for (const text of ["plain", "Ünïcödé", "日本語", ""]) {
    assert.equal(decodeDvbText(encodeDvbText(text)), text);
  }
});

Deno.test("describeStream() names private data by its descriptors", () => {
  const d = (tag: number, ...data: number[]) => ({ tag, data: Uint8Array.from(data) });
  assert.deepEqual(describeStream(0x06, [d(0x6a)]), { name: "AC-3 audio", role: "audio" });
  assert.deepEqual(describeStream(0x06, [d(0x05, 0x45, 0x41, 0x43, 0x33)]), {
    name: "E-AC-3 audio",
    role: "audio",
  });
  assert.deepEqual(describeStream(0x06, [d(0x56)]), { name: "teletext", role: "data" });
  assert.deepEqual(describeStream(0x06, []), { name: "PES private data", role: "data" });
  assert.deepEqual(describeStream(0x24, []), { name: "H.265 video", role: "video" });
  assert.deepEqual(describeStream(0x99, []), { name: "stream_type 0x99", role: "data" });
});

Deno.test("PSI parsers reject malformed sections with TsParseError and the offset", async (t) => {
  const pmtBody = [0xe1, 0x00, 0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00];
  const cases: [string, () => unknown, RegExp][] = [
    [
      "section_length past the end",
      () => parsePat(Uint8Array.from(section(0, 1, [0, 1, 0xe1, 0])).subarray(0, 14)),
      /past the end/,
    ],
    [
      "PAT with a partial entry",
      () => parsePat(Uint8Array.from(section(0, 1, [0, 1, 0xe1]))),
      /whole entries/,
    ],
    ["not a PAT", () => parsePat(Uint8Array.from(section(2, 1, pmtBody))), /Expected a PAT/],
    [
      "short form",
      () => parsePat(Uint8Array.from([0x00, 0x30, 0x05, 0, 0, 0, 0, 0])),
      /not a long-form/,
    ],
    [
      "shorter than header and CRC",
      () => parsePat(Uint8Array.from([0x00, 0xb0, 0x05, 0, 0, 0, 0, 0])),
      /shorter/,
    ],
    [
      "program_info_length past the end",
      () => parsePmt(Uint8Array.from(section(2, 1, [0xe1, 0, 0xf0, 0x20]))),
      /program_info_length/,
    ],
    [
      "ES_info_length past the end",
      () => parsePmt(Uint8Array.from(section(2, 1, [0xe1, 0, 0xf0, 0, 0x1b, 0xe1, 0, 0xf0, 9]))),
      /ES_info_length/,
    ],
    [
      "descriptor past its loop",
      () => parsePmt(Uint8Array.from(section(2, 1, [0xe1, 0, 0xf0, 3, 0x05, 4, 0]))),
      /Descriptor/,
    ],
    [
      "stream entry cut",
      () => parsePmt(Uint8Array.from(section(2, 1, [0xe1, 0, 0xf0, 0, 0x1b, 0xe1]))),
      /stream entry/,
    ],
    [
      "SDT descriptors_loop_length past the end",
      () => parseSdt(Uint8Array.from(section(0x42, 1, [0xff, 1, 0xff, 0, 1, 0xfc, 0x80, 40]))),
      /descriptors_loop_length/,
    ],
    [
      "SDT service_descriptor names past the descriptor",
      () =>
        parseSdt(
          Uint8Array.from(
            section(0x42, 1, [0xff, 1, 0xff, 0, 1, 0xfc, 0x80, 5, 0x48, 3, 1, 9, 0x41]),
          ),
        ),
      /service_descriptor/,
    ],
  ];
  for (const [name, run, message] of cases) {
    await t.step(name, () => {
      assert.throws(
        run,
        (e) => e instanceof TsParseError && message.test(e.message) && e.offset >= 0,
      );
    });
  }
});

Deno.test("PSI parsers on random and mutated sections throw only TsParseError", () => {
  const random = mulberry32(13818);
  const seeds = [sectionOf(patPacket()), sectionOf(pmtPacket()), sectionOf(sdtPacket("a", "b"))];
  const parsers = [parsePat, parsePmt, parseSdt];
  let parsed = 0;
  for (let i = 0; i < 30_000; i++) {
    const base = seeds[i % 3]!;
    const bytes = random() < 0.3
      ? Uint8Array.from({ length: (random() * 64) | 0 }, () => (random() * 256) | 0)
      : base.slice(0, Math.max(0, base.length - ((random() * 4) | 0)));
    for (let k = 0; k < 3; k++) bytes[(random() * bytes.length) | 0] = (random() * 256) | 0;
    try {
      parsers[i % 3]!(bytes);
      parsed++;
    } catch (e) {
      assert.ok(e instanceof TsParseError, `${e}`);
    }
  }
  assert.ok(parsed > 1000, `${parsed} parsed`);
});

Deno.test("decodeDvbText() never throws on random bytes", () => {
  const random = mulberry32(300_468);
  for (let i = 0; i < 20_000; i++) {
    const bytes = Uint8Array.from({ length: (random() * 40) | 0 }, () => (random() * 256) | 0);
    if (bytes.length > 0 && random() < 0.5) bytes[0] = (random() * 0x20) | 0; // a table prefix
    assert.equal(typeof decodeDvbText(bytes), "string");
  }
});
