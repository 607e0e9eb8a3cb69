// Text for a terminal (ECMA-48 / ANSI X3.64 control sequences): SGR colours, the visible width of
// text that carries them, truncation to a width, and the screen rows a line takes when it wraps.

/** SGR styles the live view uses (ECMA-48 §8.3.117). */
export const STYLES = {
  red: "\x1b[31m",
  green: "\x1b[32m",
  yellow: "\x1b[33m",
  dim: "\x1b[2m",
  bold: "\x1b[1m",
} as const;

/** One of {@link STYLES}. */
export type Style = keyof typeof STYLES;

/** SGR 0: back to the default rendition. */
const RESET = "\x1b[0m";

// deno-lint-ignore no-control-regex -- matches CSI sequences (ESC [ ... final byte)
const CSI = /\x1b\[[0-9;?]*[@-~]/g;
// deno-lint-ignore no-control-regex -- the same, captured, to split text around the sequences
const CSI_SPLIT = /(\x1b\[[0-9;?]*[@-~])/;

/** `text` in `style` when `color` is on, else unchanged. */
export function paint(text: string, style: Style | undefined, color: boolean): string {
  return color && style !== undefined && text !== "" ? STYLES[style] + text + RESET : text;
}

/** `text` without control sequences. */
export function stripControls(text: string): string {
  return text.replace(CSI, "");
}

/** Columns `text` takes on the screen (control sequences take none; one column per code point). */
export function visibleLength(text: string): number {
  let length = 0;
  for (const _ of stripControls(text)) length++;
  return length;
}

/**
 * `text` cut to at most `width` visible columns; a cut line ends with "…" (and a reset, so a
 * colour never runs on). Control sequences are kept whole.
 */
export function truncateVisible(text: string, width: number): string {
  if (visibleLength(text) <= width) return text;
  if (width <= 0) return "";
  let out = "";
  let used = 0;
  let styled = false;
  for (const part of text.split(CSI_SPLIT)) {
    if (part.startsWith("\x1b[")) {
      out += part;
      styled = part !== RESET;
      continue;
    }
    for (const char of part) {
      if (used === width - 1) return out + "…" + (styled ? RESET : "");
      out += char;
      used++;
    }
  }
  return out;
}

/** Screen rows that `lines` take on a terminal `columns` wide, counting the rows a long line wraps to. */
export function screenRows(lines: readonly string[], columns: number): number {
  let rows = 0;
  for (const line of lines) {
    rows += Math.max(1, Math.ceil(visibleLength(line) / Math.max(1, columns)));
  }
  return rows;
}

/** An RTP SSRC as the views write it: `0x` and eight hex digits. */
export function ssrcHex(ssrc: number): string {
  return `0x${ssrc.toString(16).padStart(8, "0")}`;
}
