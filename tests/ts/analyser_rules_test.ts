// Tests of lib/ts/analyser.ts on hand-built packets: each ETSI TR 101 290 rule's edges (1.1-1.6,
// 2.1-2.5), the RFC 2250 framing rules, the RTP correlation window, roles and names, and the caps.

import assert from "node:assert/strict";
import { TsAnalyser, type TsAnalyserOptions } from "../../lib/ts/analyser.ts";
import { TS } from "../../lib/ts/constants.ts";
import { patPacket, pmtPacket, sdtPacket } from "../../lib/source/ts_tables.ts";
import { datagram, section, tsPacket } from "../support/ts_packets.ts";

const PID = 0x123;

/** Feeds each datagram 1 ms apart (or at the given times) and returns the analyser. */
function feedAll(
  datagrams: (Uint8Array | [Uint8Array, number, boolean?])[],
  options?: TsAnalyserOptions,
): TsAnalyser {
  const analyser = new TsAnalyser(options);
  datagrams.forEach((d, i) => {
    if (d instanceof Uint8Array) analyser.feed(d, i);
    else analyser.feed(d[0], d[1], d[2] ?? false);
  });
  return analyser;
}

const es = (cc: number, extra: Partial<Parameters<typeof tsPacket>[0]> = {}) =>
  tsPacket({ pid: PID, cc, payload: [1, 2, 3], ...extra });

Deno.test("1.4: counters in order, skipped, out of order", async (t) => {
  const cases: [string, number[], number, number][] = [
    ["in order with wrap", [13, 14, 15, 0, 1, 2], 0, 0],
    ["one skip hides 2 packets", [0, 1, 4, 5], 1, 2],
    ["out of order", [0, 1, 3, 2, 4], 3, 1 + 14 + 1],
    ["wrap skip 15 → 1", [14, 15, 1], 1, 1],
  ];
  for (const [name, ccs, errors, lost] of cases) {
    await t.step(name, () => {
      const s = feedAll(ccs.map((cc) => datagram(es(cc)))).snapshot(10);
      assert.equal(s.ccErrors, errors);
      assert.equal(s.estimatedLostPackets, lost);
      assert.equal(s.pids.find((p) => p.pid === PID)!.ccErrors, errors);
    });
  }
});

Deno.test("1.4: a packet may occur twice; each further copy is an error", () => {
  const twice = feedAll([datagram(es(0), es(1), es(1), es(2))]).snapshot(1);
  assert.equal(twice.ccErrors, 0);
  const thrice = feedAll([datagram(es(0), es(1), es(1), es(1), es(1), es(2))]).snapshot(1);
  assert.equal(thrice.ccErrors, 2, "third and fourth copy");
});

Deno.test("1.4: packets without payload repeat the counter; PIDs without payload, the null PID and discontinuities are exempt", () => {
  const afOnly = (cc: number, pid = PID) => tsPacket({ pid, cc, afc: 2 });
  const s = feedAll([
    datagram(es(0), afOnly(0), es(1), afOnly(1), afOnly(1), es(2)),
    datagram(es(7, { discontinuity: true }), es(8)),
    datagram(...[5, 1, 9, 9, 0].map((cc) => tsPacket({ pid: TS.NULL_PID, cc }))),
    datagram(...[3, 8, 8, 1].map((cc) => afOnly(cc, 0x1ff))), // a PCR-only PID: never checked
  ]).snapshot(4);
  assert.equal(s.ccErrors, 0);
  assert.equal(s.nullPackets, 5);
  // A packet without payload that moved the counter shows packets lost before it.
  const moved = feedAll([datagram(es(0), es(1), afOnly(3), es(4))]).snapshot(1);
  assert.equal(moved.ccErrors, 1);
  assert.equal(moved.estimatedLostPackets, 2);
});

Deno.test("1.4 and RTP: the window is the span since the PID's previous packet with payload", async (t) => {
  const other = (cc: number) => tsPacket({ pid: 0x200, cc, payload: [0] });
  await t.step("a gap flagged on the erroring datagram is network loss", () => {
    const s = feedAll([[datagram(es(0)), 0], [datagram(es(2)), 1, true]]).snapshot(2);
    assert.equal(s.ccErrors, 1);
    assert.equal(s.ccErrorsWithoutRtpLoss, 0);
  });
  await t.step("a gap between the PID's two packets is network loss", () => {
    const s = feedAll([
      [datagram(es(0)), 0],
      [datagram(other(0)), 1, true],
      [datagram(other(1)), 2],
      [datagram(es(2)), 3],
    ]).snapshot(4);
    assert.equal(s.ccErrors, 1);
    assert.equal(s.ccErrorsWithoutRtpLoss, 0);
  });
  await t.step("a gap before the PID's previous packet is not", () => {
    const s = feedAll([
      [datagram(other(0)), 0],
      [datagram(es(0)), 1, true],
      [datagram(other(1)), 2],
      [datagram(es(2)), 3],
    ]).snapshot(4);
    assert.equal(s.ccErrors, 1);
    assert.equal(s.ccErrorsWithoutRtpLoss, 1);
  });
  await t.step(
    "a skip inside one datagram is not network loss even if the datagram is flagged",
    () => {
      const s = feedAll([[datagram(es(0), es(1)), 0], [datagram(es(2), es(5)), 1, true]]).snapshot(
        2,
      );
      assert.equal(s.ccErrors, 1);
      assert.equal(s.ccErrorsWithoutRtpLoss, 1);
    },
  );
});

