// DVB text strings (ETSI EN 300 468 Annex A): the character-table prefix bytes (A.2), the default
// Latin table based on ISO/IEC 6937 (Figure A.1) and the control codes (A.1), decoded to Unicode.
// Used for service and provider names; never throws (unknown bytes become U+FFFD).

/** ISO/IEC 6937 non-spacing diacritics 0xC1-0xCF and the Unicode combining mark each becomes. */
const DIACRITICS: Record<number, string> = {
  0xc1: "\u0300",
  0xc2: "\u0301",
  0xc3: "\u0302",
  0xc4: "\u0303",
  0xc5: "\u0304",
  0xc6: "\u0306",
  0xc7: "\u0307",
  0xc8: "\u0308",
  0xca: "\u030a",
  0xcb: "\u0327",
  0xcd: "\u030b",
  0xce: "\u0328",
  0xcf: "\u030c",
};

/** The spacing characters of the upper half of the default table (ISO/IEC 6937, 0xA0-0xFF). */
const UPPER_HALF = "\u00a0¡¢£€¥\ufffd§¤‘“«←↑→↓°±²³×µ¶·÷’”»¼½¾¿" + // 0xA0-0xBF
  "\ufffd".repeat(16) + // 0xC0-0xCF: diacritics, handled apart
  "―¹®©™♪¬¦\ufffd\ufffd\ufffd\ufffd⅛⅜⅝⅞" + // 0xD0-0xDF
  "ΩÆĐªĦ\ufffdĲĿŁØŒºÞŦŊŉ" + // 0xE0-0xEF
  "ĸæđðħıĳŀłøœßþŧŋ\u00ad"; // 0xF0-0xFF

/** Single-byte tables selected by a first byte of 0x01-0x0B (Table A.3): ISO/IEC 8859-5 to -15. */
function iso8859(part: number): string | null {
  return part >= 1 && part <= 16 && part !== 12 ? `iso-8859-${part}` : null;
}

const decoders = new Map<string, TextDecoder>();

function decodeWith(label: string, bytes: Uint8Array): string {
  let decoder = decoders.get(label);
  if (decoder === undefined) {
    decoder = new TextDecoder(label);
    decoders.set(label, decoder);
  }
  return decoder.decode(bytes);
}

/** The default table (Figure A.1): ASCII, 6937 diacritics before their letter, 6937 symbols. */
function decodeDefault(bytes: Uint8Array): string {
  let out = "";
  let pendingMark = "";
  for (const b of bytes) {
    if (b >= 0xc1 && b <= 0xcf) {
      pendingMark = DIACRITICS[b] ?? "";
      continue;
    }
    let char: string;
    if (b >= 0x20 && b < 0x7f) char = String.fromCharCode(b);
    else if (b >= 0xa0) char = UPPER_HALF[b - 0xa0]!;
    else if (b === 0x8a) char = " "; // CR/LF control code
    else continue; // other control codes (A.1: 0x80-0x9F, and C0) carry no text
    out += char + pendingMark;
    pendingMark = "";
  }
  return out.normalize("NFC");
}

/** Drops the DVB control codes (U+E080-U+E09F in two-byte tables, A.1) and C0 controls. */
function dropControls(text: string): string {
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code === 0xe08a || code === 0x8a) out += " ";
    else if ((code >= 0xe080 && code <= 0xe09f) || code < 0x20 || (code >= 0x80 && code < 0xa0)) {
      continue;
    } else out += char;
  }
  return out;
}

/**
 * Decodes a DVB string (EN 300 468 Annex A). The first byte selects the table: 0x20 or more is the
 * default (6937-based) table; 0x01-0x0B ISO/IEC 8859-5 to -15; 0x10 0x00 N ISO/IEC 8859-N; 0x11
 * UCS-2 (big-endian); 0x12 KS X 1001 (EUC-KR); 0x13 GB 2312; 0x14 Big5; 0x15 UTF-8. Reserved or
 * unsupported tables (including 0x1F, compressed text) decode the rest with the default table.
 * Control codes are removed, except CR/LF (0x8A), which becomes a space.
 */
export function decodeDvbText(bytes: Uint8Array): string {
  if (bytes.length === 0) return "";
  const first = bytes[0]!;
  if (first >= 0x20) return decodeDefault(bytes);
  let label: string | null = null;
  let rest = bytes.subarray(1);
  if (first >= 0x01 && first <= 0x0b) label = iso8859(first + 4);
  else if (first === 0x10) {
    label = bytes.length >= 3 && bytes[1] === 0 ? iso8859(bytes[2]!) : null;
    rest = bytes.subarray(Math.min(3, bytes.length));
  } else if (first === 0x11) label = "utf-16be";
  else if (first === 0x12) label = "euc-kr";
  else if (first === 0x13) label = "gbk";
  else if (first === 0x14) label = "big5";
  else if (first === 0x15) label = "utf-8";
  else if (first === 0x1f) rest = bytes.subarray(Math.min(2, bytes.length));
  if (label === null) return decodeDefault(rest);
  return dropControls(decodeWith(label, rest));
}

/**
 * Encodes a name for a DVB string: printable ASCII as it is (default table), anything else as
 * UTF-8 behind the 0x15 prefix (EN 300 468 Table A.3). The inverse of {@link decodeDvbText}.
 */
export function encodeDvbText(text: string): Uint8Array {
  if (/^[\x20-\x7e]*$/.test(text)) return Uint8Array.from(text, (c) => c.charCodeAt(0));
  const utf8 = new TextEncoder().encode(text);
  const out = new Uint8Array(utf8.length + 1);
  out[0] = 0x15;
  out.set(utf8, 1);
  return out;
}
