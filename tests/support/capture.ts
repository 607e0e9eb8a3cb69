// Captures packets with tshark (Wireshark's dissectors: an independent SAP/SDP parser) for tests,
// inside the test network namespace (scripts/netns_test.sh), where the test runs as root.

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
  const child = new Deno.Command("tshark", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "";
  let err = "";
  const { promise: started, resolve: markStarted } = Promise.withResolvers<void>();
  const pump = async (stream: ReadableStream<Uint8Array>, onText: (text: string) => void) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) onText(chunk);
  };
  const drained = Promise.all([
    pump(child.stdout, (t) => (out += t)),
    pump(child.stderr, (t) => {
      err += t;
      if (/Capturing on/.test(err)) markStarted();
    }),
  ]);
  const status = child.status;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    started.then(() => "started" as const),
    status.then(() => "exited" as const),
    new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), options.startTimeoutMs ?? 15_000);
    }),
  ]);
  clearTimeout(timer);
  const rows = () => out.split("\n").filter((line) => line !== "").map((line) => line.split("\t"));
  let stopping: Promise<string[][]> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      try {
        child.kill("SIGINT");
      } catch { /* already ended */ }
      await status;
      await drained;
      return rows();
    })();
    return stopping;
  };
  if (outcome !== "started") {
    await stop();
    throw new Error(`tshark did not start capturing (${outcome}): ${err.trim()}`);
  }
  return {
    rows,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}
