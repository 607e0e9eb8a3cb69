// Benchmark figures: one JSON line each on stdout ({"name","value","unit","baseline","baselineValue",
// "ratio"}, ratio > 1 = better than the baseline), targets as data (so the median of several runs
// is judged like one run), and a human table on stderr. Used by scripts/bench/; not runnable.

/** One benchmark figure, as printed on stdout. */
export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What the value is compared with: another figure's name, `target`, or null for a baseline itself. */
  readonly baseline: string | null;
  readonly baselineValue: number | null;
  /** > 1 when the value is better than the baseline (higher, or lower for costs); null without one. */
  readonly ratio: number | null;
}

/** A figure with what the table shows beside it. */
export interface Row {
  readonly figure: Figure;
  /** Target text, e.g. `ratio ≥ 0.9 and ≥ 100000 pps`. */
  readonly target: string;
  /** Whether the target is met; undefined for figures without one. */
  readonly pass?: boolean;
  /** Extra context (loss, sender limit, notes). */
  readonly note: string;
  /** The value of each run when the figure is the median of several. */
  readonly samples?: readonly number[];
}

/** A target: its text for the table and the test of a figure (a single run's or the median). */
export interface Target {
  readonly text: string;
  readonly met: (figure: Figure) => boolean;
}

/** Target: the value is at most `limit` (costs: CPU, memory, time). */
export function atMost(limit: number, text: string): Target {
  return { text, met: (f) => f.value <= limit };
}

/** Target: the ratio against the baseline is at least `limit` (ratio > 1 = better). */
export function ratioAtLeast(limit: number, text: string): Target {
  return { text, met: (f) => f.ratio !== null && f.ratio >= limit };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** A figure for which more is better (rates): ratio = value / baseline. */
export function higherIsBetter(
  name: string,
  value: number,
  unit: string,
  baseline: string | null = null,
  baselineValue: number | null = null,
): Figure {
  const ratio = baselineValue === null || baselineValue <= 0 ? null : value / baselineValue;
  return {
    name,
    value: round(value, 2),
    unit,
    baseline,
    baselineValue: baselineValue === null ? null : round(baselineValue, 2),
    ratio: ratio === null ? null : round(ratio, 3),
  };
}

/**
 * A figure for which less is better (time, CPU, memory): ratio = baseline / value. A value at or
 * below 1 % of the baseline (e.g. no memory growth at all) counts as 1 % so the ratio stays finite.
 */
export function lowerIsBetter(
  name: string,
  value: number,
  unit: string,
  baseline: string,
  baselineValue: number,
): Figure {
  const floor = Math.abs(baselineValue) / 100;
  return {
    name,
    value: round(value, 2),
    unit,
    baseline,
    baselineValue: round(baselineValue, 2),
    ratio: round(baselineValue / Math.max(value, floor), 3),
  };
}

/** The JSON line of a figure (with the newline). */
export function figureLine(figure: Figure): string {
  return JSON.stringify({
    name: figure.name,
    value: figure.value,
    unit: figure.unit,
    baseline: figure.baseline,
    baselineValue: figure.baselineValue,
    ratio: figure.ratio,
  }) + "\n";
}

function cell(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

/** The human table of all rows. */
export function renderTable(rows: readonly Row[], title: string): string {
  const header = ["figure", "value", "unit", "baseline", "ratio", "target", "ok", "note"];
  const body = rows.map((r) => [
    r.figure.name,
    String(r.figure.value),
    r.figure.unit,
    r.figure.baseline === null ? "-" : `${r.figure.baseline} (${r.figure.baselineValue})`,
    r.figure.ratio === null ? "-" : r.figure.ratio.toFixed(3),
    r.target,
    r.pass === undefined ? "" : r.pass ? "yes" : "NO",
    r.samples === undefined
      ? r.note
      : `median of ${r.samples.join(" / ")}` + (r.note === "" ? "" : `; ${r.note}`),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => cell(c, i === 7 ? 0 : widths[i]!, i === 1 || i === 4)).join("  ")
      .trimEnd();
  return [
    title,
    line(header),
    line(widths.map((w, i) => "-".repeat(i === 7 ? header[7]!.length : w))),
    ...body.map(line),
    "",
  ].join("\n");
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * One figure for several runs of the same one: the median value, the median baseline value and
 * the median of the runs' ratios (each run's ratio compares figures measured side by side).
 */
export function medianFigure(runs: readonly Figure[]): Figure {
  const first = runs[0];
  if (first === undefined) throw new RangeError("medianFigure() needs at least one run");
  const ratios = runs.map((f) => f.ratio).filter((r): r is number => r !== null);
  const baselines = runs.map((f) => f.baselineValue).filter((b): b is number => b !== null);
  return {
    ...first,
    value: round(median(runs.map((f) => f.value)), 2),
    baselineValue: baselines.length === 0 ? null : round(median(baselines), 2),
    ratio: ratios.length === 0 ? null : round(median(ratios), 3),
  };
}
