// Prometheus text exposition (format 0.0.4) of metric families read from snapshots at scrape time,
// written by npm:prom-client (loaded on first use, so programs without metrics do not pay for it).
// Callers describe families and produce samples; this module only renders them.
import type { Counter, Gauge, Registry } from "prom-client";

/** Metric types this project exposes (Prometheus text format `# TYPE`). */
export type MetricType = "counter" | "gauge";

/** One metric family: its name (counters end in `_total`), type, help text and label names. */
export interface MetricFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labelNames: readonly string[];
}

/** One sample of a family: a value for one set of label values. */
export interface Sample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Samples of one scrape, by family name; families without an entry render no samples. */
export type Samples = ReadonlyMap<string, readonly Sample[]>;

/** Renders metric families; see {@link createExposition}. */
export interface Exposition {
  /** `Content-Type` of {@link Exposition.render}'s text. */
  readonly contentType: string;
  /** Collects the samples once and renders every family as Prometheus text. */
  render(): Promise<string>;
}

/** Process figures every program exposes (prom-client's default metrics read /proc, which the
 * permission sets do not grant, and would report 0). */
export const PROCESS_FAMILIES: readonly MetricFamily[] = [
  {
    name: "process_resident_memory_bytes",
    type: "gauge",
    help: "Resident set size of the process in bytes.",
    labelNames: [],
  },
  {
    name: "process_start_time_seconds",
    type: "gauge",
    help: "Start time of the process since the Unix epoch in seconds.",
    labelNames: [],
  },
  {
    name: "deno_heap_used_bytes",
    type: "gauge",
    help: "JavaScript heap in use, in bytes.",
    labelNames: [],
  },
];

/** Samples of {@link PROCESS_FAMILIES} now. Needs no permission. */
export function processSamples(): Map<string, Sample[]> {
  const memory = Deno.memoryUsage();
  return new Map([
    ["process_resident_memory_bytes", [{ labels: {}, value: memory.rss }]],
    ["process_start_time_seconds", [{ labels: {}, value: performance.timeOrigin / 1000 }]],
    ["deno_heap_used_bytes", [{ labels: {}, value: memory.heapUsed }]],
  ]);
}

/**
 * Builds an exposition of `families` (plus {@link PROCESS_FAMILIES}) whose samples come from
 * `collect`, called once per render. A sample whose labels do not match its family's label names,
 * or a counter value that is negative or not finite, makes render() reject (a programming error).
 * Renders are serialised, so concurrent scrapes each see one consistent collection.
 */
export async function createExposition(
  families: readonly MetricFamily[],
  collect: () => Samples,
): Promise<Exposition> {
  const prom = await import("prom-client");
  const registry: Registry = new prom.Registry();
  let current: Samples = new Map();
  for (const family of [...families, ...PROCESS_FAMILIES]) {
    const config = {
      name: family.name,
      help: family.help,
      labelNames: family.labelNames as string[],
      registers: [registry],
    };
    if (family.type === "counter") {
      new prom.Counter({
        ...config,
        collect(this: Counter<string>) {
          this.reset();
          for (const sample of current.get(family.name) ?? []) {
            this.inc(sample.labels, sample.value);
          }
        },
      });
    } else {
      new prom.Gauge({
        ...config,
        collect(this: Gauge<string>) {
          this.reset();
          for (const sample of current.get(family.name) ?? []) {
            this.set(sample.labels, sample.value);
          }
        },
      });
    }
  }
  let queue: Promise<unknown> = Promise.resolve();
  const renderOnce = async (): Promise<string> => {
    current = new Map([...collect(), ...processSamples()]);
    try {
      return await registry.metrics();
    } finally {
      current = new Map();
    }
  };
  return {
    contentType: registry.contentType,
    render() {
      const result = queue.then(renderOnce, renderOnce);
      queue = result.catch(() => {});
      return result;
    },
  };
}
