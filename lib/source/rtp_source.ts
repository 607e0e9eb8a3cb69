// Test source that stands in for VLC: MPEG-TS over RTP (RFC 2250, PT 33, 7 × 188-byte packets per
// datagram, RFC 3550 §5.1 header, 90 kHz timestamps from the send schedule), or raw MPEG-TS over UDP
// (VLC's #udp{...}), to a multicast group, paced, through the impaired-send pipeline
// (./impaired_sender.ts), with TR 101 290 faults (./ts_faults.ts) and an exact truth report.

import { delay } from "../common/delay.ts";
import { ConfigError } from "../common/errors.ts";
import type { ImpairmentCounters } from "./impairment.ts";
import {
  elapsedSeconds,
  ImpairedSender,
  type ImpairmentSettings,
  randomUint32,
  resolveRun,
} from "./impaired_sender.ts";
import {
  checkInteger,
  type MulticastSendOptions,
  resolveSend,
  SEND_DEFAULTS,
} from "./multicast_sender.ts";
import { TS } from "../ts/constants.ts";
import { MIN_TS_BITRATE, TsMuxer } from "./ts_muxer.ts";
import type { TsFaultOptions } from "./ts_faults.ts";
import type { TsTruth } from "./ts_truth.ts";
import { RTP_HEADER } from "../rtp/packet.ts";
import { writeRtpHeader } from "../rtp/writer.ts";

/** What the source sends (RFC 2250 §2, RFC 3551 §6). */
export const MP2T_RTP = {
  /** Static payload type of MP2T. */
  PAYLOAD_TYPE: 33,
  /** RTP clock rate of MP2T, Hz. */
  CLOCK_RATE: 90_000,
  /** Transport packets per datagram (the common choice: 7 × 188 = 1316 fits a 1500-byte MTU). */
  TS_PACKETS: 7,
  /** Payload bytes per datagram. */
  PAYLOAD_BYTES: 7 * TS.PACKET_SIZE,
  /** Datagram bytes: 12-byte header + 1316. */
  DATAGRAM_BYTES: RTP_HEADER.FIXED_LENGTH + 7 * TS.PACKET_SIZE,
} as const;

/** Defaults of {@link sendRtpStream} and the source script (VLC's `#rtp{dst=239.0.0.1,port=5004,mux=ts}`). */
export const SOURCE_DEFAULTS = {
  group: "239.0.0.1",
  port: 5004,
  /** TTL and loopback of the sending socket ({@link SEND_DEFAULTS}: this host only). */
  ...SEND_DEFAULTS,
  /** Bit/s of TS payload (RTP/UDP/IP headers not included). */
  bitrate: 2_000_000,
} as const;

/** Highest accepted bitrate, bit/s (about 9 500 datagrams per second). */
export const MAX_SOURCE_BITRATE = 100_000_000;

/** Options of {@link sendRtpStream}. */
export interface RtpSourceOptions extends MulticastSendOptions, ImpairmentSettings {
  /** TS bitrate in bit/s (default 2 000 000); RTP timestamps follow this rate. */
  readonly bitrate?: number;
  /** SSRC (default random). */
  readonly ssrc?: number;
  /** Sequence number of the first packet (default random). */
  readonly startSeq?: number;
  /** RTP timestamp of the first packet (default random). */
  readonly startTimestamp?: number;
  /** Stop after this many packets were generated. */
  readonly packets?: number;
  /** Stop at this many seconds of schedule: ⌈durationS × bitrate / 10 528⌉ packets. */
  readonly durationS?: number;
  /** Stops sending; the held packet is still flushed and the truth returned. */
  readonly signal?: AbortSignal;
  /**
   * Raw MPEG-TS over UDP: each datagram is the 7 TS packets without the RTP header (what VLC's
   * `#udp{dst=...}` and ffmpeg's `-f mpegts udp://` send). Default false (RTP).
   */
  readonly rawUdp?: boolean;
  /** TR 101 290 faults the muxer injects; their exact counts are the truth's `ts`. */
  readonly tsFaults?: TsFaultOptions;
  /** Called once the options are valid and the socket is open, before the first packet. */
  readonly onStart?: () => void;
}

/** The truth of a source run: what was generated and put on the wire. */
export interface SourceTruth extends ImpairmentCounters {
  /** Sequence number of the first and last generated packet; null when none was. */
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly ssrc: number;
  /** RTP timestamp of the first packet. */
  readonly startTimestamp: number;
  readonly seed: number;
  readonly group: string;
  readonly port: number;
  readonly bitrate: number;
  readonly payloadType: number;
  /** Wall-clock seconds from the first send to the end. */
  readonly durationS: number;
  /** `rtp`, or `udp` for raw MPEG-TS over UDP (then `firstSeq`, `lastSeq` are null). */
  readonly transport: "rtp" | "udp";
  /** What a TR 101 290 analyser must count on the transport stream written (before impairments). */
  readonly ts: TsTruth;
}

/** RTP clock ticks per datagram numerator: bits per datagram × 90 000. */
const TICKS_NUMERATOR = MP2T_RTP.PAYLOAD_BYTES * 8 * MP2T_RTP.CLOCK_RATE;

