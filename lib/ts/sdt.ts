// Service description table parsing (ETSI EN 300 468 §5.2.3) with the service_descriptor
// (§6.2.33, tag 0x48) that names each service and its provider. Takes one whole section, returns a
// readonly object and throws TsParseError with the offset.

import { DESCRIPTOR_TAG, TABLE_ID } from "./constants.ts";
import { decodeDvbText } from "./dvb_text.ts";
import { TsParseError } from "./parse_error.ts";
import { parseDescriptors, parseSectionHeader, type SectionHeader } from "./psi.ts";

/** One service of an SDT. */
export interface SdtService {
  /** service_id: the program_number of the service in the PAT. */
  readonly serviceId: number;
  /** running_status (3 bits, EN 300 468 Table 6): 4 = running. */
  readonly runningStatus: number;
  /** free_CA_mode: 1 = some components are scrambled. */
  readonly scrambled: boolean;
  /** service_type of the service_descriptor (Table 87), or null without one. */
  readonly serviceType: number | null;
  /** Service name, decoded (Annex A), or null without a service_descriptor. */
  readonly name: string | null;
  /** Provider name, decoded, or null without a service_descriptor. */
  readonly provider: string | null;
}

/** A service description section ({@link parseSdt}). */
export interface Sdt extends SectionHeader {
  readonly transportStreamId: number;
  readonly originalNetworkId: number;
  /** True for the SDT of this transport stream (table_id 0x42), false for another's (0x46). */
  readonly actual: boolean;
  readonly services: readonly SdtService[];
}

/*
 * SDT body (§5.2.3), after the long header (transport_stream_id as the id extension):
 * | original_network_id (16) | reserved_future_use (8) |
 * then up to the CRC, per service:
 * | service_id (16) | reserved (6) | EIT_schedule (1) | EIT_p/f (1) |
 * | running_status (3) | free_CA_mode (1) | descriptors_loop_length (12) | descriptors |
 *
 * service_descriptor (§6.2.33): | tag 0x48 | length | service_type (8) |
 * | provider_name_length (8) | provider name | service_name_length (8) | service name |
 */

/** Bytes of the long header plus original_network_id and the reserved byte. */
const SDT_BODY_START = 11;

/** Parses an SDT section (table_id 0x42 or 0x46); the CRC is not checked here. */
export function parseSdt(u8: Uint8Array): Sdt {
  const header = parseSectionHeader(u8);
  if (
    header.tableId !== TABLE_ID.SERVICE_DESCRIPTION_ACTUAL &&
    header.tableId !== TABLE_ID.SERVICE_DESCRIPTION_OTHER
  ) {
    throw new TsParseError(
      `Expected an SDT (table_id 0x42 or 0x46), got 0x${header.tableId.toString(16)}`,
      0,
    );
  }
  const bodyEnd = header.length - 4;
  if (bodyEnd < SDT_BODY_START) {
    throw new TsParseError("SDT is too short for original_network_id", 8);
  }
  const services: SdtService[] = [];
  let p = SDT_BODY_START;
  while (p < bodyEnd) {
    if (p + 5 > bodyEnd) throw new TsParseError("SDT service entry runs past the end", p);
    const loopLength = ((u8[p + 3]! & 0x0f) << 8) | u8[p + 4]!;
    if (p + 5 + loopLength > bodyEnd) {
      throw new TsParseError(`descriptors_loop_length ${loopLength} runs past the end`, p + 3);
    }
    let serviceType: number | null = null;
    let name: string | null = null;
    let provider: string | null = null;
    for (const d of parseDescriptors(u8, p + 5, p + 5 + loopLength)) {
      if (d.tag !== DESCRIPTOR_TAG.SERVICE || name !== null) continue;
      const data = d.data;
      const providerLength = data[1] ?? 0;
      const nameAt = 2 + providerLength;
      const nameLength = data[nameAt] ?? 0;
      if (data.length < 3 || nameAt + 1 + nameLength > data.length) {
        throw new TsParseError("service_descriptor names run past the descriptor", p + 5);
      }
      serviceType = data[0]!;
      provider = decodeDvbText(data.subarray(2, nameAt));
      name = decodeDvbText(data.subarray(nameAt + 1, nameAt + 1 + nameLength));
    }
    services.push({
      serviceId: (u8[p]! << 8) | u8[p + 1]!,
      runningStatus: u8[p + 3]! >>> 5,
      scrambled: (u8[p + 3]! & 0x10) !== 0,
      serviceType,
      name,
      provider,
    });
    p += 5 + loopLength;
  }
  return {
    ...header,
    transportStreamId: header.idExtension,
    originalNetworkId: (u8[8]! << 8) | u8[9]!,
    actual: header.tableId === TABLE_ID.SERVICE_DESCRIPTION_ACTUAL,
    services,
  };
}