Deno.test("1.1 and 1.2: sync byte errors once in sync, a loss after two in a row, 5 to regain", () => {
  const bad = () => {
    const p = es(0);
    p[0] = 0x46;
    return p;
  };
  const nul = () => tsPacket({ pid: TS.NULL_PID });
  const s = feedAll([
    datagram(bad(), nul(), nul(), nul(), nul()), // not yet in sync: not counted
    datagram(nul(), bad(), nul()), // in sync since the 5th good packet: 1 error
    datagram(bad(), bad(), bad()), // 2 errors and a loss; the third is out of sync
    datagram(nul(), nul(), nul(), nul(), bad()), // 4 good: not yet regained
    datagram(nul(), nul(), nul(), nul(), nul(), bad(), bad()), // regained: 2 errors, a loss
  ]).snapshot(5);
  assert.equal(s.syncByteErrors, 1 + 2 + 2);
  assert.equal(s.syncLosses, 2);
  assert.equal(s.packets, 5 + 3 + 3 + 5 + 7);
});

Deno.test("RFC 2250 framing: a partial packet is dropped, a shifted datagram is sync errors", () => {
  const nul = tsPacket({ pid: TS.NULL_PID });
  const partial = new Uint8Array(7 * 188 + 100);
  partial.set(datagram(...Array(7).fill(nul)));
  partial.set(nul.subarray(0, 100), 7 * 188);
  const shifted = new Uint8Array(7 * 188);
  shifted.set(datagram(...Array(7).fill(nul)).subarray(0, 7 * 188 - 4), 4);
  const s = feedAll([partial, partial, shifted]).snapshot(3);
  assert.equal(s.partialPackets, 2);
  assert.equal(s.packets, 21);
  assert.equal(s.nullPackets, 14);
  // Slot 0 starts with 0x00, the others with the payload's 0xFF: two errors, then sync is lost
  // and the rest is not counted (1.2 needs sync).
  assert.equal(s.syncByteErrors, 2);
  assert.equal(s.syncLosses, 1);
  // 0x47 inside payloads never shifts the framing.
  const tricky = tsPacket({ pid: PID, payload: new Uint8Array(184).fill(0x47) });
  const clean = feedAll([datagram(tricky, tricky, tricky)]).snapshot(1);
  assert.equal(clean.syncByteErrors + clean.packets, 3);
});

/** A copy of `packet` with continuity_counter `cc`. */
function withCc(packet: Uint8Array, cc: number): Uint8Array {
  const copy = packet.slice();
  copy[3] = (copy[3]! & 0xf0) | (cc & 0x0f);
  return copy;
}

function pointed(
  pid: number,
  bytes: readonly number[],
  extra: Partial<Parameters<typeof tsPacket>[0]> = {},
) {
  return tsPacket({ pid, pusi: true, payload: [0, ...bytes], ...extra });
}

Deno.test("1.3: no PAT for 0.5 s, a table other than the PAT on PID 0, a scrambled PAT", () => {
  const pat = patPacket();
  const none = feedAll([[datagram(pat), 0], [datagram(es(0)), 400], [datagram(es(1)), 1600]]);
  assert.equal(none.snapshot(1600).patErrors, 3, "1.6 s without: three whole 0.5 s periods");
  const other = pointed(TS.PAT_PID, section(0x02, 1, [0xe1, 0, 0xf0, 0]), { cc: 1 });
  const wrong = feedAll([datagram(pat, other)]);
  assert.equal(wrong.snapshot(1).patErrors, 1);
  const scrambled = pat.slice();
  scrambled[3] = 0x80 | 0x10 | 1;
  assert.equal(feedAll([datagram(pat, scrambled)]).snapshot(1).patErrors, 1);
});

