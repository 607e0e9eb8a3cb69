// Text from the other side of a connection (a server's error detail, a stream name, a request path)
// made safe to print or echo: no terminal control (ECMA-48 escape sequences, C0/C1 controls) and a
// bounded length.

/** ECMA-48 CSI, OSC and two-character escape sequences (what a terminal would act upon). */
const ESCAPES = new RegExp(
  String.raw`\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])` +
    String.raw`|\x9b[0-?]*[ -/]*[@-~]`,
  "g",
);
/** C0 controls, DEL and C1 controls; tabs and line ends become spaces first. */
const CONTROLS = new RegExp(String.raw`[\x00-\x1f\x7f-\x9f]`, "g");

/** Default length of {@link printable} text, in characters. */
export const PRINTABLE_MAX_CHARS = 300;

/**
 * `text` without escape sequences and control characters, on one line (tabs and line ends become
 * spaces), cut to `maxChars` characters with `…` when longer. For anything remote before it reaches
 * a terminal, a log line or an echoed error.
 */
export function printable(text: string, maxChars = PRINTABLE_MAX_CHARS): string {
  const clean = text.replace(ESCAPES, "").replace(/[\t\r\n]+/g, " ").replace(CONTROLS, "");
  if (clean.length <= maxChars) return clean;
  let end = Math.max(0, maxChars - 1);
  const last = clean.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--; // do not split a surrogate pair
  return clean.slice(0, end) + "…";
}
