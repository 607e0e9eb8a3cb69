// Captures packets with tshark (Wireshark's dissectors: an independent SAP/SDP parser) for tests,
// inside the test network namespace (scripts/netns_test.sh), where the test runs as root.
import { Child } from "../../scripts/support/process.ts";

/** A running capture; `await using` stops it. */
export interface Capture extends AsyncDisposable {
  /** Rows so far: one per packet, the requested fields in order. */
  rows(): string[][];
  /** Stops tshark and returns every row. */
  stop(): Promise<string[][]>;
}

/** Options of {@link startCapture}. */
export interface CaptureOptions {
  /** Interface, default `lo`. */
  readonly interface?: string;
  /** Capture filter (BPF), e.g. `udp dst port 9875`. */
  readonly filter: string;
  /** Fields printed for each packet (`-T fields -e ...`), e.g. `ip.ttl`, `sap.flags.t`. */
  readonly fields: readonly string[];
  /** Wait at most this long for tshark to start capturing; default 15 000 ms. */
  readonly startTimeoutMs?: number;
}

/**
 * Starts `tshark -l -i IFACE -f FILTER -T fields -E separator=/t -e ...` and resolves once it says it
 * is capturing. Throws when tshark is missing or does not start in time.
 */
export async function startCapture(options: CaptureOptions): Promise<Capture> {
  const args = ["-l", "-n", "-i", options.interface ?? "lo", "-f", options.filter, "-T", "fields"];
  for (const field of options.fields) args.push("-e", field);
  const child = new Child("tshark", args);
  const rows = () =>
    child.stdout.split("\n").filter((line) => line !== "").map((line) => line.split("\t"));
  let stopping: Promise<string[][]> | undefined;
  const stop = () => {
    stopping ??= child.stop("SIGINT").then(rows);
    return stopping;
  };
  try {
    await child.waitFor(/Capturing on/, { timeoutMs: options.startTimeoutMs ?? 15_000 });
  } catch (error) {
    await stop();
    throw new Error(`tshark did not start capturing: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return {
    rows,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}
