// Prototype of batched UDP reception for Deno: recvmmsg(2) with MSG_DONTWAIT through FFI on the
// descriptor of a Deno.listenDatagram socket, drained on a timer instead of one async op per datagram.
// Used by bare_loop.ts --api ffi to measure what batching would gain (CPU, capacity); Linux x86-64 and
// arm64 (LP64 struct layouts below). Needs --allow-ffi.

/** Linux constants (include/linux/socket.h). */
const MSG_DONTWAIT = 0x40;

/*
 * struct mmsghdr (LP64), 64 bytes:
 *   struct msghdr msg_hdr {          offset
 *     void *msg_name;                 0
 *     socklen_t msg_namelen;          8   (+4 padding)
 *     struct iovec *msg_iov;         16
 *     size_t msg_iovlen;             24
 *     void *msg_control;             32
 *     size_t msg_controllen;         40
 *     int msg_flags;                 48   (+4 padding)
 *   }
 *   unsigned int msg_len;            56   (+4 padding)
 * struct iovec { void *iov_base; size_t iov_len; }, 16 bytes.
 */
const MMSGHDR_BYTES = 64;
const IOVEC_BYTES = 16;
const MSG_LEN_OFFSET = 56;

const SYMBOLS = {
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
} as const;

/** Reads up to `batch` datagrams per system call from a UDP socket descriptor, never blocking. */
export class RecvmmsgReader {
  readonly #fd: number;
  readonly #batch: number;
  readonly #slot: number;
  readonly #data: Uint8Array;
  readonly #headers: Uint8Array;
  readonly #headerView: DataView;
  readonly #iovecs: Uint8Array;
  readonly #libc: Deno.DynamicLibrary<typeof SYMBOLS>;

  constructor(fd: number, options: { batch?: number; slotBytes?: number } = {}) {
    this.#fd = fd;
    this.#batch = options.batch ?? 64;
    this.#slot = options.slotBytes ?? 2048;
    this.#data = new Uint8Array(this.#batch * this.#slot);
    this.#headers = new Uint8Array(this.#batch * MMSGHDR_BYTES);
    this.#headerView = new DataView(this.#headers.buffer);
    this.#iovecs = new Uint8Array(this.#batch * IOVEC_BYTES);
    const iovecView = new DataView(this.#iovecs.buffer);
    const dataAddress = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#data)));
    const iovecAddress = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(this.#iovecs)));
    for (let i = 0; i < this.#batch; i++) {
      iovecView.setBigUint64(i * IOVEC_BYTES, dataAddress + BigInt(i * this.#slot), true);
      iovecView.setBigUint64(i * IOVEC_BYTES + 8, BigInt(this.#slot), true);
      const header = i * MMSGHDR_BYTES;
      this.#headerView.setBigUint64(header + 16, iovecAddress + BigInt(i * IOVEC_BYTES), true);
      this.#headerView.setBigUint64(header + 24, 1n, true);
    }
    this.#libc = Deno.dlopen("libc.so.6", SYMBOLS);
  }

  /**
   * Reads every queued datagram (batch after batch until the queue is empty) and calls `onDatagram`
   * with a view of each (valid only during the call). Returns the number read.
   */
  drain(onDatagram: (datagram: Uint8Array) => void): number {
    let total = 0;
    while (true) {
      const n = this.#libc.symbols.recvmmsg(
        this.#fd,
        this.#headers,
        this.#batch,
        MSG_DONTWAIT,
        null,
      );
      if (n <= 0) return total;
      for (let i = 0; i < n; i++) {
        const length = this.#headerView.getUint32(i * MMSGHDR_BYTES + MSG_LEN_OFFSET, true);
        const start = i * this.#slot;
        onDatagram(this.#data.subarray(start, start + Math.min(length, this.#slot)));
      }
      total += n;
      if (n < this.#batch) return total;
    }
  }

  /** Unloads libc (the socket stays open). */
  close(): void {
    this.#libc.close();
  }
}
