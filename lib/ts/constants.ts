// MPEG-2 transport stream constants (ISO/IEC 13818-1): packet layout, reserved PIDs, table ids and
// stream types, shared by the test source's muxer and the client's analyser.

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
  /** Null packets, used for padding to a constant bitrate (Table 2-3). */
  NULL_PID: 0x1fff,
  /** PCR clock in Hz (§2.4.2.1). */
  SYSTEM_CLOCK_HZ: 27_000_000,
  /** PTS/DTS clock in Hz (§2.4.3.7). */
  PTS_CLOCK_HZ: 90_000,
} as const;

/** PSI table ids (ISO/IEC 13818-1 Table 2-31). */
export const TABLE_ID = {
  PROGRAM_ASSOCIATION: 0x00,
  PROGRAM_MAP: 0x02,
} as const;

/** Stream types used in the PMT (ISO/IEC 13818-1 Table 2-34). */
export const STREAM_TYPE = {
  /** ISO/IEC 11172-3 (MPEG-1) audio: what this muxer carries. */
  MPEG1_AUDIO: 0x03,
} as const;
