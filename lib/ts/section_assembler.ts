// PSI/SI section reassembly from transport packet payloads (ISO/IEC 13818-1 §2.4.4.1-§2.4.4.4:
// pointer_field, sections spanning packets, several sections per packet, 0xFF stuffing). One
// assembler per PID; a fixed buffer, no allocation, never throws.

/** What the assembler reports: whole sections and the reasons it dropped bytes. */
export interface SectionSink {
  /** A complete section is `section[0, length)` (valid until the next push on this assembler). */
  onSection(pid: number, section: Uint8Array, length: number): void;
  /** A section was dropped as malformed: see {@link SectionDrop}. */
  onSectionDrop(pid: number, reason: SectionDrop): void;
}

/** Why an assembler dropped a section. */
export const SectionDrop = {
  /** pointer_field points past the end of the packet. */
  POINTER_PAST_END: 1,
  /** section_length exceeds the buffer (1021 for PSI, 4093 for private sections). */
  TOO_LONG: 2,
  /** The next section started (pointer_field) before this one was complete. */
  CUT_SHORT: 3,
} as const;

/** One of the {@link SectionDrop} codes. */
export type SectionDrop = typeof SectionDrop[keyof typeof SectionDrop];

/** Largest sections (ISO/IEC 13818-1 §2.4.4.11: section_length ≤ 4093 for private sections). */
export const SECTION_LIMITS = {
  /** PAT, CAT, PMT, NIT, SDT, BAT, TOT: section_length ≤ 1021 (§2.4.4.3, EN 300 468 §5.2). */
  PSI_BYTES: 1024,
  /** EIT and private sections: section_length ≤ 4093. */
  PRIVATE_BYTES: 4096,
} as const;

/*
 * Section framing (§2.4.4.1): in a packet with payload_unit_start_indicator = 1 the payload opens
 * with pointer_field, the number of bytes that still belong to the previous section; a new section
 * starts right after them. Each section opens with
 *
 * | table_id (8) | syntax (1) | private (1) | reserved (2) | section_length (12) | ... |
 *
 * and lasts 3 + section_length bytes. After one section another may start in the same packet;
 * a table_id of 0xFF is stuffing up to the end of the packet.
 */

/** Reassembles the sections of one PID from the payloads handed to {@link push}. */
export class SectionAssembler {
  readonly #buffer: Uint8Array;
  /** Bytes of the current section collected so far; -1 when no section is in progress. */
  #have = -1;
  /** Total bytes of the current section (3 + section_length), 0 until the header is complete. */
  #need = 0;

  /** `maxBytes`: largest section accepted ({@link SECTION_LIMITS}). */
  constructor(maxBytes: number = SECTION_LIMITS.PSI_BYTES) {
    this.#buffer = new Uint8Array(maxBytes);
  }

  /** Whether a section is in progress (waiting for more packets). */
  get inProgress(): boolean {
    return this.#have >= 0;
  }

  /** Drops the section in progress (after a continuity error, or a scrambled packet). */
  reset(): void {
    this.#have = -1;
    this.#need = 0;
  }

  /**
   * Adds the payload `u8[start, end)` of one packet of `pid`; `unitStart` is its
   * payload_unit_start_indicator. Calls `sink` for each complete section and each drop.
   */
  push(
    u8: Uint8Array,
    start: number,
    end: number,
    unitStart: boolean,
    pid: number,
    sink: SectionSink,
  ): void {
    let p = start;
    if (!unitStart) {
      if (this.#have >= 0 && p < end) this.#append(u8, p, end, pid, sink);
      return;
    }
    if (p >= end) {
      this.reset();
      return;
    }
    const pointer = u8[p++]!;
    if (p + pointer > end) {
      if (this.#have >= 0) this.reset();
      sink.onSectionDrop(pid, SectionDrop.POINTER_PAST_END);
      return;
    }
    if (this.#have >= 0) {
      if (pointer > 0) this.#append(u8, p, p + pointer, pid, sink);
      if (this.#have >= 0) {
        this.reset();
        sink.onSectionDrop(pid, SectionDrop.CUT_SHORT);
      }
    }
    p += pointer;
    while (p < end && u8[p] !== 0xff) {
      this.#have = 0;
      this.#need = 0;
      p = this.#append(u8, p, end, pid, sink);
      if (this.#have >= 0) return; // continues in the next packet
    }
  }

  /** Copies bytes of the current section from `u8[p, end)`; returns the offset after them. */
  #append(u8: Uint8Array, p: number, end: number, pid: number, sink: SectionSink): number {
    const buffer = this.#buffer;
    let have = this.#have;
    while (p < end) {
      if (this.#need === 0) {
        buffer[have++] = u8[p++]!;
        if (have === 3) {
          const need = 3 + (((buffer[1]! & 0x0f) << 8) | buffer[2]!);
          if (need > buffer.length) {
            this.reset();
            sink.onSectionDrop(pid, SectionDrop.TOO_LONG);
            return end;
          }
          this.#need = need;
          if (need === 3) break; // section_length 0: complete already
        }
        continue;
      }
      const take = Math.min(this.#need - have, end - p);
      for (let i = 0; i < take; i++) buffer[have + i] = u8[p + i]!;
      have += take;
      p += take;
      if (have === this.#need) {
        this.#have = -1;
        this.#need = 0;
        sink.onSection(pid, buffer, have);
        return p;
      }
    }
    if (this.#need !== 0 && have === this.#need) {
      this.#have = -1;
      this.#need = 0;
      sink.onSection(pid, buffer, have);
      return p;
    }
    this.#have = have;
    return p;
  }
}
