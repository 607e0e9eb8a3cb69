// Tests of lib/source/ts_muxer.ts: the muxer's output parsed back as ISO/IEC 13818-1 transport packets (sync
// bytes, continuity counters, PAT/PMT with valid CRC, PCR spacing and rate, PES timing), plus
// ffprobe's view of it when ffprobe is installed.

import assert from "node:assert/strict";
import { peerTest } from "../support/peer_requirements.ts";
import { STREAM_TYPE, TABLE_ID, TS } from "../../lib/ts/constants.ts";
import { crc32Mpeg2 } from "../../lib/ts/crc32.ts";
import { MIN_TS_BITRATE, TS_LAYOUT, TsMuxer } from "../../lib/source/ts_muxer.ts";
import { ffprobeUrl } from "../support/peers.ts";

interface ParsedPacket {
  index: number;
  pid: number;
  pusi: boolean;
  afc: number;
  cc: number;
  pcr?: number;
  payload: Uint8Array;
}

/** Independent transport packet parser (ISO/IEC 13818-1 §2.4.3.2, §2.4.3.4). */
function parseTs(u8: Uint8Array): ParsedPacket[] {
  assert.equal(u8.length % TS.PACKET_SIZE, 0, "whole packets");
  const packets: ParsedPacket[] = [];
  for (let at = 0, index = 0; at < u8.length; at += TS.PACKET_SIZE, index++) {
    const p = u8.subarray(at, at + TS.PACKET_SIZE);
    assert.equal(p[0], 0x47, `sync byte of packet ${index}`);
    assert.equal(p[1]! & 0x80, 0, "transport_error_indicator");
    assert.equal(p[3]! & 0xc0, 0, "not scrambled");
    const afc = (p[3]! >> 4) & 3;
    assert.notEqual(afc, 0, "adaptation_field_control 00 is reserved");
    let payloadStart = 4;
    let pcr: number | undefined;
    if (afc & 2) {
      const length = p[4]!;
      assert.ok(length <= (afc === 2 ? 183 : 182), `adaptation field length ${length}`);
      if (length > 0 && (p[5]! & 0x10)) {
        const base = p[6]! * 2 ** 25 + p[7]! * 2 ** 17 + p[8]! * 2 ** 9 + p[9]! * 2 + (p[10]! >> 7);
        assert.equal(p[10]! & 0x7e, 0x7e, "PCR reserved bits");
        pcr = base * 300 + ((p[10]! & 1) << 8) + p[11]!;
        assert.ok((pcr % 300) < 300);
      }
      payloadStart = 5 + length;
    }
    const packet: ParsedPacket = {
      index,
      pid: ((p[1]! & 0x1f) << 8) | p[2]!,
      pusi: (p[1]! & 0x40) !== 0,
      afc,
      cc: p[3]! & 0x0f,
      payload: afc & 1 ? p.subarray(payloadStart) : new Uint8Array(0),
    };
    if (pcr !== undefined) packet.pcr = pcr;
    packets.push(packet);
  }
  return packets;
}

/** A PSI/SI section (pointer_field 0) from a packet's payload, checked for CRC and syntax. */
function readSection(payload: Uint8Array, tableId: number, dvb = false): Uint8Array {
  assert.equal(payload[0], 0, "pointer_field");
  const section = payload.subarray(1);
  assert.equal(section[0], tableId, "table_id");
  // PSI: section_syntax_indicator 1, '0'; DVB SI: 1, reserved_future_use 1 (EN 300 468 §5.2).
  assert.equal(section[1]! & 0xc0, dvb ? 0xc0 : 0x80, "section_syntax_indicator and next bit");
  const length = ((section[1]! & 0x0f) << 8) | section[2]!;
  const whole = section.subarray(0, 3 + length);
  assert.equal(crc32Mpeg2(whole), 0, "CRC_32 over the section including the CRC is 0");
  assert.equal(whole[5]! & 0x01, 1, "current_next_indicator");
  assert.ok(section.subarray(3 + length).every((b) => b === 0xff), "stuffing after the section");
  return whole;
}

function mux(bitrate: number, seconds: number): Uint8Array {
  const muxer = new TsMuxer({ bitrate });
  const datagrams = Math.ceil((seconds * bitrate) / (7 * TS.PACKET_SIZE * 8));
  const out = new Uint8Array(datagrams * 7 * TS.PACKET_SIZE);
  const scratch = new Uint8Array(7 * TS.PACKET_SIZE);
  for (let i = 0; i < datagrams; i++) {
    muxer.fillPackets(scratch, 7);
    out.set(scratch, i * scratch.length);
  }
  assert.equal(muxer.packetCount, datagrams * 7);
  return out;
}

