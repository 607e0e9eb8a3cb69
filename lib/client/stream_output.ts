// `--output FILE|-`: opens where a stream's transport stream goes (stdout or a file), queues it in
// bounded memory (lib/common/queued_writer.ts) behind the reordering TsOutput (ts_output.ts), and
// says how it ended: a reader that closed the pipe, or a write error, ends the run.
import { abortable } from "../common/abortable.ts";
import { getLogger } from "@logtape/logtape";
import { ConfigError } from "../common/errors.ts";
import { QueuedWriter, type WriteTarget } from "../common/queued_writer.ts";
import { TsOutput, type TsOutputCounts } from "./ts_output.ts";

/** How the output stopped early: its reader closed the pipe, or writing failed (disk full...). */
export type OutputStop = "closed" | "failed";

/** Options of {@link StreamOutput.open}. */
export interface StreamOutputOptions {
  /** `--output`: a file name, or `-` for stdout. */
  readonly path: string;
  /** Called once when writing stops early, with why; the run is to end then. */
  readonly onStop: (stop: OutputStop, error: Error) => void;
  /** Queue size in bytes (default QUEUED_WRITER_DEFAULTS.CAPACITY_BYTES). */
  readonly capacityBytes?: number;
  /** Stdout, replaceable for tests. */
  readonly stdout?: WriteTarget;
  /** Ends the wait for a FIFO's reader (opening a FIFO waits until one opens it). */
  readonly signal?: AbortSignal;
}

/** What the output did, at its end. */
export interface StreamOutputSummary extends TsOutputCounts {
  readonly path: string;
  /** Bytes the file or pipe took. */
  readonly writtenBytes: number;
  /** Bytes dropped: a reader slower than the stream, or after the output stopped. */
  readonly droppedBytes: number;
  readonly stop?: OutputStop;
  readonly error?: string;
}

const logger = getLogger(["gateway", "client"]);

/** The `--output` of the run's one stream. */
export class StreamOutput {
  /** Where the stream's payloads go (StreamWatch's `output`). */
  readonly ts: TsOutput;
  readonly #path: string;
  readonly #writer: QueuedWriter;
  readonly #file: Deno.FsFile | undefined;
  #stop: OutputStop | undefined;

  private constructor(options: StreamOutputOptions, target: WriteTarget, file?: Deno.FsFile) {
    this.#path = options.path;
    this.#file = file;
    this.#writer = new QueuedWriter(target, {
      ...(options.capacityBytes === undefined ? {} : { capacityBytes: options.capacityBytes }),
      onError: (error) => {
        this.#stop = error instanceof Deno.errors.BrokenPipe ? "closed" : "failed";
        options.onStop(this.#stop, error);
      },
      onOverflow: () =>
        logger.warn(
          "--output: {path} takes the stream more slowly than it arrives; dropping what does not " +
            "fit in the queue (counted in the summary)",
          { path: this.#name },
        ),
    });
    this.ts = new TsOutput({ sink: this.#writer });
  }

  /**
   * Opens `path` (`-`: stdout; a file is created or truncated; a FIFO is waited on until its reader
   * opens it). Throws ConfigError naming it, or the signal's reason when aborted meanwhile.
   */
  static async open(options: StreamOutputOptions): Promise<StreamOutput> {
    if (options.path === "-") return new StreamOutput(options, options.stdout ?? Deno.stdout);
    let file: Deno.FsFile;
    const opening = Deno.open(options.path, { write: true, create: true, truncate: true });
    const { signal } = options;
    try {
      file = await abortable(opening, signal);
    } catch (error) {
      if (signal?.aborted) {
        // The open may still complete later: close what it opens.
        opening.then((f) => f.close(), () => {});
        throw signal.reason;
      }
      throw new ConfigError(
        "--output",
        `--output: cannot write ${options.path}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return new StreamOutput(options, file, file);
  }

  get #name(): string {
    return this.#path === "-" ? "stdout" : this.#path;
  }

  /**
   * Writes what the reorder buffer still holds, waits (bounded) for the queue to drain, closes the
   * file and returns the counts. Never rejects.
   */
  async close(): Promise<StreamOutputSummary> {
    this.ts.end();
    await this.#writer.close();
    try {
      this.#file?.close();
    } catch {
      // Already closed.
    }
    const counts = this.#writer.counts();
    const error = this.#writer.error;
    return {
      ...this.ts.counts(),
      path: this.#path,
      writtenBytes: counts.writtenBytes,
      droppedBytes: counts.droppedBytes,
      ...(this.#stop === undefined ? {} : { stop: this.#stop }),
      ...(error === undefined ? {} : { error: error.message }),
    };
  }
}
