// The named error of the MPEG-TS parsers (ISO/IEC 13818-1 packets, PES headers and PSI sections,
// ETSI EN 300 468 SI sections): what was wrong and at which byte offset.

/** Input that is not a valid transport packet, PES header or section; `offset` is where it failed. */
export class TsParseError extends RangeError {
  override name = "TsParseError";
  /** Byte offset in the parsed input at which the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}
