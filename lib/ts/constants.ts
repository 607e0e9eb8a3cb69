// MPEG-2 transport stream constants (ISO/IEC 13818-1) and the DVB SI ones this project reads (ETSI EN
// 300 468): packet layout, reserved PIDs, table ids, descriptor tags, shared by the test source's
// muxer and the analyser.

/** Transport stream constants (ISO/IEC 13818-1 §2.4.3.2, Table 2-3). */
export const TS = {
  /** Bytes per transport packet. */
  PACKET_SIZE: 188,
  /** First byte of every packet. */
  SYNC_BYTE: 0x47,
  /** Bytes after the 4-byte packet header. */
  PAYLOAD_SIZE: 184,
  /** Program association table (Table 2-3). */
  PAT_PID: 0x0000,
  /** Conditional access table (Table 2-3). */
  CAT_PID: 0x0001,
  /** Null packets, used for padding to a constant bitrate (Table 2-3). */
  NULL_PID: 0x1fff,
  /** Number of PID values (13 bits). */
  PID_COUNT: 0x2000,
  /** PCR clock in Hz (§2.4.2.1). */
  SYSTEM_CLOCK_HZ: 27_000_000,
  /** PTS/DTS clock in Hz (§2.4.3.7). */
  PTS_CLOCK_HZ: 90_000,
  /** PTS and PCR base wrap at 2^33 (§2.4.3.5, §2.4.3.7). */
  PTS_MODULO: 2 ** 33,
  /** PCR (base × 300 + extension) wraps at 2^33 × 300 ticks of 27 MHz (§2.4.3.5). */
  PCR_MODULO: 2 ** 33 * 300,
} as const;

/** PIDs of DVB service information (ETSI EN 300 468 §5.1.3, Table 1). */
export const DVB_PID = {
  NIT: 0x0010,
  /** SDT and BAT. */
  SDT: 0x0011,
  EIT: 0x0012,
  /** TDT and TOT. */
  TDT: 0x0014,
} as const;

/** Table ids (ISO/IEC 13818-1 Table 2-31; ETSI EN 300 468 Table 2). */
export const TABLE_ID = {
  PROGRAM_ASSOCIATION: 0x00,
  CONDITIONAL_ACCESS: 0x01,
  PROGRAM_MAP: 0x02,
  NETWORK_ACTUAL: 0x40,
  NETWORK_OTHER: 0x41,
  SERVICE_DESCRIPTION_ACTUAL: 0x42,
  SERVICE_DESCRIPTION_OTHER: 0x46,
  BOUQUET_ASSOCIATION: 0x4a,
  /** First of the EIT table ids (0x4E-0x6F). */
  EVENT_INFORMATION_FIRST: 0x4e,
  EVENT_INFORMATION_LAST: 0x6f,
  TIME_DATE: 0x70,
  TIME_OFFSET: 0x73,
  /** table_id 0xFF: stuffing, no section follows in the packet (§2.4.4.4). */
  STUFFING: 0xff,
} as const;

/** Stream types used in the PMT (ISO/IEC 13818-1 Table 2-34); the full table is in stream_types.ts. */
export const STREAM_TYPE = {
  /** ISO/IEC 11172-3 (MPEG-1) audio: what the test source's muxer carries. */
  MPEG1_AUDIO: 0x03,
  /** PES packets with private data: AC-3, subtitles or teletext, told apart by descriptors. */
  PES_PRIVATE_DATA: 0x06,
  /** AVC / H.264 video (ITU-T H.264). */
  H264_VIDEO: 0x1b,
} as const;

/** Descriptor tags this project reads (ISO/IEC 13818-1 Table 2-45; ETSI EN 300 468 Table 12). */
export const DESCRIPTOR_TAG = {
  REGISTRATION: 0x05,
  TELETEXT: 0x56,
  SUBTITLING: 0x59,
  /** service_descriptor: service type, provider and service name (EN 300 468 §6.2.33). */
  SERVICE: 0x48,
  AC3: 0x6a,
  ENHANCED_AC3: 0x7a,
  DTS: 0x7b,
  AAC: 0x7c,
} as const;