/**
 * Sends MPEG-TS over RTP to a multicast group until `packets`, `durationS` or `signal` stops it,
 * and returns the truth. Datagram n is due at n × 10 528 / bitrate seconds after the start and
 * carries timestamp startTimestamp + ⌊n × 947 520 000 / bitrate⌋ (90 kHz); a timer tick every few
 * milliseconds sends every packet that is due (in a burst when behind). Impairments apply per
 * packet ({@link ImpairedSender}); a held packet is flushed at the end. Throws ConfigError for bad
 * options and MulticastError when the socket cannot be opened or a send fails.
 */
export async function sendRtpStream(options: RtpSourceOptions): Promise<SourceTruth> {
  const send = resolveSend(options);
  const bitrate = checkInteger(
    options.bitrate ?? SOURCE_DEFAULTS.bitrate,
    "bitrate",
    MIN_TS_BITRATE,
    MAX_SOURCE_BITRATE,
  );
  const ssrc = checkInteger(options.ssrc ?? randomUint32(), "ssrc", 0, 0xffff_ffff);
  const startSeq = checkInteger(
    options.startSeq ?? (randomUint32() & 0xffff),
    "startSeq",
    0,
    0xffff,
  );
  const startTimestamp = checkInteger(
    options.startTimestamp ?? randomUint32(),
    "startTimestamp",
    0,
    0xffff_ffff,
  );
  const { limits, impairment } = resolveRun(options);
  let limit = limits.packets;
  if (limits.durationS !== undefined) {
    const bits = MP2T_RTP.PAYLOAD_BYTES * 8;
    limit = Math.min(limit, Math.ceil((limits.durationS * bitrate) / bits));
  }
  const rawUdp = options.rawUdp ?? false;
  let muxer: TsMuxer;
  try {
    muxer = new TsMuxer({ bitrate, ...(options.tsFaults ? { faults: options.tsFaults } : {}) });
  } catch (error) {
    throw new ConfigError("tsFaults", (error as Error).message, { cause: error });
  }
  const packet = new Uint8Array(MP2T_RTP.DATAGRAM_BYTES);
  const payload = packet.subarray(RTP_HEADER.FIXED_LENGTH);
  const datagram = rawUdp ? payload : packet;
  const header = {
    payloadType: MP2T_RTP.PAYLOAD_TYPE,
    marker: false,
    sequenceNumber: startSeq,
    timestamp: startTimestamp,
    ssrc,
  };
  const tickStep = Math.floor(TICKS_NUMERATOR / bitrate);
  const tickRemainderStep = TICKS_NUMERATOR % bitrate;
  let tickRemainder = 0;
  const msPerPacket = (MP2T_RTP.PAYLOAD_BYTES * 8 * 1000) / bitrate;
  const signal = options.signal;

  using sender = await ImpairedSender.open(send, impairment, datagram.length);
  let generated = 0;
  const start = performance.now();
  options.onStart?.();
  while (generated < limit && !signal?.aborted) {
    const elapsed = performance.now() - start;
    const due = Math.min(limit, Math.floor(elapsed / msPerPacket) + 1);
    while (generated < due && !signal?.aborted) {
      if (!rawUdp) writeRtpHeader(packet, header);
      muxer.fillPackets(payload, MP2T_RTP.TS_PACKETS);
      await sender.send(datagram);
      generated++;
      header.sequenceNumber = (header.sequenceNumber + 1) & 0xffff;
      tickRemainder += tickRemainderStep;
      let ticks = tickStep;
      if (tickRemainder >= bitrate) {
        ticks++;
        tickRemainder -= bitrate;
      }
      header.timestamp = (header.timestamp + ticks) >>> 0;
    }
    if (generated >= limit || signal?.aborted) break;
    const wait = generated * msPerPacket - (performance.now() - start);
    await delay(Math.max(1, Math.ceil(wait)), signal);
  }
  await sender.flush();
  return {
    ...sender.snapshot(),
    firstSeq: generated === 0 || rawUdp ? null : startSeq,
    lastSeq: generated === 0 || rawUdp ? null : (startSeq + generated - 1) & 0xffff,
    ssrc,
    startTimestamp,
    seed: sender.seed,
    group: send.group,
    port: send.port,
    bitrate,
    payloadType: MP2T_RTP.PAYLOAD_TYPE,
    durationS: elapsedSeconds(start),
    transport: rawUdp ? "udp" : "rtp",
    ts: muxer.truth,
  };
}

/**
 * Parses a bitrate flag: an integer of bit/s with an optional k (×1000) or M (×1 000 000) suffix,
 * e.g. `2000000`, `2M`, `500k`, `1.5M`. Throws ConfigError naming `field`.
 */
export function parseBitrate(text: string, field = "bitrate"): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)([kKmM]?)$/.exec(text.trim());
  const factor = match?.[2] === "" ? 1 : /k/i.test(match?.[2] ?? "") ? 1_000 : 1_000_000;
  const value = match === null ? NaN : Number(match[1]) * factor;
  if (!Number.isSafeInteger(value)) {
    throw new ConfigError(
      field,
      `${field}: expected bit/s such as 2000000, 2M or 500k, got "${text}"`,
    );
  }
  return value;
}
