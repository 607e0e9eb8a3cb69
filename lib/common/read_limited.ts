// The one bounded reader of byte streams: request bodies (server), answers and error bodies (client),
// and files (read_file_limited.ts). Bytes are copied into one buffer that never grows past the limit.
import { BODY_DEADLINES, type Deadlines } from "./deadlines.ts";

/** Options of {@link readLimited}. */
export interface ReadLimitedOptions {
  /** Cancels the stream and throws the signal's reason when it aborts. */
  readonly signal?: AbortSignal;
  /** Expected size (e.g. a Content-Length), to allocate once; capped by the limit. */
  readonly sizeHint?: number;
}

/** A body as Request and Response hold it. */
export interface BodySource {
  readonly body: ReadableStream<Uint8Array> | null;
  bytes(): Promise<Uint8Array>;
}

/** Options of {@link readBodyLimited}. */
export interface ReadBodyOptions {
  /** The Content-Length the peer declared, when it did. */
  readonly declaredLength?: number;
  /** Time allowed for the whole body, in ms: then a TimeoutError is thrown. */
  readonly timeoutMs: number;
  /** Where the timeout is kept; default the process's shared BODY_DEADLINES (one timer for all). */
  readonly deadlines?: Deadlines;
}

/**
 * Reads an HTTP body through the limit within `timeoutMs`; `undefined` when it is larger.
 * A declared length over the limit is refused before reading. With a declared length within it,
 * the HTTP layer frames the body and gathers exactly that many bytes (`bytes()`: measured on Deno
 * 2.9, a body trickled one byte at a time grows nothing), the fast path of almost every request;
 * without one (chunked, HTTP/2 DATA), {@link readLimited}. A timeout throws a DOMException named
 * TimeoutError and leaves the body unread: close the connection then.
 */
export function readBodyLimited(
  source: BodySource,
  limit: number,
  options: ReadBodyOptions,
): Promise<Uint8Array | undefined> {
  const { declaredLength, timeoutMs } = options;
  const deadlines = options.deadlines ?? BODY_DEADLINES;
  if (declaredLength === undefined) return readUndeclared(source, limit, timeoutMs, deadlines);
  if (declaredLength > limit) {
    return (source.body?.cancel() ?? Promise.resolve()).then(nothing, nothing);
  }
  // Not an async function, and no timer of its own: a deadline on the shared timer (a timer per
  // request cost ~8 µs, and each async layer costs a promise and a turn of the microtask queue).
  return new Promise((resolve, reject) => {
    const deadline = deadlines.add(timeoutMs, () => reject(bodyTimeout()));
    source.bytes().then((body) => {
      deadline.cancel();
      resolve(body.byteLength > limit ? undefined : body);
    }, (error) => {
      deadline.cancel();
      reject(error);
    });
  });
}

function nothing(): undefined {
  return undefined;
}

function bodyTimeout(): DOMException {
  return new DOMException("Body timeout", "TimeoutError");
}

/** A body without a declared length, through {@link readLimited}, cancelled at the deadline. */
async function readUndeclared(
  source: BodySource,
  limit: number,
  timeoutMs: number,
  deadlines: Deadlines,
): Promise<Uint8Array | undefined> {
  const abort = new AbortController();
  const deadline = deadlines.add(timeoutMs, () => abort.abort(bodyTimeout()));
  try {
    return await readLimited(source.body, limit, { signal: abort.signal });
  } finally {
    deadline.cancel();
  }
}

/** First buffer size when no size hint is given; doubled as needed, never past the limit. */
const INITIAL_BYTES = 4096;
/** Smallest view handed to a BYOB read (see readInto). */
const MIN_VIEW_BYTES = 1024;

