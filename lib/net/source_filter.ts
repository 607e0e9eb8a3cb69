// User-space source filter for multicast receivers that cannot join source-specifically (the
// Deno.listenDatagram path; RFC 4607 SSM semantics): accepts datagrams whose sender address is in a
// list, comparing address words, so a datagram costs no string.
import { MulticastError } from "../common/errors.ts";
import type { DatagramBatch } from "./datagram_batch.ts";
import { parseIpAddress } from "./ip_address.ts";

/** A set of allowed sender addresses; an empty filter accepts every datagram. */
export class SourceFilter {
  /** The sources as given. */
  readonly sources: readonly string[];
  /** 4 words per source (as DatagramBatch.addressWords lays them out), and each one's family. */
  readonly #words: Uint32Array;
  readonly #families: Uint8Array;

  /** Throws MulticastError when a source is not an IP address literal. */
  constructor(sources: readonly string[]) {
    this.sources = [...sources];
    this.#families = new Uint8Array(sources.length);
    this.#words = new Uint32Array(sources.length * 4);
    const bytes = new Uint8Array(this.#words.buffer);
    sources.forEach((source, i) => {
      const parsed = parseIpAddress(source);
      if (parsed === undefined) {
        throw new MulticastError(`Source filter: "${source}" is not an IPv4 or IPv6 address`);
      }
      this.#families[i] = parsed.family;
      bytes.set(parsed.bytes, i * 16);
    });
  }

  /** Number of sources; 0 means no filtering. */
  get size(): number {
    return this.#families.length;
  }

  /** True when the filter is empty or datagram `index` of `batch` came from one of the sources. */
  accepts(batch: DatagramBatch, index: number): boolean {
    const n = this.#families.length;
    if (n === 0) return true;
    if (!(index >= 0 && index < batch.count)) return false;
    const family = batch.family[index];
    const w = batch.addressWords;
    const o = index * 4;
    for (let i = 0; i < n; i++) {
      if (this.#families[i] !== family) continue;
      const s = i * 4;
      if (this.#words[s] !== w[o]) continue;
      if (family === 4) return true;
      if (
        this.#words[s + 1] === w[o + 1] && this.#words[s + 2] === w[o + 2] &&
        this.#words[s + 3] === w[o + 3]
      ) return true;
    }
    return false;
  }
}
