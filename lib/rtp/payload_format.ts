// RTP payload formats: payload type, encoding name, clock rate and channels, as carried in
// `a=rtpmap` (RFC 8866 §6.6) with the static payload types of the RTP/AVP profile (RFC 3551 §6).
import { ConfigError } from "../common/errors.ts";

/** One RTP payload format of a stream. */
export interface PayloadFormat {
  /** RTP payload type, 0-127 (RFC 3550 §5.1). */
  readonly payloadType: number;
  /** Encoding name as in `a=rtpmap`, e.g. `MP2T`, `H264`. */
  readonly encoding: string;
  /** RTP clock rate in Hz, e.g. 90000. */
  readonly clockRate: number;
  /** Audio channels, when the rtpmap gives them. */
  readonly channels?: number;
}

/** Static payload types of RFC 3551 §6 (Tables 4 and 5) that streaming tools use. */
export const STATIC_PAYLOAD_TYPES = {
  0: { encoding: "PCMU", clockRate: 8000, channels: 1 },
  3: { encoding: "GSM", clockRate: 8000, channels: 1 },
  8: { encoding: "PCMA", clockRate: 8000, channels: 1 },
  9: { encoding: "G722", clockRate: 8000, channels: 1 },
  10: { encoding: "L16", clockRate: 44100, channels: 2 },
  11: { encoding: "L16", clockRate: 44100, channels: 1 },
  14: { encoding: "MPA", clockRate: 90000 },
  26: { encoding: "JPEG", clockRate: 90000 },
  31: { encoding: "H261", clockRate: 90000 },
  32: { encoding: "MPV", clockRate: 90000 },
  33: { encoding: "MP2T", clockRate: 90000 },
  34: { encoding: "H263", clockRate: 90000 },
} as const;

/** A payload type number that RFC 3551 assigns statically. */
export type StaticPayloadType = keyof typeof STATIC_PAYLOAD_TYPES;

/** First dynamic payload type (RFC 3551 §6: 96-127 are dynamic). */
export const FIRST_DYNAMIC_PAYLOAD_TYPE = 96;

/** The format a static payload type stands for, or `undefined` for dynamic or unassigned ones. */
export function staticFormat(payloadType: number): PayloadFormat | undefined {
  const known = (STATIC_PAYLOAD_TYPES as Record<number, Omit<PayloadFormat, "payloadType">>)[
    payloadType
  ];
  return known === undefined ? undefined : { payloadType, ...known };
}

/** True for a valid RTP payload type number (0-127), excluding the RTCP-conflicting 72-76 (RFC 5761 §4). */
export function isValidPayloadType(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 127 && (value < 72 || value > 76);
}

/**
 * Parses an encoding such as `MP2T/90000` or `opus/48000/2` into name, clock rate and channels.
 * Throws a RangeError naming the text when it is not `NAME/RATE[/CHANNELS]`.
 */
export function parseEncoding(text: string): Omit<PayloadFormat, "payloadType"> {
  const match = /^([A-Za-z0-9][A-Za-z0-9._+-]{0,31})\/([0-9]{1,9})(?:\/([0-9]{1,2}))?$/.exec(
    text.trim(),
  );
  if (match === null) {
    throw new RangeError(
      `Invalid encoding "${text}": expected NAME/CLOCKRATE[/CHANNELS], e.g. MP2T/90000`,
    );
  }
  const clockRate = Number(match[2]);
  if (clockRate <= 0) throw new RangeError(`Invalid encoding "${text}": clock rate must be > 0`);
  const channels = match[3] === undefined ? undefined : Number(match[3]);
  if (channels !== undefined && channels <= 0) {
    throw new RangeError(`Invalid encoding "${text}": channels must be > 0`);
  }
  return channels === undefined
    ? { encoding: match[1]!, clockRate }
    : { encoding: match[1]!, clockRate, channels };
}

/** `NAME/RATE[/CHANNELS]` text of a format, as written in `a=rtpmap`. */
export function formatEncoding(format: Omit<PayloadFormat, "payloadType">): string {
  const base = `${format.encoding}/${format.clockRate}`;
  return format.channels === undefined ? base : `${base}/${format.channels}`;
}

/** True when two formats name the same encoding (case-insensitive), clock rate and channels. */
export function sameEncoding(
  a: Omit<PayloadFormat, "payloadType">,
  b: Omit<PayloadFormat, "payloadType">,
): boolean {
  return a.encoding.toUpperCase() === b.encoding.toUpperCase() && a.clockRate === b.clockRate &&
    (a.channels ?? 1) === (b.channels ?? 1);
}

/** Media type (`m=` line) a format is carried in: audio for audio encodings, video otherwise. */
export function mediaTypeOf(format: Omit<PayloadFormat, "payloadType">): "audio" | "video" {
  const audio =
    /^(PCMU|PCMA|GSM|G72\d.*|L8|L16|L24|MPA|OPUS|MP4A-LATM|MPEG4-GENERIC|AC3|EAC3|SPEEX|G729|ILBC|AMR.*)$/i;
  return audio.test(format.encoding) ? "audio" : "video";
}

/**
 * Builds a payload format from a payload type and optional `NAME/RATE[/CH]` encoding; a static payload
 * type (RFC 3551) may omit the encoding. Throws ConfigError naming `field`.
 */
export function makeFormat(
  payloadType: number,
  encoding: string | undefined,
  field: string,
): PayloadFormat {
  if (!isValidPayloadType(payloadType)) {
    throw new ConfigError(
      field,
      `${field}: payload type ${payloadType} is not valid (0-127, excluding 72-76)`,
    );
  }
  if (encoding === undefined) {
    const known = staticFormat(payloadType);
    if (known === undefined) {
      throw new ConfigError(
        field,
        `${field}: payload type ${payloadType} is dynamic; give its encoding, e.g. H264/90000`,
      );
    }
    return known;
  }
  try {
    return { payloadType, ...parseEncoding(encoding) };
  } catch (error) {
    throw new ConfigError(field, `${field}: ${(error as Error).message}`, { cause: error });
  }
}
