// The live table on a terminal: redraws it in place by moving the cursor up over the screen rows
// the previous drawing took (ECMA-48 CPL and ED), and keeps log messages readable above it.
import { screenRows } from "./terminal_text.ts";

/** A terminal's size in character cells. */
export interface TerminalSize {
  readonly columns: number;
  readonly rows: number;
}

/** Options of {@link LiveView}. */
export interface LiveViewOptions {
  /** Writes the table (stdout); false when the output is gone. */
  readonly write: (text: string) => boolean;
  /** Writes a message (stderr) on the same screen. */
  readonly writeMessage: (text: string) => void;
  /** The terminal's current size, or undefined when it cannot be had. */
  readonly size: () => TerminalSize | undefined;
  /** False on a terminal without cursor movement (TERM=dumb): every drawing is appended. */
  readonly redraw?: boolean;
}

/** ANSI sequence that moves the cursor to the start of the line `rows` rows up and clears below. */
export function eraseRows(rows: number): string {
  return rows > 0 ? `\x1b[${rows}F\x1b[J` : "";
}

/**
 * Draws a text block (the table) over its previous drawing, and writes messages above it: a
 * message erases the table, is written, and the table is drawn again below it, so nothing stale
 * stays on the screen and no message is overwritten. Rows are counted at the terminal's current
 * width, so lines that wrap (or that a narrower terminal re-wrapped) are erased too.
 */
export class LiveView {
  readonly #options: LiveViewOptions;
  #lines: string[] = [];
  #open = true;

  constructor(options: LiveViewOptions) {
    this.#options = options;
  }

  /** The terminal size now (80×24 when unknown). */
  size(): TerminalSize {
    return this.#options.size() ?? { columns: 80, rows: 24 };
  }

  /** Replaces the drawn block with `text` (lines ending in "\n"). False once the output is gone. */
  draw(text: string): boolean {
    if (!this.#open) return false;
    this.#open = this.#options.write(this.#erase() + text);
    this.#lines = text.endsWith("\n") ? text.slice(0, -1).split("\n") : text.split("\n");
    return this.#open;
  }

  /** Writes `text` (one or more lines) above the drawn block, which is then drawn again. */
  message(text: string): void {
    if (this.#lines.length === 0 || !this.#open || this.#options.redraw === false) {
      this.#options.writeMessage(text);
      return;
    }
    const lines = this.#lines;
    this.#open = this.#options.write(this.#erase());
    this.#lines = [];
    this.#options.writeMessage(text.endsWith("\n") ? text : text + "\n");
    if (this.#open) this.draw(lines.join("\n") + "\n");
  }

  /** Draws `text` one last time and leaves it: later messages go below it. */
  finish(text: string): void {
    this.draw(text);
    this.#lines = [];
  }

  #erase(): string {
    if (this.#options.redraw === false || this.#lines.length === 0) return "";
    return eraseRows(screenRows(this.#lines, this.size().columns));
  }
}
