// The PSI/SI tables the test source's muxer sends, each as one ready 188-byte packet: PAT and PMT
// (ISO/IEC 13818-1 §2.4.4.3, §2.4.4.8) and the SDT with a service_descriptor naming the service
// and its provider (ETSI EN 300 468 §5.2.3, §6.2.33). Built once; the muxer stamps the counter.

import { DESCRIPTOR_TAG, DVB_PID, STREAM_TYPE, TABLE_ID, TS } from "../ts/constants.ts";
import { crc32Mpeg2 } from "../ts/crc32.ts";
import { encodeDvbText } from "../ts/dvb_text.ts";

/** The layout the muxer writes: one program with one audio stream that also carries the PCR. */
export const TS_LAYOUT = {
  TRANSPORT_STREAM_ID: 1,
  /** original_network_id of the SDT: 0xFF01 is in the range for temporary private use. */
  ORIGINAL_NETWORK_ID: 0xff01,
  PROGRAM_NUMBER: 1,
  PMT_PID: 0x1000,
  AUDIO_PID: 0x0100,
  SDT_PID: DVB_PID.SDT,
  /** PES stream_id of the first MPEG audio stream (§2.4.3.7, Table 2-22). */
  AUDIO_STREAM_ID: 0xc0,
  /** service_type "digital radio sound service" (EN 300 468 Table 87): audio only. */
  SERVICE_TYPE: 0x02,
} as const;

/** Default names in the SDT. */
export const DEFAULT_SERVICE = {
  SERVICE_NAME: "rtp-multicast-gateway test",
  PROVIDER_NAME: "rtp-multicast-gateway",
} as const;

/** Longest encoded name accepted (both fit one packet with room to spare). */
export const MAX_NAME_BYTES = 64;

/*
 * The packet of a section that fits one packet: header with payload_unit_start_indicator 1 and
 * continuity counter 0 (stamped per packet), pointer_field 0, the section, its CRC_32 (Annex A),
 * then 0xFF stuffing (§2.4.4.1).
 */
function sectionPacket(pid: number, section: readonly number[]): Uint8Array {
  const packet = new Uint8Array(TS.PACKET_SIZE).fill(0xff);
  packet.set([TS.SYNC_BYTE, 0x40 | (pid >>> 8), pid & 0xff, 0x10, 0], 0);
  packet.set(section, 5);
  const crc = crc32Mpeg2(packet, 5, 5 + section.length);
  new DataView(packet.buffer).setUint32(5 + section.length, crc);
  return packet;
}

/*
 * Long section header (§2.4.4.11): | table_id | S 1, bit, reserved '11', section_length (12) |
 * | id extension (16) | '11' version (5) C | section_number | last_section_number |; the bit after
 * S is '0' in PSI and reserved_future_use '1' in DVB SI. section_length counts the CRC.
 */
function longSection(tableId: number, dvb: boolean, idExtension: number, body: readonly number[]) {
  const sectionLength = 5 + body.length + 4;
  return [
    tableId,
    (dvb ? 0xf0 : 0xb0) | (sectionLength >>> 8),
    sectionLength & 0xff,
    idExtension >>> 8,
    idExtension & 0xff,
    0xc1, // reserved '11', version 0, current_next_indicator 1
    0x00,
    0x00,
    ...body,
  ];
}

/** The PAT packet: program 1 on the PMT PID (body: program_number, '111', PID). */
export function patPacket(): Uint8Array {
  const { PROGRAM_NUMBER: n, PMT_PID: pid } = TS_LAYOUT;
  return sectionPacket(
    TS.PAT_PID,
    longSection(TABLE_ID.PROGRAM_ASSOCIATION, false, TS_LAYOUT.TRANSPORT_STREAM_ID, [
      n >>> 8,
      n & 0xff,
      0xe0 | (pid >>> 8),
      pid & 0xff,
    ]),
  );
}

/**
 * The PMT packet: PCR_PID = audio PID, no program descriptors, one MPEG-1 audio stream
 * (body: '111' PCR_PID, '1111' program_info_length 0, stream_type, '111' PID, '1111' ES_info 0).
 */
export function pmtPacket(): Uint8Array {
  const audio = TS_LAYOUT.AUDIO_PID;
  return sectionPacket(
    TS_LAYOUT.PMT_PID,
    longSection(TABLE_ID.PROGRAM_MAP, false, TS_LAYOUT.PROGRAM_NUMBER, [
      0xe0 | (audio >>> 8),
      audio & 0xff,
      0xf0,
      0x00,
      STREAM_TYPE.MPEG1_AUDIO,
      0xe0 | (audio >>> 8),
      audio & 0xff,
      0xf0,
      0x00,
    ]),
  );
}

function encodeName(text: string, what: string): Uint8Array {
  const bytes = encodeDvbText(text);
  if (bytes.length > MAX_NAME_BYTES) {
    throw new RangeError(`${what} is ${bytes.length} bytes encoded; at most ${MAX_NAME_BYTES}`);
  }
  return bytes;
}

/**
 * The SDT (actual) packet naming the service (EN 300 468 §5.2.3): original_network_id, reserved,
 * then service_id, '111111' EIT flags 0 0, running_status 4 (running), free_CA 0,
 * descriptors_loop_length, and a service_descriptor (type, provider name, service name; names in
 * the default table or as UTF-8 behind 0x15, Annex A). Throws RangeError for a name too long.
 */
export function sdtPacket(serviceName: string, providerName: string): Uint8Array {
  const provider = encodeName(providerName, "Provider name");
  const name = encodeName(serviceName, "Service name");
  const descriptor = [
    DESCRIPTOR_TAG.SERVICE,
    3 + provider.length + name.length,
    TS_LAYOUT.SERVICE_TYPE,
    provider.length,
    ...provider,
    name.length,
    ...name,
  ];
  const onid = TS_LAYOUT.ORIGINAL_NETWORK_ID;
  const service = TS_LAYOUT.PROGRAM_NUMBER;
  return sectionPacket(
    TS_LAYOUT.SDT_PID,
    longSection(TABLE_ID.SERVICE_DESCRIPTION_ACTUAL, true, TS_LAYOUT.TRANSPORT_STREAM_ID, [
      onid >>> 8,
      onid & 0xff,
      0xff,
      service >>> 8,
      service & 0xff,
      0xfc,
      0x80 | (descriptor.length >>> 8),
      descriptor.length & 0xff,
      ...descriptor,
    ]),
  );
}

/** Offset of the CRC_32's last byte in a packet from {@link sectionPacket} (for corrupting it). */
export function crcLastByteOffset(packet: Uint8Array): number {
  const sectionLength = ((packet[6]! & 0x0f) << 8) | packet[7]!;
  return 5 + 3 + sectionLength - 1;
}
