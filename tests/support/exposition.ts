// Reads one sample out of a Prometheus text exposition (format 0.0.4) for tests that compare a
// scraped /metrics with another count; promtool (tests/support/prometheus.ts) checks the syntax.

/**
 * The value of the sample `name` whose labels are exactly `labels` (in any order; `{}` for a
 * sample without labels), or undefined when there is none.
 */
export function metricSample(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).sort().join(",");
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    if ((match[2] ?? "").split(",").filter((l) => l !== "").sort().join(",") === wanted) {
      return Number(match[3]);
    }
  }
  return undefined;
}
