// Bounded reading of files the programs are pointed at (config files, --sdp files, certificates):
// only regular files, at most a byte limit, and every wait abortable so signals keep working.
import { abortable } from "./abortable.ts";
import { FileReadError } from "./errors.ts";
import { readLimited } from "./read_limited.ts";

/** Options of {@link readFileLimited}. */
export interface ReadFileLimitedOptions {
  /** Most bytes accepted; a larger file is refused without reading past the limit. */
  readonly limit: number;
  /** Aborts every wait (stat, open, read): the promise rejects with the signal's reason at once. */
  readonly signal?: AbortSignal;
}

/** What a non-regular file is, for the message. */
function kindOf(info: Deno.FileInfo): string {
  if (info.isDirectory) return "a directory";
  if (info.isFifo) return "a FIFO";
  if (info.isCharDevice) return "a character device";
  if (info.isBlockDevice) return "a block device";
  if (info.isSocket) return "a socket";
  return "not a regular file";
}

/**
 * Reads a regular file of at most `limit` bytes. Refuses directories, FIFOs, devices and sockets
 * before opening them (opening a FIFO blocks until a writer comes; a device such as /dev/zero never
 * ends) and checks the opened file again, so a file swapped in between is refused too. The size
 * reported by stat is not trusted: the bytes are read through {@link readLimited}, which stops one
 * byte past the limit. Throws FileReadError with a one-line message naming the path and never the
 * file's contents; an abort rejects with the signal's reason.
 */
export async function readFileLimited(
  path: string,
  options: ReadFileLimitedOptions,
): Promise<Uint8Array> {
  const { limit, signal } = options;
  let info: Deno.FileInfo;
  try {
    info = await abortable(Deno.stat(path), signal);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new FileReadError(path, (error as Error).message, {
      cause: error,
    });
  }
  if (!info.isFile) throw new FileReadError(path, kindOf(info));
  if (info.size > limit) {
    throw new FileReadError(path, `larger than ${limit} bytes`);
  }
  let file: Deno.FsFile | undefined;
  try {
    const opening = Deno.open(path, { read: true });
    // Should a FIFO have been swapped in after the stat, the open resolves only when a writer
    // comes: close what it opens even after an abort.
    opening.then((f) => signal?.aborted && f.close(), () => {});
    file = await abortable(opening, signal);
    const opened = await abortable(file.stat(), signal);
    if (!opened.isFile) throw new FileReadError(path, kindOf(opened));
    const bytes = await readLimited(file.readable, limit, {
      sizeHint: opened.size,
      ...(signal === undefined ? {} : { signal }),
    });
    if (bytes === undefined) {
      throw new FileReadError(path, `larger than ${limit} bytes`);
    }
    return bytes;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (error instanceof FileReadError) throw error;
    throw new FileReadError(path, (error as Error).message, {
      cause: error,
    });
  } finally {
    try {
      file?.close();
    } catch {
      // the readable stream closed it at its end
    }
  }
}