Deno.test("1.5: a PMT named by the PAT missing for 0.5 s, or scrambled; 2.2 CRC errors", () => {
  const pat = patPacket();
  const pmt = pmtPacket();
  const late = feedAll([
    [datagram(pat, pmt), 0],
    [datagram(withCc(pat, 1)), 450],
    [datagram(withCc(pat, 2)), 900],
    [datagram(withCc(pat, 3), withCc(pmt, 1)), 1200],
  ]);
  assert.equal(late.snapshot(1200).ccErrors, 0);
  assert.equal(late.snapshot(1200).pmtErrors, 2, "1.2 s between PMTs: ⌈1200 / 500⌉ − 1");
  const scrambled = pmt.slice();
  scrambled[3] = 0xc0 | 0x10 | 1;
  assert.equal(feedAll([datagram(pat, pmt, scrambled)]).snapshot(1).pmtErrors, 1);
  for (const packet of [pat, pmt, sdtPacket("a", "b")]) {
    const bad = withCc(packet, 1);
    bad[12]! ^= 0x01;
    const s = feedAll([datagram(pat, pmt, bad)]).snapshot(1);
    assert.equal(s.crcErrors, 1, `PID ${packet[2]}`);
  }
});

/** A PAT naming programme 1 on PMT PID 0x1000 and a PMT with the given streams and PCR PID. */
function programme(pcrPid: number, streams: [number, number, number[]][]): Uint8Array[] {
  const pmtBody = [0xe0 | (pcrPid >> 8), pcrPid & 0xff, 0xf0, 0];
  for (const [type, pid, descriptors] of streams) {
    pmtBody.push(type, 0xe0 | (pid >> 8), pid & 0xff, 0xf0, descriptors.length, ...descriptors);
  }
  return [
    pointed(TS.PAT_PID, section(0x00, 1, [0, 1, 0xf0, 0x00])),
    pointed(0x1000, section(0x02, 1, pmtBody)),
  ];
}

Deno.test("Programme map: roles and stream types from the PMT and its descriptors", () => {
  const psi = programme(0x1ff, [
    [0x1b, 0x100, []],
    [0x0f, 0x101, []],
    [0x06, 0x102, [0x6a, 1, 0]],
    [0x06, 0x103, [0x59, 8, 0x65, 0x6e, 0x67, 0x10, 0, 1, 0, 1]],
    [0x86, 0x104, []],
    [0xc7, 0x105, []],
  ]);
  const s = feedAll([datagram(...psi, tsPacket({ pid: 0x1ff, pcr: 0 }), tsPacket({ pid: 0x777 }))])
    .snapshot(1);
  const roles = Object.fromEntries(s.pids.map((p) => [p.pid, [p.role, p.streamType, p.pcr]]));
  assert.deepEqual(roles, {
    [0x0000]: ["PAT", null, false],
    [0x0100]: ["video", "H.264 video", false],
    [0x0101]: ["audio", "AAC audio (ADTS)", false],
    [0x0102]: ["audio", "AC-3 audio", false],
    [0x0103]: ["data", "DVB subtitles", false],
    [0x0104]: ["data", "SCTE-35 splice information", false],
    [0x0105]: ["data", "stream_type 0xc7", false],
    [0x01ff]: ["PCR", null, true],
    [0x0777]: ["unreferenced", null, false],
    [0x1000]: ["PMT", null, false],
  });
  assert.deepEqual(s.services.map((x) => [x.number, x.pmtPid, x.pcrPid]), [[1, 0x1000, 0x1ff]]);
  assert.equal(s.pids.find((p) => p.pid === 0x100)!.packets, 0, "named but absent: listed");
});

Deno.test("1.6 and 2.5: an audio/video PID absent 5 s; a PTS missing 700 ms; data PIDs exempt", () => {
  const psi = programme(0x100, [[0x1b, 0x100, []], [0x06, 0x103, [0x59, 0]]]);
  const pes = (cc: number, pts: boolean) =>
    tsPacket({
      pid: 0x100,
      cc,
      pusi: true,
      payload: pts
        ? [0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5, 0x21, 0, 1, 0, 1]
        : [0, 0, 1, 0xe0, 0, 0, 0x80, 0, 0],
    });
  const again = (cc: number) => psi.map((p) => withCc(p, cc));
  const s = feedAll([
    [datagram(...psi, pes(0, true)), 0],
    [datagram(...again(1), pes(1, false)), 400], // a PES without PTS: not a PTS
    [datagram(...again(2), pes(2, true)), 800], // 800 ms since the last PTS: 1 error
    [datagram(...again(3)), 1200],
    [datagram(...again(4)), 6000], // 5.2 s without the video PID: 1.6 once
    [datagram(...again(5)), 6500],
  ]).snapshot(6500);
  assert.equal(s.ccErrors, 0);
  assert.equal(s.pidErrors, 1);
  // 800 ms between the first PTSs, then 5.7 s since the last: 1 + (⌈5700 / 700⌉ − 1).
  assert.equal(s.ptsErrors, 1 + 8, "and every 700 ms it stays away");
  assert.equal(s.patErrors, 9, "and the PAT, also away from 1.2 s to 6 s");
});

