// zlib (RFC 1950/1951) for SAP's compressed payloads (RFC 2974 §6, C bit): a bounded inflate that
// stops a deflate bomb after a fixed output size, and the matching deflate for tests and tools.
import { SapParseError } from "./packet.ts";

/** Largest inflated SAP payload accepted (an SDP description is far smaller). */
export const MAX_SAP_INFLATED_BYTES = 16 * 1024;

/**
 * Input is fed to the decompressor in slices of this size, so that one slice (at most ~1 032 × its
 * size out, deflate's ratio limit) cannot allocate far past the limit before it is checked.
 */
const INFLATE_SLICE_BYTES = 64;

/**
 * Inflates zlib data (DecompressionStream "deflate"), at most `limit` bytes of output. Throws
 * SapParseError `deflateBomb` past the limit (offset: the limit) and `badCompression` for data that
 * is not one complete zlib stream (corrupt, cut short, or followed by more bytes).
 */
export async function inflateBounded(
  data: Uint8Array,
  limit = MAX_SAP_INFLATED_BYTES,
): Promise<Uint8Array> {
  const stream = new DecompressionStream("deflate");
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const writing = (async () => {
    for (let offset = 0; offset < data.length; offset += INFLATE_SLICE_BYTES) {
      await writer.write(data.slice(offset, offset + INFLATE_SLICE_BYTES));
    }
    await writer.close();
  })();
  // Its failure is the reader's failure too (or the result of our own cancel): seen below.
  writing.catch(() => {});
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        await reader.cancel().catch(() => {});
        throw new SapParseError(
          "deflateBomb",
          `Compressed SAP payload inflates past ${limit} bytes (from ${data.length})`,
          limit,
        );
      }
      chunks.push(value);
    }
    await writing;
  } catch (error) {
    if (error instanceof SapParseError) throw error;
    await reader.cancel().catch(() => {});
    throw new SapParseError("badCompression", "Compressed SAP payload is not valid zlib data", 0, {
      cause: error,
    });
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  // Deno's DecompressionStream ends quietly on a truncated stream; the zlib trailer (RFC 1950 §2.2,
  // ADLER32 of the output, big-endian) tells a whole stream from a cut one.
  const trailer = data.length >= 6
    ? new DataView(data.buffer, data.byteOffset + data.length - 4, 4).getUint32(0)
    : undefined;
  if (trailer !== adler32(out)) {
    throw new SapParseError(
      "badCompression",
      "Compressed SAP payload is cut short (its zlib checksum does not match)",
      data.length,
    );
  }
  return out;
}

/** ADLER32 checksum (RFC 1950 §8.2). */
export function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length;) {
    // Reduced every 5552 bytes, as zlib does: the sums stay small integers.
    const end = Math.min(data.length, i + 5552);
    for (; i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Compresses bytes to zlib data (CompressionStream "deflate"), as a C-bit SAP payload carries. */
export async function deflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("deflate"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