/**
 * Reads `stream` to the end and returns its bytes, or `undefined` as soon as more than `limit` bytes
 * arrive (the stream is then cancelled, so the rest is never read). The bytes go into one buffer of
 * at most `limit + 1` bytes as they arrive: a byte stream (Deno's request and response bodies,
 * files) is read with a BYOB reader straight into it, any other stream chunk by chunk with each chunk
 * copied and dropped at once. Deno hands every chunk of a default read as a view into its own
 * 64 KiB buffer, so keeping the views held 64 KiB per byte received (20 000 one-byte chunks: ~1 GB)
 * and even dropping them costs an allocation per chunk. When `signal` aborts first, the stream is
 * cancelled and the signal's reason is thrown.
 */
export async function readLimited(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
  options: ReadLimitedOptions | AbortSignal = {},
): Promise<Uint8Array | undefined> {
  const { signal, sizeHint } = options instanceof AbortSignal ? { signal: options } : options;
  if (stream === null) return new Uint8Array(0);
  signal?.throwIfAborted();
  let reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = stream.getReader({ mode: "byob" });
  } catch {
    reader = stream.getReader(); // not a byte stream (e.g. a body Deno already holds in memory)
  }
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return reader instanceof ReadableStreamBYOBReader
      ? await readInto(reader, limit, signal, sizeHint)
      : await readChunks(reader, limit, signal, sizeHint);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** BYOB: the stream writes into the buffer itself, which has room beyond the limit to see excess. */
async function readInto(
  reader: ReadableStreamBYOBReader,
  limit: number,
  signal: AbortSignal | undefined,
  sizeHint: number | undefined,
): Promise<Uint8Array | undefined> {
  // Deno's HTTP/1 reader decodes chunked framing inside the view it is given, and stalls when the
  // view cannot hold a chunk-size line: every view has room for MIN_VIEW_BYTES, so the buffer may
  // hold that much more than the limit (which is still checked exactly).
  const capacity = limit + MIN_VIEW_BYTES;
  let buffer: Uint8Array = new Uint8Array(
    Math.min(capacity, (sizeHint ?? INITIAL_BYTES) + MIN_VIEW_BYTES),
  );
  let total = 0;
  while (true) {
    if (total > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    if (buffer.byteLength - total < MIN_VIEW_BYTES) {
      buffer = grow(buffer, total, total + MIN_VIEW_BYTES, capacity, undefined);
    }
    const { done, value } = await reader.read(buffer.subarray(total));
    signal?.throwIfAborted();
    // The read transferred the buffer: carry on with the one it came back in.
    if (value !== undefined) buffer = new Uint8Array(value.buffer);
    if (done) break;
    total += value.byteLength;
  }
  if (total > limit) return undefined;
  return buffer.subarray(0, total);
}

/** Default reader: each chunk is copied into the buffer and dropped (the first one kept as it is). */
async function readChunks(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  limit: number,
  signal: AbortSignal | undefined,
  sizeHint: number | undefined,
): Promise<Uint8Array | undefined> {
  let buffer: Uint8Array | undefined;
  // The first chunk is kept as it came (most bodies are one chunk); a second one copies it.
  let borrowed = false;
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    signal?.throwIfAborted();
    if (done) break;
    const size = value.byteLength;
    if (size === 0) continue;
    if (total + size > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    if (buffer === undefined) {
      buffer = value;
      borrowed = true;
      total = size;
      continue;
    }
    if (borrowed || total + size > buffer.byteLength) {
      buffer = grow(buffer, total, total + size, limit, sizeHint);
      borrowed = false;
    }
    buffer.set(value, total);
    total += size;
  }
  if (buffer === undefined) return new Uint8Array(0);
  return total === buffer.byteLength ? buffer : buffer.subarray(0, total);
}

/** A new buffer of at least `needed` bytes (doubling, at most `limit`) holding `used` bytes of `old`. */
function grow(
  old: Uint8Array,
  used: number,
  needed: number,
  limit: number,
  sizeHint: number | undefined,
): Uint8Array {
  const wanted = Math.max(needed, sizeHint ?? 0, INITIAL_BYTES, 2 * used);
  const next = new Uint8Array(Math.min(limit, wanted));
  next.set(old.subarray(0, used));
  return next;
}
