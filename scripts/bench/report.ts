// The benchmark suite's report: each figure printed as a JSON line the moment it is measured
// (figures.ts), kept with its target, and, over several runs of the suite (--repeat), merged into
// one row per figure: the median, judged against the same target, with every run's value.
import {
  type Figure,
  figureLine,
  medianFigure,
  renderTable,
  type Row,
  type Target,
} from "./figures.ts";

/** One figure of one run, with what judges it. */
export interface Entry {
  readonly figure: Figure;
  readonly target?: Target;
  /** A condition besides the target (e.g. zero loss); the merged row needs it in every run. */
  readonly condition?: boolean;
  readonly note?: string;
}

const encoder = new TextEncoder();

/** Collects the figures of every run; see {@link Report.rows}. */
export class Report {
  readonly #runs: Entry[][] = [];
  readonly #write: (text: string) => void;
  readonly #repeated: boolean;
  readonly #log: (text: string) => void;

  /**
   * `runs`: how many runs of the suite there will be; `write` receives the JSON lines (default
   * stdout); `log` progress text (default stderr).
   */
  constructor(
    options: { runs?: number; write?: (text: string) => void; log?: (text: string) => void } = {},
  ) {
    this.#repeated = (options.runs ?? 1) > 1;
    this.#log = options.log ?? ((text) => console.error(text));
    this.#write = options.write ??
      ((text) => void Deno.stdout.writeSync(encoder.encode(text)));
  }

  /** Starts the next run of the suite. */
  startRun(): void {
    this.#runs.push([]);
  }

  /**
   * Records a figure of the current run and prints its JSON line. The positional form takes a
   * target as text and whether it was met (judged per run: the merged row needs every run met).
   */
  add(entry: Entry): void;
  add(figure: Figure, target?: string, pass?: boolean, note?: string): void;
  add(first: Entry | Figure, target = "", pass?: boolean, note = ""): void {
    const entry: Entry = "figure" in first ? first : {
      figure: first,
      ...(pass === undefined ? {} : { target: { text: target, met: () => true }, condition: pass }),
      note,
    };
    if (this.#runs.length === 0) this.startRun();
    const run = this.#runs.length;
    this.#runs[run - 1]!.push(entry);
    const line = figureLine(entry.figure);
    this.#write(this.#repeated ? line.replace(/}\n$/, `,"run":${run}}\n`) : line);
  }

  /**
   * One row per figure name, in the order of first appearance: the figure itself after one run;
   * after several, the median ({@link medianFigure}) with each run's value, met when the median
   * meets the target and the condition held in every run.
   */
  rows(): Row[] {
    const names: string[] = [];
    const byName = new Map<string, Entry[]>();
    for (const run of this.#runs) {
      for (const entry of run) {
        const list = byName.get(entry.figure.name);
        if (list === undefined) {
          names.push(entry.figure.name);
          byName.set(entry.figure.name, [entry]);
        } else list.push(entry);
      }
    }
    return names.map((name) => {
      const entries = byName.get(name)!;
      const last = entries[entries.length - 1]!;
      const figure = entries.length === 1
        ? last.figure
        : medianFigure(entries.map((e) => e.figure));
      const conditions = entries.every((e) => e.condition ?? true);
      const conditionNote = entries.some((e) => e.condition === false)
        ? `condition failed in ${entries.filter((e) => e.condition === false).length} of ` +
          `${entries.length} runs; `
        : "";
      return {
        figure,
        target: last.target?.text ?? "",
        ...(last.target === undefined ? {} : { pass: last.target.met(figure) && conditions }),
        note: conditionNote + (last.note ?? ""),
        ...(entries.length === 1 ? {} : { samples: entries.map((e) => e.figure.value) }),
      };
    });
  }

  /** Logs that a figure could not be measured here, and why. */
  skip(name: string, why: string): void {
    this.#log(`  skipped ${name}: ${why}`);
  }

  /** Prints the merged figures as JSON lines (`"run":"median"`, `"samples"`) after several runs. */
  writeMedians(): void {
    if (!this.#repeated) return;
    for (const row of this.rows()) {
      const extra = `,"run":"median","samples":${JSON.stringify(row.samples ?? [])}}\n`;
      this.#write(figureLine(row.figure).replace(/}\n$/, extra));
    }
  }

  /** The table of {@link rows}. */
  table(title: string): string {
    return renderTable(this.rows(), title);
  }
}
