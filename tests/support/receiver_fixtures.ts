// Synthetic receiver-side inputs for tests of what reads the RFC 3550 statistics (the live table,
// JSON lines, client and server metrics, receiver reports): MPEG-TS-over-RTP datagrams (RFC 2250:
// PT 33, 90 kHz clock, seven 188-byte packets) and the view context a client renders them with.
import type { ViewContext } from "../../lib/client/stats_view.ts";
import type { ReceiverStats } from "../../lib/rtp/session_stats.ts";
import type { ReceiveTarget } from "../../lib/sdp/receive_target.ts";
import { writeRtpHeader } from "../../lib/rtp/writer.ts";

/** Bytes of one datagram: the 12-byte fixed RTP header and 7 × 188 bytes of transport stream. */
export const MP2T_DATAGRAM_BYTES = 12 + 7 * 188;

/** A new MP2T datagram (PT 33, no marker, zero payload); sequence and timestamp wrap. */
export function mp2tPacket(seq: number, ssrc: number, timestamp: number): Uint8Array {
  const packet = new Uint8Array(MP2T_DATAGRAM_BYTES);
  writeRtpHeader(packet, {
    payloadType: 33,
    marker: false,
    sequenceNumber: seq & 0xffff,
    timestamp,
    ssrc,
  });
  return packet;
}

/**
 * Feeds `stats` one MP2T datagram for each of `seqs` (timestamp `seq × 900`: 10 ms at 90 kHz), the
 * first arriving at `startMs` and each next one `stepMs` (default 10) later; returns the time after
 * the last.
 */
export function feedSequence(
  stats: ReceiverStats,
  ssrc: number,
  seqs: Iterable<number>,
  startMs: number,
  stepMs = 10,
): number {
  let at = startMs;
  for (const seq of seqs) {
    stats.onDatagram(mp2tPacket(seq, ssrc, seq * 900), at);
    at += stepMs;
  }
  return at;
}

/** The sequence numbers `from` up to, not including, `to`. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** A client's view context on 239.0.0.1:5004 via lo, receiving, no stalls; `overrides` replace. */
export function viewContext(overrides: Partial<ViewContext> = {}): ViewContext {
  return {
    group: "239.0.0.1",
    port: 5004,
    interfaceName: "lo",
    formats: [],
    state: "receiving",
    elapsedS: 0,
    stalls: 0,
    stalledS: 0,
    stallAfterS: 2,
    ...overrides,
  };
}

/** An MP2T target on 239.1.2.3:5004 (`overrides` replace). */
export function mp2tTarget(overrides: Partial<ReceiveTarget> = {}): ReceiveTarget {
  return {
    name: "tv",
    transport: "rtp",
    group: "239.1.2.3",
    ipVersion: 4,
    port: 5004,
    formats: [{ payloadType: 33, encoding: "MP2T", clockRate: 90000 }],
    unknownPayloadTypes: [],
    sources: [],
    media: { index: 1, type: "video", count: 1, types: ["video"], open: 1 },
    ...overrides,
  };
}