Deno.test("crc32Mpeg2() matches the CRC-32/MPEG-2 check value", () => {
  assert.equal(crc32Mpeg2(new TextEncoder().encode("123456789")), 0x0376e6e7);
  assert.equal(crc32Mpeg2(new Uint8Array(0)), 0xffffffff);
});

Deno.test("TsMuxer output is a valid transport stream at every bitrate", async (t) => {
  for (const bitrate of [MIN_TS_BITRATE, 2_000_000, 15_000_000]) {
    await t.step(`${bitrate} bit/s`, () => {
      const seconds = 3;
      const packets = parseTs(mux(bitrate, seconds));
      const packetSeconds = (TS.PACKET_SIZE * 8) / bitrate;
      const timeOf = (p: ParsedPacket) => p.index * packetSeconds;

      // Continuity counters per PID: +1 for packets with payload, unchanged without (§2.4.3.3).
      const lastCc = new Map<number, number>();
      for (const p of packets) {
        assert.ok(
          ([
            TS.PAT_PID,
            TS_LAYOUT.PMT_PID,
            TS_LAYOUT.SDT_PID,
            TS_LAYOUT.AUDIO_PID,
            TS.NULL_PID,
          ] as number[])
            .includes(p.pid),
          `unexpected PID ${p.pid}`,
        );
        if (p.pid === TS.NULL_PID) continue;
        const previous = lastCc.get(p.pid);
        if (previous !== undefined) {
          const expected = p.afc & 1 ? (previous + 1) & 0x0f : previous;
          assert.equal(p.cc, expected, `CC of PID ${p.pid} at packet ${p.index}`);
        }
        lastCc.set(p.pid, p.cc);
      }

      // PAT and PMT: valid sections, repeated at least every 100 ms.
      const pats = packets.filter((p) => p.pid === TS.PAT_PID);
      const pmts = packets.filter((p) => p.pid === TS_LAYOUT.PMT_PID);
      assert.ok(pats.length >= seconds * 10 && pmts.length >= seconds * 10);
      for (const pat of pats) {
        assert.ok(pat.pusi);
        const s = readSection(pat.payload, TABLE_ID.PROGRAM_ASSOCIATION);
        assert.equal((s[3]! << 8) | s[4]!, TS_LAYOUT.TRANSPORT_STREAM_ID);
        assert.equal(s.length, 3 + 13, "one program");
        assert.equal((s[8]! << 8) | s[9]!, TS_LAYOUT.PROGRAM_NUMBER);
        assert.equal(((s[10]! & 0x1f) << 8) | s[11]!, TS_LAYOUT.PMT_PID);
      }
      for (const pmt of pmts) {
        const s = readSection(pmt.payload, TABLE_ID.PROGRAM_MAP);
        assert.equal((s[3]! << 8) | s[4]!, TS_LAYOUT.PROGRAM_NUMBER);
        assert.equal(((s[8]! & 0x1f) << 8) | s[9]!, TS_LAYOUT.AUDIO_PID, "PCR_PID");
        assert.equal(((s[10]! & 0x0f) << 8) | s[11]!, 0, "program_info_length");
        assert.equal(s[12], STREAM_TYPE.MPEG1_AUDIO);
        assert.equal(((s[13]! & 0x1f) << 8) | s[14]!, TS_LAYOUT.AUDIO_PID);
      }
      // SDT (EN 300 468 §5.2.3): valid sections every 500 ms, naming the one service.
      const sdts = packets.filter((p) => p.pid === TS_LAYOUT.SDT_PID);
      assert.ok(Math.abs(sdts.length - seconds * 2) <= 1, `${sdts.length} SDT packets`);
      for (const sdt of sdts) {
        const s = readSection(sdt.payload, TABLE_ID.SERVICE_DESCRIPTION_ACTUAL, true);
        assert.equal((s[3]! << 8) | s[4]!, TS_LAYOUT.TRANSPORT_STREAM_ID);
        assert.equal((s[11]! << 8) | s[12]!, TS_LAYOUT.PROGRAM_NUMBER, "service_id");
      }
      for (const list of [pats, pmts]) {
        assert.ok(list[0]!.index <= 2, "PSI right at the start");
        for (let i = 1; i < list.length; i++) {
          const gap = timeOf(list[i]!) - timeOf(list[i - 1]!);
          assert.ok(gap <= 0.1 + 2 * packetSeconds, `PSI gap ${gap} s`);
        }
      }

      // PCR: on the PCR PID, increasing, at most 40 ms apart, and following the bitrate exactly.
      const pcrs = packets.filter((p) => p.pcr !== undefined);
      assert.ok(pcrs.every((p) => p.pid === TS_LAYOUT.AUDIO_PID));
      assert.ok(pcrs.length >= seconds * 25);
      const first = pcrs[0]!;
      for (let i = 1; i < pcrs.length; i++) {
        const gap = pcrs[i]!.pcr! - pcrs[i - 1]!.pcr!;
        assert.ok(gap > 0 && gap <= 0.04 * TS.SYSTEM_CLOCK_HZ, `PCR gap ${gap} ticks`);
        const ideal = ((pcrs[i]!.index - first.index) * TS.PACKET_SIZE * 8 * 27e6) / bitrate;
        assert.ok(Math.abs(pcrs[i]!.pcr! - first.pcr! - ideal) <= 1, `PCR at ${pcrs[i]!.index}`);
      }

      // Audio PES: one silent MPEG-1 Layer II frame each, PTS every 24 ms, ahead of the PCR.
      const audio = packets.filter((p) => p.pid === TS_LAYOUT.AUDIO_PID && p.afc & 1);
      const pesList: { start: ParsedPacket; bytes: number[] }[] = [];
      for (const p of audio) {
        if (p.pusi) pesList.push({ start: p, bytes: [] });
        pesList.at(-1)?.bytes.push(...p.payload);
      }
      assert.ok(Math.abs(pesList.length - seconds / 0.024) <= 2, `${pesList.length} frames`);
      pesList.pop(); // may be cut at the end
      let previousPts = -1;
      for (const { start, bytes } of pesList) {
        assert.deepEqual(bytes.slice(0, 4), [0, 0, 1, TS_LAYOUT.AUDIO_STREAM_ID]);
        assert.equal((bytes[4]! << 8) | bytes[5]!, bytes.length - 6, "PES_packet_length");
        assert.equal(bytes[7]! & 0xc0, 0x80, "PTS only");
        const pts = (((bytes[9]! >> 1) & 7) * 2 ** 30) + (bytes[10]! << 22) +
          ((bytes[11]! >> 1) << 15) + (bytes[12]! << 7) + (bytes[13]! >> 1);
        if (previousPts >= 0) assert.equal(pts - previousPts, 2160, "24 ms at 90 kHz");
        previousPts = pts;
        const arrival90k = timeOf(start) * 90_000;
        assert.ok(pts > arrival90k && pts - arrival90k < 0.5 * 90_000, "PTS ahead of arrival");
        assert.deepEqual(bytes.slice(14, 18), [0xff, 0xfd, 0x44, 0xc0], "MP2 header");
        assert.equal(bytes.length, 14 + 192);
        assert.ok(bytes.slice(18).every((b) => b === 0));
      }

      // What is left is null padding: the stream runs at exactly the bitrate.
      const nulls = packets.filter((p) => p.pid === TS.NULL_PID).length;
      assert.ok(nulls > 0 || bitrate === MIN_TS_BITRATE);
    });
  }
});

