// Test helpers for MPEG-TS (ISO/IEC 13818-1): hand-built transport packets, muxer runs cut into
// datagrams of 7 packets (RFC 2250) with their arrival times, and a small independent reader of
// packet headers for the tests' own bookkeeping.

import { TS } from "../../lib/ts/constants.ts";
import { crc32Mpeg2 } from "../../lib/ts/crc32.ts";
import { TsMuxer, type TsMuxerOptions } from "../../lib/source/ts_muxer.ts";
import type { TsTruth } from "../../lib/source/ts_truth.ts";

/** Fields of a hand-built packet; everything but `pid` has a default. */
export interface PacketSpec {
  pid: number;
  cc?: number;
  /** payload_unit_start_indicator. */
  pusi?: boolean;
  /** adaptation_field_control (default 1: payload only; 2 with `pcr` or `adaptation`). */
  afc?: number;
  tei?: boolean;
  scrambling?: number;
  discontinuity?: boolean;
  /** PCR in 27 MHz ticks. */
  pcr?: number;
  /** Payload bytes (padded with 0xFF). */
  payload?: readonly number[] | Uint8Array;
}

/** A 188-byte packet from `spec` (adaptation field when afc has bit 2: flags, optional PCR). */
export function tsPacket(spec: PacketSpec): Uint8Array {
  const p = new Uint8Array(TS.PACKET_SIZE).fill(0xff);
  const hasAf = spec.pcr !== undefined || spec.discontinuity === true;
  const afc = spec.afc ?? (hasAf ? (spec.payload === undefined ? 2 : 3) : 1);
  p[0] = TS.SYNC_BYTE;
  p[1] = (spec.tei ? 0x80 : 0) | (spec.pusi ? 0x40 : 0) | (spec.pid >>> 8);
  p[2] = spec.pid & 0xff;
  p[3] = ((spec.scrambling ?? 0) << 6) | (afc << 4) | ((spec.cc ?? 0) & 0x0f);
  let at = 4;
  const payload = spec.payload ?? [];
  if (afc & 2) {
    const afLength = afc === 2
      ? 183
      : Math.max(1 + (spec.pcr !== undefined ? 6 : 0), 183 - payload.length);
    p[4] = afLength;
    p[5] = (spec.discontinuity ? 0x80 : 0) | (spec.pcr !== undefined ? 0x10 : 0);
    if (spec.pcr !== undefined) {
      const base = Math.floor(spec.pcr / 300);
      const ext = spec.pcr % 300;
      p[6] = Math.floor(base / 2 ** 25) & 0xff;
      p[7] = Math.floor(base / 2 ** 17) & 0xff;
      p[8] = Math.floor(base / 2 ** 9) & 0xff;
      p[9] = Math.floor(base / 2) & 0xff;
      p[10] = ((base % 2) << 7) | 0x7e | (ext >>> 8);
      p[11] = ext & 0xff;
    }
    at = 5 + afLength;
  }
  if (afc & 1) p.set(Array.from(payload).slice(0, TS.PACKET_SIZE - at), at);
  return p;
}

/** A long-form section with its CRC_32: table_id, syntax 1, given id extension and body. */
export function section(
  tableId: number,
  idExtension: number,
  body: readonly number[],
  version = 0,
) {
  const length = 5 + body.length + 4;
  const bytes = [
    tableId,
    0xb0 | (length >>> 8),
    length & 0xff,
    idExtension >>> 8,
    idExtension & 0xff,
    0xc1 | (version << 1),
    0,
    0,
    ...body,
  ];
  const crc = crc32Mpeg2(Uint8Array.from(bytes));
  return [...bytes, crc >>> 24, (crc >>> 16) & 0xff, (crc >>> 8) & 0xff, crc & 0xff];
}

/** Concatenates packets into one datagram. */
export function datagram(...packets: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(packets.length * TS.PACKET_SIZE);
  packets.forEach((p, i) => out.set(p, i * TS.PACKET_SIZE));
  return out;
}

/** A muxer run cut into datagrams of 7 packets, each with its arrival (mux) time. */
export interface MuxRun {
  readonly datagrams: Uint8Array[];
  readonly timesMs: number[];
  readonly truth: TsTruth;
}

/** Runs a TsMuxer for `seconds` of mux time in datagrams of 7 packets. */
export function muxRun(options: TsMuxerOptions, seconds: number): MuxRun {
  const muxer = new TsMuxer(options);
  const datagrams: Uint8Array[] = [];
  const timesMs: number[] = [];
  while (muxer.timeMs < seconds * 1000) {
    timesMs.push(muxer.timeMs);
    const d = new Uint8Array(7 * TS.PACKET_SIZE);
    muxer.fillPackets(d, 7);
    datagrams.push(d);
  }
  return { datagrams, timesMs, truth: muxer.truth };
}

/** Independent header read: PID, whether the packet has a payload, and its CC. */
export function headerOf(
  d: Uint8Array,
  index: number,
): { pid: number; payload: boolean; cc: number } {
  const at = index * TS.PACKET_SIZE;
  return {
    pid: ((d[at + 1]! & 0x1f) << 8) | d[at + 2]!,
    payload: (d[at + 3]! & 0x10) !== 0,
    cc: d[at + 3]! & 0x0f,
  };
}
