// A batch of received UDP datagrams (RFC 768) in preallocated buffers: payload views, sender address
// and port, arrival time, truncation, without an allocation per datagram. Filled by the receivers of
// lib/net/ (kernel_receiver.ts, multicast_receiver.ts); read by the client's reception loop.
import { formatIpAddress } from "./ip_address.ts";

/** Where a batch's storage comes from: the payload area is the receiver's (FFI memory for kernel). */
export interface DatagramBatchStorage {
  /** Payload area: `capacity` slots of `slotBytes` each. */
  readonly data: Uint8Array;
  readonly capacity: number;
  readonly slotBytes: number;
}

/**
 * Datagrams of one receive, index 0 to `count - 1`. Everything (payload views included) is valid
 * until the next `receiveBatch()` of the receiver that returned it, which overwrites the buffers.
 */
export class DatagramBatch {
  /** Datagrams in the batch. */
  count = 0;
  /** Most datagrams a batch holds. */
  readonly capacity: number;
  /** Bytes of one payload slot; a longer datagram is cut to this and flagged `truncated`. */
  readonly slotBytes: number;
  /** Payload bytes stored for each datagram (at most slotBytes). */
  readonly lengths: Uint32Array;
  /** 1 when the datagram was longer than its slot and was cut (MSG_TRUNC), else 0. */
  readonly truncated: Uint8Array;
  /** Arrival time of each datagram, ms on the performance.now() time base. */
  readonly arrivalMs: Float64Array;
  /** Sender address family of each datagram: 4, 6, or 0 when the kernel gave no address. */
  readonly family: Uint8Array;
  /** Sender address bytes, 16 per datagram (IPv4 in the first 4), network order. */
  readonly address: Uint8Array;
  /** `address` as 4 words per datagram, for comparisons without allocating (see SourceFilter). */
  readonly addressWords: Uint32Array;
  /** Sender UDP port of each datagram. */
  readonly ports: Uint16Array;
  readonly #data: Uint8Array;

  constructor(storage: DatagramBatchStorage) {
    const { data, capacity, slotBytes } = storage;
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`Batch capacity must be a positive integer, got ${capacity}`);
    }
    if (!Number.isSafeInteger(slotBytes) || slotBytes < 1) {
      throw new RangeError(`Slot size must be a positive integer, got ${slotBytes}`);
    }
    if (data.byteLength < capacity * slotBytes) {
      throw new RangeError(
        `Payload area of ${data.byteLength} bytes cannot hold ${capacity} × ${slotBytes}`,
      );
    }
    this.capacity = capacity;
    this.slotBytes = slotBytes;
    this.#data = data;
    this.lengths = new Uint32Array(capacity);
    this.truncated = new Uint8Array(capacity);
    this.arrivalMs = new Float64Array(capacity);
    this.family = new Uint8Array(capacity);
    this.addressWords = new Uint32Array(capacity * 4);
    this.address = new Uint8Array(this.addressWords.buffer);
    this.ports = new Uint16Array(capacity);
  }

  /** Payload of datagram `index`: a view into the receiver's buffer (no copy). */
  datagram(index: number): Uint8Array {
    this.#checkIndex(index);
    const start = index * this.slotBytes;
    return this.#data.subarray(start, start + Math.min(this.lengths[index]!, this.slotBytes));
  }

  /** Sender address of datagram `index` as text (allocates; for logs, not for filtering). */
  sourceAddress(index: number): string {
    this.#checkIndex(index);
    const family = this.family[index];
    if (family !== 4 && family !== 6) return "";
    return formatIpAddress(family, this.address, index * 16);
  }

  /** Sender IPv4 address of datagram `index` as an unsigned 32-bit number, or -1 when not IPv4. */
  sourceIpv4(index: number): number {
    this.#checkIndex(index);
    if (this.family[index] !== 4) return -1;
    const a = this.address;
    const o = index * 16;
    return ((a[o]! << 24) | (a[o + 1]! << 16) | (a[o + 2]! << 8) | a[o + 3]!) >>> 0;
  }

  #checkIndex(index: number): void {
    if (!(index >= 0 && index < this.count)) {
      throw new RangeError(`Datagram index ${index} outside the batch of ${this.count}`);
    }
  }
}

/** Packs IPv4 address bytes (network order) into the unsigned number {@link DatagramBatch.sourceIpv4} returns. */
export function ipv4Number(bytes: Uint8Array): number {
  if (bytes.length !== 4) throw new RangeError(`An IPv4 address has 4 bytes, got ${bytes.length}`);
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}
