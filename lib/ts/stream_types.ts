// Names and roles of elementary streams: stream_type (ISO/IEC 13818-1 Table 2-34, ATSC A/52 and
// SCTE 35 registrations) refined by the descriptors DVB uses for private data (ETSI EN 300 468
// §6.2: AC-3, E-AC-3, DTS, AAC, subtitling, teletext) and the registration descriptor (§2.6.8).

import { DESCRIPTOR_TAG, STREAM_TYPE } from "./constants.ts";
import type { Descriptor } from "./psi.ts";

/** What an elementary stream carries. */
export type EsRole = "video" | "audio" | "data";

/** Name and role of a stream type. */
export interface StreamTypeInfo {
  readonly name: string;
  readonly role: EsRole;
}

/** stream_type values (Table 2-34 and common registrations) with their name and role. */
export const STREAM_TYPES: ReadonlyMap<number, StreamTypeInfo> = new Map([
  [0x01, { name: "MPEG-1 video", role: "video" }],
  [0x02, { name: "MPEG-2 video", role: "video" }],
  [0x03, { name: "MPEG-1 audio", role: "audio" }],
  [0x04, { name: "MPEG-2 audio", role: "audio" }],
  [0x05, { name: "private sections", role: "data" }],
  [0x06, { name: "PES private data", role: "data" }],
  [0x07, { name: "MHEG", role: "data" }],
  [0x08, { name: "DSM-CC", role: "data" }],
  [0x09, { name: "H.222.1", role: "data" }],
  [0x0a, { name: "DSM-CC multiprotocol encapsulation", role: "data" }],
  [0x0b, { name: "DSM-CC U-N messages", role: "data" }],
  [0x0c, { name: "DSM-CC stream descriptors", role: "data" }],
  [0x0d, { name: "DSM-CC sections", role: "data" }],
  [0x0e, { name: "auxiliary", role: "data" }],
  [0x0f, { name: "AAC audio (ADTS)", role: "audio" }],
  [0x10, { name: "MPEG-4 video", role: "video" }],
  [0x11, { name: "AAC audio (LATM)", role: "audio" }],
  [0x12, { name: "MPEG-4 SL/FlexMux (PES)", role: "data" }],
  [0x13, { name: "MPEG-4 SL/FlexMux (sections)", role: "data" }],
  [0x14, { name: "DSM-CC synchronized download", role: "data" }],
  [0x15, { name: "metadata (PES)", role: "data" }],
  [0x16, { name: "metadata (sections)", role: "data" }],
  [0x17, { name: "metadata (DSM-CC data carousel)", role: "data" }],
  [0x18, { name: "metadata (DSM-CC object carousel)", role: "data" }],
  [0x19, { name: "metadata (synchronized download)", role: "data" }],
  [0x1a, { name: "IPMP", role: "data" }],
  [0x1b, { name: "H.264 video", role: "video" }],
  [0x1c, { name: "MPEG-4 audio", role: "audio" }],
  [0x1d, { name: "MPEG-4 text", role: "data" }],
  [0x1e, { name: "MPEG-4 auxiliary video", role: "video" }],
  [0x1f, { name: "H.264 SVC video", role: "video" }],
  [0x20, { name: "H.264 MVC video", role: "video" }],
  [0x21, { name: "JPEG 2000 video", role: "video" }],
  [0x24, { name: "H.265 video", role: "video" }],
  [0x25, { name: "H.265 temporal video subset", role: "video" }],
  [0x2d, { name: "MPEG-H 3D audio", role: "audio" }],
  [0x2e, { name: "MPEG-H 3D audio auxiliary", role: "audio" }],
  [0x32, { name: "JPEG XS video", role: "video" }],
  [0x33, { name: "H.266 video", role: "video" }],
  [0x42, { name: "AVS video", role: "video" }],
  [0x81, { name: "AC-3 audio", role: "audio" }],
  [0x86, { name: "SCTE-35 splice information", role: "data" }],
  [0x87, { name: "E-AC-3 audio", role: "audio" }],
  [0xd1, { name: "Dirac video", role: "video" }],
  [0xea, { name: "VC-1 video", role: "video" }],
]);

/** Descriptors that say what PES private data (stream_type 0x06) carries (EN 300 468 §6.2). */
const PRIVATE_DATA_BY_DESCRIPTOR: ReadonlyMap<number, StreamTypeInfo> = new Map([
  [DESCRIPTOR_TAG.AC3, { name: "AC-3 audio", role: "audio" }],
  [DESCRIPTOR_TAG.ENHANCED_AC3, { name: "E-AC-3 audio", role: "audio" }],
  [DESCRIPTOR_TAG.DTS, { name: "DTS audio", role: "audio" }],
  [DESCRIPTOR_TAG.AAC, { name: "AAC audio", role: "audio" }],
  [DESCRIPTOR_TAG.SUBTITLING, { name: "DVB subtitles", role: "data" }],
  [DESCRIPTOR_TAG.TELETEXT, { name: "teletext", role: "data" }],
]);

/** registration_descriptor format identifiers (SMPTE RA) seen on private data. */
const PRIVATE_DATA_BY_REGISTRATION: ReadonlyMap<string, StreamTypeInfo> = new Map([
  ["AC-3", { name: "AC-3 audio", role: "audio" }],
  ["EAC3", { name: "E-AC-3 audio", role: "audio" }],
  ["Opus", { name: "Opus audio", role: "audio" }],
  ["BSSD", { name: "SMPTE 302M audio", role: "audio" }],
  ["KLVA", { name: "KLV metadata", role: "data" }],
]);

/**
 * Name and role of an elementary stream from its stream_type and ES descriptors: PES private data
 * (0x06) is named by its AC-3, E-AC-3, DTS, AAC, subtitling, teletext or registration descriptor;
 * unknown types are data named by their number.
 */
export function describeStream(
  streamType: number,
  descriptors: readonly Descriptor[],
): StreamTypeInfo {
  if (streamType === STREAM_TYPE.PES_PRIVATE_DATA) {
    for (const d of descriptors) {
      const known = PRIVATE_DATA_BY_DESCRIPTOR.get(d.tag);
      if (known !== undefined) return known;
      if (d.tag === DESCRIPTOR_TAG.REGISTRATION && d.data.length >= 4) {
        const id = String.fromCharCode(d.data[0]!, d.data[1]!, d.data[2]!, d.data[3]!);
        const registered = PRIVATE_DATA_BY_REGISTRATION.get(id);
        if (registered !== undefined) return registered;
      }
    }
  }
  return STREAM_TYPES.get(streamType) ??
    { name: `stream_type 0x${streamType.toString(16).padStart(2, "0")}`, role: "data" };
}