Deno.test("TsMuxer is deterministic and writes only the requested packets", () => {
  const a = mux(2_000_000, 0.5);
  const b = mux(2_000_000, 0.5);
  assert.deepEqual(a, b);
  const muxer = new TsMuxer({ bitrate: 2_000_000 });
  const out = new Uint8Array(4 * TS.PACKET_SIZE).fill(0xaa);
  muxer.fillPackets(out, 3);
  assert.ok(out.subarray(3 * TS.PACKET_SIZE).every((x) => x === 0xaa));
  assert.equal(muxer.packetCount, 3);
});

Deno.test("TsMuxer rejects a low bitrate and a short buffer", () => {
  assert.throws(() => new TsMuxer({ bitrate: MIN_TS_BITRATE - 1 }), RangeError);
  assert.throws(() => new TsMuxer({ bitrate: 2.5e6 + 0.5 }), RangeError);
  const muxer = new TsMuxer({ bitrate: 2_000_000 });
  assert.throws(
    () => muxer.fillPackets(new Uint8Array(7 * TS.PACKET_SIZE - 1), 7),
    /Cannot write 7/,
  );
});

await peerTest({
  name: "ffprobe recognises the program and its MPEG audio stream",
  peers: ["ffmpeg"],
  netns: false,
  async fn() {
    const path = await Deno.makeTempFile({ suffix: ".ts" });
    try {
      await Deno.writeFile(path, mux(2_000_000, 2));
      const info = await ffprobeUrl(path, { programs: true });
      const stream = info.streams[0]!;
      assert.equal(info.streams.length, 1);
      assert.equal(stream.codec_type, "audio");
      assert.match(stream.codec_name ?? "", /^mp[23]$/);
      assert.equal(stream.sample_rate, "48000");
      assert.equal(stream.channels, 1);
      assert.equal(Number(stream.id), TS_LAYOUT.AUDIO_PID);
      assert.equal(info.programs[0]!.program_num, TS_LAYOUT.PROGRAM_NUMBER);
    } finally {
      await Deno.remove(path);
    }
  },
});