Deno.test("2.1, 2.3a and 2.3b on hand-built PCRs", () => {
  const psi = programme(0x100, [[0x03, 0x100, []]]);
  const pcr = (ms: number, discontinuity = false) =>
    tsPacket({
      pid: 0x100,
      pcr: Math.round(ms * 27_000) % TS.PCR_MODULO,
      discontinuity,
      tei: ms === 50,
    });
  const s = feedAll([
    [datagram(...psi, pcr(0)), 0],
    [datagram(pcr(50)), 50], // TEI set
    [datagram(pcr(130)), 130],
    [datagram(...psi.map((p) => withCc(p, 1)), pcr(260)), 260], // 130 ms: 2.3a and 2.3b
    [datagram(pcr(230)), 290], // backwards: 2.3b
    [datagram(pcr(5000, true)), 320], // flagged jump: fine
    [datagram(pcr(5030)), 350],
  ], { pcrIntervalMs: 100 }).snapshot(350);
  assert.equal(s.transportErrors, 1);
  assert.equal(s.pcrRepetitionErrors, 1);
  assert.equal(s.pcrDiscontinuityErrors, 2);
  // PCR modulo wrap is continuous.
  const wrap = feedAll([
    [datagram(...psi, tsPacket({ pid: 0x100, pcr: TS.PCR_MODULO - 27_000 })), 0],
    [datagram(tsPacket({ pid: 0x100, pcr: 27_000 })), 2],
  ]).snapshot(2);
  assert.equal(wrap.pcrDiscontinuityErrors, 0);
});

Deno.test("Service and provider names from the SDT, charset prefixes decoded", () => {
  const names = feedAll([datagram(patPacket(), pmtPacket(), sdtPacket("Télé Ünï", "Prov"))])
    .snapshot(1);
  assert.deepEqual(names.services.map((s) => [s.number, s.name, s.provider]), [[
    1,
    "Télé Ünï",
    "Prov",
  ]]);
  // An ISO/IEC 8859-5 name (first byte 0x01): Cyrillic.
  const cyrillic = [0x01, 0xbf, 0xd5, 0xe0, 0xd2, 0xeb, 0xd9];
  const descriptor = [0x48, 3 + 1 + cyrillic.length, 1, 1, 0x41, cyrillic.length, ...cyrillic];
  const body = [0xff, 0x01, 0xff, 0, 1, 0xfc, 0x80, descriptor.length, ...descriptor];
  const s = feedAll([datagram(patPacket(), pmtPacket(), pointed(0x11, section(0x42, 1, body)))])
    .snapshot(1);
  assert.equal(s.crcErrors, 0);
  const good = s;
  assert.equal(good.services[0]!.name, "Первый");
  assert.equal(good.services[0]!.provider, "A");
});

Deno.test("Caps: PIDs beyond maxPids count in the totals only; memory stays bounded", () => {
  const packets = Array.from({ length: 64 }, (_, i) => tsPacket({ pid: 0x300 + i }));
  const s = feedAll([datagram(...packets)], { maxPids: 16 }).snapshot(1);
  assert.equal(s.packets, 64);
  // 7 slots are the fixed SI and null PIDs (listed once they carry packets), 9 are left.
  assert.equal(s.pids.length, 9);
  assert.equal(s.untrackedPackets, 64 - 9);
});

Deno.test("Malformed packets: reserved adaptation_field_control, adaptation field past the end", () => {
  const reserved = es(0, { afc: 0 });
  const long = es(1, { afc: 3 });
  long[4] = 183; // with payload at most 182
  const pcrShort = tsPacket({ pid: PID, cc: 1, afc: 2 });
  pcrShort[4] = 3;
  pcrShort[5] = 0x10; // PCR_flag but only 2 bytes follow
  const s = feedAll([datagram(reserved, long, pcrShort, es(2))]).snapshot(1);
  assert.equal(s.malformedPackets, 3);
  assert.equal(s.ccErrors, 0, "the header of a malformed packet still counts for continuity");
});

Deno.test("scrambled flag follows the last packet with payload", () => {
  const s = feedAll([datagram(es(0, { scrambling: 2 }), es(1, { scrambling: 3 }))]).snapshot(1);
  assert.equal(s.pids.find((p) => p.pid === PID)!.scrambled, true);
  const clear = feedAll([datagram(es(0, { scrambling: 2 }), es(1))]).snapshot(1);
  assert.equal(clear.pids.find((p) => p.pid === PID)!.scrambled, false);
});
