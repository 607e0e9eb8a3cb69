// A Linux UDP multicast socket owned through FFI to libc: socket(2), bind(2) to the group, setsockopt
// (socket(7), ip(7), ipv6(7): SO_RCVBUF[FORCE], IGMPv3/MLDv2 source-specific joins of RFC 3376/3810),
// recvmmsg(2) batches with SO_TIMESTAMPNS and SO_RXQ_OVFL. The only module of the project that holds
// pointers: every structure lives in one arena owned here, and every offset and length is checked.
//
// Safety rules this module keeps (a crash here is the worst failure the project can have):
// - All memory handed to libc is one ArrayBuffer (never detached, never on the V8 heap), held here and
//   in IN_FLIGHT while a call runs; pointers into it are base + offset, each checked against its size.
// - Only one recvmmsg() per socket at a time: wait() (in Deno's blocking pool) and drain() (on this
//   thread, MSG_DONTWAIT) refuse to overlap, and while wait() runs JavaScript never writes the regions
//   it uses. The descriptor is closed only after that call returned (close() wakes it with
//   shutdown(SHUT_RD), and SO_RCVTIMEO bounds it anyway), so a reused descriptor number can never be
//   read by a call still in flight.
// - The kernel's lengths are never trusted: recvmmsg's count, msg_len, msg_namelen, msg_controllen
//   and every cmsg_len are checked against the slot they describe before anything is read.
// - libc is opened once while any socket uses it and closed only when the last one has closed.
// - Supported: Linux x86-64 and arm64, little-endian LP64; both use the asm-generic option numbers and
//   the layouts below. kernelSocketProblem() refuses everything else.

/** Linux constants (include/uapi/asm-generic/socket.h, linux/in.h, linux/in6.h, bits/socket.h). */
export const LINUX = {
  AF_INET: 2,
  AF_INET6: 10,
  SOCK_DGRAM: 2,
  /** O_CLOEXEC of asm-generic/fcntl.h (x86-64 and arm64). */
  SOCK_CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
  SO_REUSEADDR: 2,
  SO_RCVBUF: 8,
  /** struct timeval on LP64 (SO_RCVTIMEO_OLD). */
  SO_RCVTIMEO: 20,
  SO_RCVBUFFORCE: 33,
  /** SO_TIMESTAMPNS_OLD = SCM_TIMESTAMPNS: a struct timespec of CLOCK_REALTIME per datagram. */
  SO_TIMESTAMPNS: 35,
  /** A __u32 per datagram: the socket's drop count (sk_drops) when it was queued, if non-zero. */
  SO_RXQ_OVFL: 40,
  /** __u32[SK_MEMINFO_VARS]; index SK_MEMINFO_DROPS is sk_drops now. */
  SO_MEMINFO: 55,
  SK_MEMINFO_VARS: 9,
  SK_MEMINFO_DROPS: 8,
  IPPROTO_IP: 0,
  IP_ADD_MEMBERSHIP: 35,
  IP_DROP_MEMBERSHIP: 36,
  IP_ADD_SOURCE_MEMBERSHIP: 39,
  IP_DROP_SOURCE_MEMBERSHIP: 40,
  IP_MULTICAST_ALL: 49,
  IPPROTO_IPV6: 41,
  IPV6_JOIN_GROUP: 20,
  IPV6_LEAVE_GROUP: 21,
  IPV6_MULTICAST_ALL: 29,
  MCAST_JOIN_SOURCE_GROUP: 46,
  MCAST_LEAVE_SOURCE_GROUP: 47,
  MSG_CTRUNC: 0x08,
  MSG_TRUNC: 0x20,
  MSG_DONTWAIT: 0x40,
  /** recvmmsg(2): after the first datagram, take only what is queued. */
  MSG_WAITFORONE: 0x10000,
  SHUT_RD: 0,
  CLOCK_REALTIME: 0,
} as const;

/** errno values of asm-generic/errno-base.h and errno.h (x86-64 and arm64), with their text. */
export const ERRNO = {
  EPERM: 1,
  EINTR: 4,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  ENODEV: 19,
  EINVAL: 22,
  EMFILE: 24,
  ENOTSOCK: 88,
  ENOPROTOOPT: 92,
  EAFNOSUPPORT: 97,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
  ENOBUFS: 105,
  EHOSTUNREACH: 113,
} as const;

const ERRNO_TEXT: Readonly<Record<number, string>> = {
  1: "EPERM (Operation not permitted)",
  4: "EINTR (Interrupted system call)",
  9: "EBADF (Bad file descriptor)",
  11: "EAGAIN (Resource temporarily unavailable)",
  12: "ENOMEM (Cannot allocate memory)",
  13: "EACCES (Permission denied)",
  14: "EFAULT (Bad address)",
  19: "ENODEV (No such device)",
  22: "EINVAL (Invalid argument)",
  24: "EMFILE (Too many open files)",
  88: "ENOTSOCK (Socket operation on non-socket)",
  92: "ENOPROTOOPT (Protocol not available)",
  97: "EAFNOSUPPORT (Address family not supported by protocol)",
  98: "EADDRINUSE (Address already in use)",
  99: "EADDRNOTAVAIL (Cannot assign requested address)",
  101: "ENETUNREACH (Network is unreachable)",
  105: "ENOBUFS (No buffer space available)",
  113: "EHOSTUNREACH (No route to host)",
};

/** Text of an errno value, e.g. "ENODEV (No such device)". */
export function errnoText(errno: number): string {
  return ERRNO_TEXT[errno] ?? `errno ${errno}`;
}

/** A libc call that failed; `errno` is its error number (0 when unknown). */
export class KernelSocketError extends Error {
  override name = "KernelSocketError";
  /** The call and option, e.g. "setsockopt(IP_ADD_MEMBERSHIP)". */
  readonly call: string;
  readonly errno: number;
  constructor(call: string, errno: number) {
    super(`${call} failed: ${errnoText(errno)}`);
    this.call = call;
    this.errno = errno;
  }
}

/*
 * Layouts (LP64: x86-64 and arm64 are identical; offsets in bytes, little-endian).
 *
 * struct mmsghdr, 64 bytes               struct iovec, 16 bytes
 *   0 void      *msg_name                  0 void   *iov_base
 *   8 socklen_t  msg_namelen (+4 pad)      8 size_t  iov_len
 *  16 struct iovec *msg_iov
 *  24 size_t     msg_iovlen              struct cmsghdr, 16 bytes + data (CMSG_ALIGN = 8)
 *  32 void      *msg_control               0 size_t cmsg_len (header + data)
 *  40 size_t     msg_controllen            8 int    cmsg_level
 *  48 int        msg_flags (+4 pad)       12 int    cmsg_type
 *  56 unsigned   msg_len (+4 pad)         16 data: SCM_TIMESTAMPNS struct timespec (16),
 *                                                   SO_RXQ_OVFL __u32 (4)
 * struct timespec, 16: 0 time_t tv_sec, 8 long tv_nsec   struct timeval, 16: 0 tv_sec, 8 tv_usec
 * struct sockaddr_in, 16: 0 sa_family_t family, 2 port (big-endian), 4 in_addr, 8 zero
 * struct sockaddr_in6, 28: 0 family, 2 port (big-endian), 4 flowinfo, 8 in6_addr, 24 scope_id
 * struct ip_mreq, 8: 0 imr_multiaddr, 4 imr_interface (addresses in network order)
 * struct ip_mreq_source, 12: 0 imr_multiaddr, 4 imr_interface, 8 imr_sourceaddr
 * struct ipv6_mreq, 20: 0 in6_addr ipv6mr_multiaddr, 16 int ipv6mr_interface
 * struct group_source_req, 264: 0 __u32 gsr_interface (+4 pad), 8 sockaddr_storage gsr_group (128),
 *                               136 sockaddr_storage gsr_source (128); sockaddr_in6 inside each
 */
/** The layouts above as numbers (tests/net/kernel_abi_test.ts checks them against gcc's). */
export const LP64_LAYOUT = {
  MMSGHDR: {
    SIZE: 64,
    NAME: 0,
    NAMELEN: 8,
    IOV: 16,
    IOVLEN: 24,
    CONTROL: 32,
    CONTROLLEN: 40,
    FLAGS: 48,
    LEN: 56,
  },
  IOVEC: { SIZE: 16, BASE: 0, LEN: 8 },
  CMSG: { HEADER: 16, LEN: 0, LEVEL: 8, TYPE: 12, ALIGN: 8 },
  TIMESPEC: { SIZE: 16, SEC: 0, NSEC: 8 },
  TIMEVAL: { SIZE: 16, SEC: 0, USEC: 8 },
  SOCKADDR_IN: { SIZE: 16, FAMILY: 0, PORT: 2, ADDR: 4 },
  SOCKADDR_IN6: { SIZE: 28, FAMILY: 0, PORT: 2, FLOWINFO: 4, ADDR: 8, SCOPE_ID: 24 },
  IP_MREQ: { SIZE: 8, MULTIADDR: 0, INTERFACE: 4 },
  IP_MREQ_SOURCE: { SIZE: 12, MULTIADDR: 0, INTERFACE: 4, SOURCEADDR: 8 },
  IPV6_MREQ: { SIZE: 20, MULTIADDR: 0, INTERFACE: 16 },
  GROUP_SOURCE_REQ: { SIZE: 264, INTERFACE: 0, GROUP: 8, SOURCE: 136 },
  /** Size of one SK_MEMINFO entry (__u32). */
  MEMINFO_ENTRY: 4,
} as const;

const {
  MMSGHDR,
  IOVEC,
  CMSG,
  TIMESPEC,
  TIMEVAL,
  SOCKADDR_IN,
  SOCKADDR_IN6,
  IP_MREQ,
  IP_MREQ_SOURCE,
  IPV6_MREQ,
  GROUP_SOURCE_REQ,
} = LP64_LAYOUT;
/** Bytes reserved per datagram for its sender address (a sockaddr_in6, rounded up). */
const NAME_STRIDE = 32;
/** Control bytes per datagram: CMSG_SPACE(16) timestamp + CMSG_SPACE(4) drop count = 56, rounded. */
const CONTROL_STRIDE = 64;
/** Scratch area for option values and membership requests (largest: group_source_req). */
const SCRATCH_BYTES = 512;

/** Limits of {@link KernelSocketOptions}. */
export const KERNEL_SOCKET_LIMITS = {
  MAX_BATCH: 1024,
  MIN_SLOT_BYTES: 16,
  MAX_SLOT_BYTES: 65_536,
  /** Largest arena (payload slots included). */
  MAX_ARENA_BYTES: 64 * 1024 * 1024,
  MIN_WAKE_MS: 1,
  MAX_WAKE_MS: 10_000,
} as const;

const LIBC_SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "pointer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "pointer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "pointer", "pointer"], result: "i32" },
  recvmmsg: { parameters: ["i32", "pointer", "u32", "i32", "pointer"], result: "i32" },
  /** The same call, run in Deno's blocking thread pool so the event loop never waits on it. */
  recvmmsgInPool: {
    name: "recvmmsg",
    parameters: ["i32", "pointer", "u32", "i32", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  clock_gettime: { parameters: ["i32", "pointer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

let libc: Libc | undefined;
let libcUsers = 0;

function acquireLibc(): Libc {
  if (libc === undefined) {
    let firstError: unknown;
    for (const name of ["libc.so.6", "libc.so"]) {
      try {
        libc = Deno.dlopen(name, LIBC_SYMBOLS);
        break;
      } catch (error) {
        firstError ??= error;
      }
    }
    if (libc === undefined) throw firstError;
  }
  libcUsers++;
  return libc;
}

function releaseLibc(): void {
  libcUsers--;
  if (libcUsers === 0 && libc !== undefined) {
    libc.close();
    libc = undefined;
  }
}

/** errno of this thread (valid only right after a failed synchronous call). */
function lastErrno(lib: Libc): number {
  const pointer = lib.symbols.__errno_location();
  if (pointer === null) return 0;
  return new Deno.UnsafePointerView(pointer).getInt32(0);
}

/**
 * Why the kernel socket cannot be used in this process (not Linux, another CPU, no FFI permission,
 * libc missing), or undefined when it can.
 */
export function kernelSocketProblem(): string | undefined {
  if (Deno.build.os !== "linux") return `not Linux (${Deno.build.os})`;
  if (Deno.build.arch !== "x86_64" && Deno.build.arch !== "aarch64") {
    return `CPU ${Deno.build.arch} is not x86-64 or arm64`;
  }
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) return "not a little-endian CPU";
  if (typeof Deno.dlopen !== "function") return "no FFI in this Deno";
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return "no FFI permission (--allow-ffi)";
  }
  try {
    acquireLibc();
    releaseLibc();
  } catch (error) {
    return `cannot load libc: ${(error as Error).message}`;
  }
  return undefined;
}

/** One membership: the group with no source (any-source) or with one source. */
interface Membership {
  readonly source: Uint8Array | undefined;
}

/** Options of {@link KernelSocket.open}. */
export interface KernelSocketOptions {
  readonly family: 4 | 6;
  /** Group address bytes (4 or 16, network order). */
  readonly group: Uint8Array;
  readonly port: number;
  /** IPv4: local interface address bytes (all zero = any). Ignored for IPv6. */
  readonly interfaceAddress?: Uint8Array;
  /** IPv6: interface index (0 = any); also the bind scope of a link-local group. Ignored for IPv4. */
  readonly interfaceIndex?: number;
  /** Source addresses (same family); empty = any-source join. */
  readonly sources: readonly Uint8Array[];
  /** SO_RCVBUF to ask for; 0 keeps the kernel default. */
  readonly receiveBufferBytes: number;
  /** Datagrams per recvmmsg(). */
  readonly batch: number;
  /** Payload bytes per datagram slot (a multiple of 8); longer datagrams are cut (MSG_TRUNC). */
  readonly slotBytes: number;
  /** SO_RCVTIMEO: longest wait() for a first datagram before it returns 0 (close never waits). */
  readonly wakeMs: number;
}

/** What setting the receive buffer did. */
export interface KernelBufferOutcome {
  /** Bytes the kernel reports (getsockopt SO_RCVBUF: twice the usable payload bytes). */
  readonly bytes: number;
  /** True when SO_RCVBUFFORCE worked; else SO_RCVBUF (capped at net.core.rmem_max) or nothing. */
  readonly forced: boolean;
  /** Why the size was not applied, when it was not. */
  readonly failure: string | undefined;
}

/** Sockets with a recvmmsg() in flight; holding them keeps their arena alive until it returns. */
const IN_FLIGHT = new Set<KernelSocket>();

/**
 * A bound, joined UDP socket read with recvmmsg(2). After each `receive()` the result arrays hold
 * `count` datagrams: payload in `data` (slot i at i × slotBytes), lengths, truncation, sender,
 * kernel timestamp (CLOCK_REALTIME seconds and nanoseconds, -1 when absent) and SO_RXQ_OVFL count.
 */
export class KernelSocket {
  readonly family: 4 | 6;
  readonly batch: number;
  readonly slotBytes: number;
  /** Payload area, `batch` slots of `slotBytes` (inside the arena). */
  readonly data: Uint8Array;
  /** Payload bytes stored per datagram (≤ slotBytes). */
  readonly lengths: Uint32Array;
  /** 1 when the datagram was cut to slotBytes. */
  readonly truncated: Uint8Array;
  /** Sender family per datagram: 4, 6 or 0 (no address). */
  readonly senderFamily: Uint8Array;
  /** Sender address, 16 bytes per datagram. */
  readonly senderAddress: Uint8Array;
  readonly senderPort: Uint16Array;
  /** Kernel receive time, CLOCK_REALTIME: seconds, and nanoseconds (-1 when not given). */
  readonly stampSeconds: Float64Array;
  readonly stampNanos: Float64Array;
  /** SO_RXQ_OVFL value per datagram, -1 when absent (no drop yet when it was queued). */
  readonly dropCounts: Float64Array;
  /** What asking for the receive buffer did. */
  readonly buffer: KernelBufferOutcome;
  /** Socket options that could not be set but are not required (e.g. IPV6_MULTICAST_ALL). */
  readonly notes: readonly string[];

  readonly #lib: Libc;
  readonly #arena: ArrayBuffer;
  readonly #words: Uint32Array;
  readonly #senderWords: Uint32Array;
  readonly #view: DataView;
  readonly #base: Deno.PointerObject;
  readonly #headersPointer: Deno.PointerObject;
  readonly #scratchPointer: Deno.PointerObject;
  readonly #clockPointer: Deno.PointerObject;
  readonly #scratchLengthPointer: Deno.PointerObject;
  readonly #layout: ReturnType<typeof arenaLayout>;
  readonly #options: KernelSocketOptions;
  readonly #memberships: readonly Membership[];
  #fd: number;
  #inFlight: Promise<number> | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  #used = 0;
  #ctruncated = 0;

  private constructor(lib: Libc, fd: number, options: KernelSocketOptions) {
    this.#lib = lib;
    this.#fd = fd;
    this.#options = options;
    this.family = options.family;
    this.batch = options.batch;
    this.slotBytes = options.slotBytes;
    this.#memberships = options.sources.length === 0
      ? [{ source: undefined }]
      : options.sources.map((source) => ({ source }));
    const layout = arenaLayout(options.batch, options.slotBytes);
    this.#layout = layout;
    this.#arena = new ArrayBuffer(layout.total);
    this.#words = new Uint32Array(this.#arena);
    this.#view = new DataView(this.#arena);
    const base = Deno.UnsafePointer.of(this.#arena);
    if (base === null) throw new KernelSocketError("UnsafePointer.of(arena)", ERRNO.EFAULT);
    this.#base = base;
    this.#headersPointer = this.#pointer(layout.headers, options.batch * MMSGHDR.SIZE);
    this.#scratchPointer = this.#pointer(layout.scratch, SCRATCH_BYTES);
    this.#clockPointer = this.#pointer(layout.clock, TIMESPEC.SIZE);
    this.#scratchLengthPointer = this.#pointer(layout.scratchLength, 8);
    this.data = new Uint8Array(this.#arena, layout.data, options.batch * options.slotBytes);
    this.lengths = new Uint32Array(options.batch);
    this.truncated = new Uint8Array(options.batch);
    this.senderFamily = new Uint8Array(options.batch);
    this.#senderWords = new Uint32Array(options.batch * 4);
    this.senderAddress = new Uint8Array(this.#senderWords.buffer);
    this.senderPort = new Uint16Array(options.batch);
    this.stampSeconds = new Float64Array(options.batch);
    this.stampNanos = new Float64Array(options.batch).fill(-1);
    this.dropCounts = new Float64Array(options.batch).fill(-1);
    this.#linkHeaders();
    const notes: string[] = [];
    this.#setInt(LINUX.SOL_SOCKET, LINUX.SO_REUSEADDR, 1, "SO_REUSEADDR");
    this.buffer = this.#applyReceiveBuffer(options.receiveBufferBytes);
    this.#setInt(LINUX.SOL_SOCKET, LINUX.SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS");
    this.#setInt(LINUX.SOL_SOCKET, LINUX.SO_RXQ_OVFL, 1, "SO_RXQ_OVFL");
    this.#setReceiveTimeout(options.wakeMs);
    // Deliver only groups this socket joined, on the interface it joined them (else, with the
    // default 1, a packet arriving on another interface would skip this socket's source filter).
    try {
      if (options.family === 4) {
        this.#setInt(LINUX.IPPROTO_IP, LINUX.IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL");
      } else {
        this.#setInt(LINUX.IPPROTO_IPV6, LINUX.IPV6_MULTICAST_ALL, 0, "IPV6_MULTICAST_ALL");
      }
    } catch (error) {
      notes.push((error as Error).message);
    }
    this.notes = notes;
    this.#bind();
  }

  /**
   * Opens the socket, sets its options, binds it to group:port and joins (once per source).
   * Throws RangeError for options out of range, KernelSocketError when a call fails (the socket
   * is then closed), or what Deno.dlopen throws when libc cannot be loaded.
   */
  static open(options: KernelSocketOptions): KernelSocket {
    checkOptions(options);
    const lib = acquireLibc();
    let fd = -1;
    try {
      const domain = options.family === 4 ? LINUX.AF_INET : LINUX.AF_INET6;
      fd = lib.symbols.socket(domain, LINUX.SOCK_DGRAM | LINUX.SOCK_CLOEXEC, 0);
      if (fd < 0) throw new KernelSocketError("socket", lastErrno(lib));
      const socket = new KernelSocket(lib, fd, options);
      socket.join();
      return socket;
    } catch (error) {
      if (fd >= 0) lib.symbols.close(fd);
      releaseLibc();
      throw error;
    }
  }

  /** The socket's descriptor (-1 once closed), for logs; never pass it to another API. */
  get descriptor(): number {
    return this.#fd;
  }

  /** True once close() was called. */
  get closed(): boolean {
    return this.#closing;
  }

  /** Datagrams whose control data (timestamp, drop count) did not fit (MSG_CTRUNC); expect 0. */
  get controlTruncated(): number {
    return this.#ctruncated;
  }

  /** Joins the group (each source, or any source) with IP_ADD_[SOURCE_]MEMBERSHIP / IPv6 equivalents. */
  join(): void {
    this.#checkOpen();
    for (const membership of this.#memberships) this.#membership(membership, true);
  }

  /** Leaves every membership; not being a member (EADDRNOTAVAIL) is not an error. */
  leave(): void {
    this.#checkOpen();
    let failure: KernelSocketError | undefined;
    for (const membership of this.#memberships) {
      try {
        this.#membership(membership, false);
      } catch (error) {
        const e = error as KernelSocketError;
        if (e.errno !== ERRNO.EADDRNOTAVAIL && e.errno !== ERRNO.EINVAL) failure ??= e;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /**
   * Waits in Deno's blocking thread pool (never on the event loop) until at least one datagram is
   * queued, then takes it and whatever else is queued, up to `batch` (recvmmsg MSG_WAITFORONE).
   * Returns how many, filling the result arrays; 0 when SO_RCVTIMEO (wakeMs) passed without one or
   * the socket is closing. Throws KernelSocketError for a real receive error. One call at a time.
   */
  async wait(): Promise<number> {
    if (this.#inFlight !== undefined) throw new Error("KernelSocket.wait() is already pending");
    if (this.#closing) return 0;
    this.#resetHeaders();
    const pending = this.#lib.symbols.recvmmsgInPool(
      this.#fd,
      this.#headersPointer,
      this.batch,
      LINUX.MSG_WAITFORONE,
      null,
    );
    this.#inFlight = pending;
    IN_FLIGHT.add(this);
    let n: number;
    try {
      n = await pending;
    } finally {
      this.#inFlight = undefined;
      IN_FLIGHT.delete(this);
    }
    if (this.#closing) return 0;
    // A failure's errno belongs to the pool thread: ask again here, without waiting, to learn it
    // (or to get what arrived meanwhile).
    return n < 0 ? this.drain() : this.#accept(n);
  }

  /**
   * Takes what is queued now, up to `batch` datagrams, without waiting (recvmmsg MSG_DONTWAIT on
   * this thread: a few microseconds). Returns how many (0 when nothing is queued or the socket is
   * closing), filling the result arrays; throws KernelSocketError for a real receive error.
   */
  drain(): number {
    if (this.#inFlight !== undefined) throw new Error("KernelSocket.wait() is pending");
    if (this.#closing) return 0;
    this.#resetHeaders();
    const n = this.#lib.symbols.recvmmsg(
      this.#fd,
      this.#headersPointer,
      this.batch,
      LINUX.MSG_DONTWAIT,
      null,
    );
    if (n < 0) {
      const errno = lastErrno(this.#lib);
      if (errno === ERRNO.EAGAIN || errno === ERRNO.EINTR) return 0;
      throw new KernelSocketError("recvmmsg", errno);
    }
    return this.#accept(n);
  }

  #accept(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n > this.batch) {
      throw new KernelSocketError(`recvmmsg returned ${n} for a batch of ${this.batch}`, 0);
    }
    this.#decode(n);
    return n;
  }

  /** sk_drops now (SO_MEMINFO), or -1 when the kernel does not report it. */
  drops(): number {
    if (this.#closing) return -1;
    const bytes = LINUX.SK_MEMINFO_VARS * LP64_LAYOUT.MEMINFO_ENTRY;
    this.#view.setUint32(this.#layout.scratchLength, bytes, true);
    const rc = this.#lib.symbols.getsockopt(
      this.#fd,
      LINUX.SOL_SOCKET,
      LINUX.SO_MEMINFO,
      this.#scratchPointer,
      this.#scratchLengthPointer,
    );
    const length = this.#view.getUint32(this.#layout.scratchLength, true);
    if (
      rc !== 0 || length < (LINUX.SK_MEMINFO_DROPS + 1) * LP64_LAYOUT.MEMINFO_ENTRY ||
      length > SCRATCH_BYTES
    ) return -1;
    return this.#view.getUint32(
      this.#layout.scratch + LINUX.SK_MEMINFO_DROPS * LP64_LAYOUT.MEMINFO_ENTRY,
      true,
    );
  }

  /** CLOCK_REALTIME now as [seconds, nanoseconds] (clock_gettime(2)); throws when it fails. */
  realtime(): [number, number] {
    if (this.#lib.symbols.clock_gettime(LINUX.CLOCK_REALTIME, this.#clockPointer) !== 0) {
      throw new KernelSocketError("clock_gettime(CLOCK_REALTIME)", lastErrno(this.#lib));
    }
    return this.#readTimespec(this.#layout.clock);
  }

  /**
   * Closes the socket: wakes a pending receive() with shutdown(SHUT_RD), waits for it to return,
   * then close(2) (which also leaves the groups). Idempotent; never throws.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      const pending = this.#inFlight;
      if (pending !== undefined) {
        this.#lib.symbols.shutdown(this.#fd, LINUX.SHUT_RD); // ENOTCONN on UDP, but it wakes
        await pending.catch(() => 0);
      }
      this.#lib.symbols.close(this.#fd);
      this.#fd = -1;
      releaseLibc();
    })();
    return this.#closed;
  }

  #checkOpen(): void {
    if (this.#closing) throw new Error("The kernel socket is closed");
  }

  /** A pointer to [offset, offset + length) of the arena, after checking that it lies inside. */
  #pointer(offset: number, length: number): Deno.PointerObject {
    checkRegion(offset, length, this.#arena.byteLength);
    const pointer = offset === 0 ? this.#base : Deno.UnsafePointer.offset(this.#base, offset);
    if (pointer === null) throw new KernelSocketError("UnsafePointer.offset", ERRNO.EFAULT);
    return pointer;
  }

  /** Absolute address of an arena offset, for pointers stored inside structures. */
  #address(offset: number, length: number): bigint {
    checkRegion(offset, length, this.#arena.byteLength);
    return BigInt(Deno.UnsafePointer.value(this.#base)) + BigInt(offset);
  }

  /** Points each mmsghdr at its name, iovec and control slots, and each iovec at its payload slot. */
  #linkHeaders(): void {
    const { headers, iovecs, names, control, data } = this.#layout;
    const v = this.#view;
    for (let i = 0; i < this.batch; i++) {
      const h = headers + i * MMSGHDR.SIZE;
      const iov = iovecs + i * IOVEC.SIZE;
      v.setBigUint64(
        iov + IOVEC.BASE,
        this.#address(data + i * this.slotBytes, this.slotBytes),
        true,
      );
      v.setBigUint64(iov + IOVEC.LEN, BigInt(this.slotBytes), true);
      v.setBigUint64(h + MMSGHDR.NAME, this.#address(names + i * NAME_STRIDE, NAME_STRIDE), true);
      v.setBigUint64(h + MMSGHDR.IOV, this.#address(iov, IOVEC.SIZE), true);
      v.setBigUint64(h + MMSGHDR.IOVLEN, 1n, true);
      v.setBigUint64(
        h + MMSGHDR.CONTROL,
        this.#address(control + i * CONTROL_STRIDE, CONTROL_STRIDE),
        true,
      );
    }
    this.#used = this.batch;
    this.#resetHeaders();
  }

  /** Restores the in/out fields (name and control lengths) of the headers the last call used. */
  #resetHeaders(): void {
    const w = this.#words;
    const headers = this.#layout.headers;
    for (let i = 0; i < this.#used; i++) {
      const h = (headers + i * MMSGHDR.SIZE) >> 2;
      w[h + (MMSGHDR.NAMELEN >> 2)] = SOCKADDR_IN6.SIZE;
      w[h + (MMSGHDR.CONTROLLEN >> 2)] = CONTROL_STRIDE;
      w[h + (MMSGHDR.CONTROLLEN >> 2) + 1] = 0;
      w[h + (MMSGHDR.FLAGS >> 2)] = 0;
      w[h + (MMSGHDR.LEN >> 2)] = 0;
    }
    this.#used = this.batch;
  }

  /** Copies what the kernel wrote for datagrams 0..n-1 into the result arrays, checking each length. */
  #decode(n: number): void {
    const w = this.#words;
    const v = this.#view;
    const { headers, names, control } = this.#layout;
    for (let i = 0; i < n; i++) {
      const h = headers + i * MMSGHDR.SIZE;
      const length = w[(h + MMSGHDR.LEN) >> 2]!;
      const flags = w[(h + MMSGHDR.FLAGS) >> 2]!;
      this.lengths[i] = Math.min(length, this.slotBytes);
      this.truncated[i] = (flags & LINUX.MSG_TRUNC) !== 0 || length > this.slotBytes ? 1 : 0;
      if ((flags & LINUX.MSG_CTRUNC) !== 0) this.#ctruncated++;
      // Sender: sockaddr_in or sockaddr_in6, only when the kernel wrote a whole one.
      const nameLength = w[(h + MMSGHDR.NAMELEN) >> 2]!;
      const name = names + i * NAME_STRIDE;
      const family = nameLength >= SOCKADDR_IN.SIZE && nameLength <= NAME_STRIDE
        ? v.getUint16(name + SOCKADDR_IN.FAMILY, true)
        : 0;
      // Addresses are copied as words (same byte order on both sides; offsets are 4-aligned).
      const out = i * 4;
      const a = this.#senderWords;
      if (family === LINUX.AF_INET) {
        this.senderFamily[i] = 4;
        a[out] = w[(name + SOCKADDR_IN.ADDR) >> 2]!;
        a[out + 1] = a[out + 2] = a[out + 3] = 0;
        this.senderPort[i] = v.getUint16(name + SOCKADDR_IN.PORT, false);
      } else if (family === LINUX.AF_INET6 && nameLength >= SOCKADDR_IN6.SIZE) {
        this.senderFamily[i] = 6;
        const from = (name + SOCKADDR_IN6.ADDR) >> 2;
        a[out] = w[from]!;
        a[out + 1] = w[from + 1]!;
        a[out + 2] = w[from + 2]!;
        a[out + 3] = w[from + 3]!;
        this.senderPort[i] = v.getUint16(name + SOCKADDR_IN6.PORT, false);
      } else {
        this.senderFamily[i] = 0;
        a[out] =
          a[out + 1] =
          a[out + 2] =
          a[out + 3] =
            0;
        this.senderPort[i] = 0;
      }
      this.#decodeControl(i, control + i * CONTROL_STRIDE, h);
    }
    this.#used = n;
  }

  /** Walks the cmsghdr chain of datagram i (CMSG_FIRSTHDR/CMSG_NXTHDR), every length checked. */
  #decodeControl(i: number, start: number, header: number): void {
    const w = this.#words;
    this.stampNanos[i] = -1;
    this.dropCounts[i] = -1;
    const lengthHigh = w[(header + MMSGHDR.CONTROLLEN + 4) >> 2]!;
    const used = lengthHigh === 0
      ? Math.min(w[(header + MMSGHDR.CONTROLLEN) >> 2]!, CONTROL_STRIDE)
      : 0;
    let offset = 0;
    while (offset + CMSG.HEADER <= used) {
      const at = start + offset;
      const cmsgLength = w[at >> 2]!;
      if (w[(at >> 2) + 1] !== 0 || cmsgLength < CMSG.HEADER || offset + cmsgLength > used) break;
      const level = w[(at + CMSG.LEVEL) >> 2];
      const type = w[(at + CMSG.TYPE) >> 2];
      if (level === LINUX.SOL_SOCKET) {
        if (type === LINUX.SO_TIMESTAMPNS && cmsgLength >= CMSG.HEADER + TIMESPEC.SIZE) {
          // 64-bit fields as two little-endian words; tv_sec is signed, 0 <= tv_nsec < 10^9.
          const sec = (at + CMSG.HEADER + TIMESPEC.SEC) >> 2;
          const nsec = (at + CMSG.HEADER + TIMESPEC.NSEC) >> 2;
          const nanos = w[nsec]!;
          if (w[nsec + 1] === 0 && nanos < 1e9) {
            this.stampSeconds[i] = w[sec]! + (w[sec + 1]! | 0) * 0x1_0000_0000;
            this.stampNanos[i] = nanos;
          }
        } else if (type === LINUX.SO_RXQ_OVFL && cmsgLength >= CMSG.HEADER + 4) {
          this.dropCounts[i] = w[(at + CMSG.HEADER) >> 2]!;
        }
      }
      offset += (cmsgLength + 7) & ~7;
    }
  }

  #readTimespec(offset: number): [number, number] {
    const w = this.#words;
    const sec = (offset + TIMESPEC.SEC) >> 2;
    const nsec = (offset + TIMESPEC.NSEC) >> 2;
    // 64-bit fields read as two little-endian words; tv_sec is signed, tv_nsec < 10^9.
    const seconds = w[sec]! + (w[sec + 1]! | 0) * 0x1_0000_0000;
    return [seconds, w[nsec + 1] === 0 ? w[nsec]! : -1];
  }

  #setsockopt(level: number, option: number, length: number, name: string): void {
    if (length > SCRATCH_BYTES) throw new RangeError(`Option ${name} needs ${length} bytes`);
    const rc = this.#lib.symbols.setsockopt(this.#fd, level, option, this.#scratchPointer, length);
    if (rc !== 0) throw new KernelSocketError(`setsockopt(${name})`, lastErrno(this.#lib));
  }

  #setInt(level: number, option: number, value: number, name: string): void {
    this.#view.setInt32(this.#layout.scratch, value, true);
    this.#setsockopt(level, option, 4, name);
  }

  #getInt(level: number, option: number, name: string): number {
    this.#view.setUint32(this.#layout.scratchLength, 4, true);
    const rc = this.#lib.symbols.getsockopt(
      this.#fd,
      level,
      option,
      this.#scratchPointer,
      this.#scratchLengthPointer,
    );
    if (rc !== 0) throw new KernelSocketError(`getsockopt(${name})`, lastErrno(this.#lib));
    if (this.#view.getUint32(this.#layout.scratchLength, true) !== 4) {
      throw new KernelSocketError(`getsockopt(${name}) returned an unexpected length`, 0);
    }
    return this.#view.getInt32(this.#layout.scratch, true);
  }

  #applyReceiveBuffer(bytes: number): KernelBufferOutcome {
    if (bytes === 0) {
      return {
        bytes: this.#getInt(LINUX.SOL_SOCKET, LINUX.SO_RCVBUF, "SO_RCVBUF"),
        forced: false,
        failure: "not asked for",
      };
    }
    let forced = true;
    let failure: string | undefined;
    try {
      this.#setInt(LINUX.SOL_SOCKET, LINUX.SO_RCVBUFFORCE, bytes, "SO_RCVBUFFORCE");
    } catch {
      forced = false;
      try {
        this.#setInt(LINUX.SOL_SOCKET, LINUX.SO_RCVBUF, bytes, "SO_RCVBUF");
      } catch (error) {
        failure = (error as Error).message;
      }
    }
    return {
      bytes: this.#getInt(LINUX.SOL_SOCKET, LINUX.SO_RCVBUF, "SO_RCVBUF"),
      forced,
      failure,
    };
  }

  #setReceiveTimeout(ms: number): void {
    const v = this.#view;
    const s = this.#layout.scratch;
    v.setBigInt64(s + TIMEVAL.SEC, BigInt(Math.floor(ms / 1000)), true);
    v.setBigInt64(s + TIMEVAL.USEC, BigInt((ms % 1000) * 1000), true);
    this.#setsockopt(LINUX.SOL_SOCKET, LINUX.SO_RCVTIMEO, TIMEVAL.SIZE, "SO_RCVTIMEO");
  }

  /** Writes a sockaddr_in / sockaddr_in6 for `address` and `port` at arena offset `at`. */
  #writeSockaddr(at: number, address: Uint8Array, port: number, scopeId: number): number {
    const v = this.#view;
    const size = this.family === 4 ? SOCKADDR_IN.SIZE : SOCKADDR_IN6.SIZE;
    checkRegion(at, size, this.#arena.byteLength);
    new Uint8Array(this.#arena, at, size).fill(0);
    if (this.family === 4) {
      v.setUint16(at + SOCKADDR_IN.FAMILY, LINUX.AF_INET, true);
      v.setUint16(at + SOCKADDR_IN.PORT, port, false);
      new Uint8Array(this.#arena, at + SOCKADDR_IN.ADDR, 4).set(checkBytes(address, 4));
    } else {
      v.setUint16(at + SOCKADDR_IN6.FAMILY, LINUX.AF_INET6, true);
      v.setUint16(at + SOCKADDR_IN6.PORT, port, false);
      new Uint8Array(this.#arena, at + SOCKADDR_IN6.ADDR, 16).set(checkBytes(address, 16));
      v.setUint32(at + SOCKADDR_IN6.SCOPE_ID, scopeId, true);
    }
    return size;
  }

  #bind(): void {
    const { group, port } = this.#options;
    // A link-local group needs its interface as scope; others ignore the scope id.
    const scope = this.family === 6 ? this.#options.interfaceIndex ?? 0 : 0;
    const size = this.#writeSockaddr(this.#layout.scratch, group, port, scope);
    if (this.#lib.symbols.bind(this.#fd, this.#scratchPointer, size) !== 0) {
      throw new KernelSocketError("bind", lastErrno(this.#lib));
    }
  }

  #membership(membership: Membership, join: boolean): void {
    const s = this.#layout.scratch;
    const bytes = new Uint8Array(this.#arena, s, SCRATCH_BYTES);
    bytes.fill(0);
    const { group, interfaceAddress, interfaceIndex } = this.#options;
    if (this.family === 4) {
      // ip_mreq is the head of ip_mreq_source: same offsets for group and interface.
      bytes.set(checkBytes(group, 4), IP_MREQ.MULTIADDR);
      if (interfaceAddress !== undefined) {
        bytes.set(checkBytes(interfaceAddress, 4), IP_MREQ.INTERFACE);
      }
      if (membership.source === undefined) {
        const name = join ? "IP_ADD_MEMBERSHIP" : "IP_DROP_MEMBERSHIP";
        const option = join ? LINUX.IP_ADD_MEMBERSHIP : LINUX.IP_DROP_MEMBERSHIP;
        this.#setsockopt(LINUX.IPPROTO_IP, option, IP_MREQ.SIZE, name);
      } else {
        bytes.set(checkBytes(membership.source, 4), IP_MREQ_SOURCE.SOURCEADDR);
        const name = join ? "IP_ADD_SOURCE_MEMBERSHIP" : "IP_DROP_SOURCE_MEMBERSHIP";
        const option = join ? LINUX.IP_ADD_SOURCE_MEMBERSHIP : LINUX.IP_DROP_SOURCE_MEMBERSHIP;
        this.#setsockopt(LINUX.IPPROTO_IP, option, IP_MREQ_SOURCE.SIZE, name);
      }
      return;
    }
    const index = interfaceIndex ?? 0;
    if (membership.source === undefined) {
      bytes.set(checkBytes(group, 16), IPV6_MREQ.MULTIADDR);
      this.#view.setUint32(s + IPV6_MREQ.INTERFACE, index, true);
      const name = join ? "IPV6_JOIN_GROUP" : "IPV6_LEAVE_GROUP";
      const option = join ? LINUX.IPV6_JOIN_GROUP : LINUX.IPV6_LEAVE_GROUP;
      this.#setsockopt(LINUX.IPPROTO_IPV6, option, IPV6_MREQ.SIZE, name);
    } else {
      this.#view.setUint32(s + GROUP_SOURCE_REQ.INTERFACE, index, true);
      this.#writeSockaddr(s + GROUP_SOURCE_REQ.GROUP, group, 0, 0);
      this.#writeSockaddr(s + GROUP_SOURCE_REQ.SOURCE, membership.source, 0, 0);
      const name = join ? "MCAST_JOIN_SOURCE_GROUP" : "MCAST_LEAVE_SOURCE_GROUP";
      const option = join ? LINUX.MCAST_JOIN_SOURCE_GROUP : LINUX.MCAST_LEAVE_SOURCE_GROUP;
      this.#setsockopt(LINUX.IPPROTO_IPV6, option, GROUP_SOURCE_REQ.SIZE, name);
    }
  }
}

/** Offsets of the arena's regions; every one is a multiple of 16. */
function arenaLayout(batch: number, slotBytes: number) {
  const scratch = 0;
  const scratchLength = scratch + SCRATCH_BYTES;
  const clock = scratchLength + 16;
  const headers = clock + TIMESPEC.SIZE;
  const iovecs = headers + batch * MMSGHDR.SIZE;
  const names = iovecs + batch * IOVEC.SIZE;
  const control = names + batch * NAME_STRIDE;
  const data = control + batch * CONTROL_STRIDE;
  const total = data + batch * slotBytes;
  return { scratch, scratchLength, clock, headers, iovecs, names, control, data, total };
}

function checkRegion(offset: number, length: number, size: number): void {
  if (
    !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 ||
    offset + length > size
  ) {
    throw new RangeError(`Region ${offset}+${length} outside the ${size}-byte arena`);
  }
}

function checkBytes(bytes: Uint8Array, length: number): Uint8Array {
  if (bytes.length !== length) {
    throw new RangeError(`Expected a ${length}-byte address, got ${bytes.length} bytes`);
  }
  return bytes;
}

function checkInteger(value: number, name: string, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

function checkOptions(options: KernelSocketOptions): void {
  const L = KERNEL_SOCKET_LIMITS;
  if (options.family !== 4 && options.family !== 6) {
    throw new RangeError(`Address family must be 4 or 6, got ${options.family}`);
  }
  const size = options.family === 4 ? 4 : 16;
  checkBytes(options.group, size);
  for (const source of options.sources) checkBytes(source, size);
  if (options.interfaceAddress !== undefined) checkBytes(options.interfaceAddress, 4);
  checkInteger(options.port, "port", 1, 65_535);
  checkInteger(options.interfaceIndex ?? 0, "interfaceIndex", 0, 0x7fff_ffff);
  checkInteger(options.receiveBufferBytes, "receiveBufferBytes", 0, 0x7fff_ffff);
  checkInteger(options.batch, "batch", 1, L.MAX_BATCH);
  checkInteger(options.slotBytes, "slotBytes", L.MIN_SLOT_BYTES, L.MAX_SLOT_BYTES);
  if (options.slotBytes % 8 !== 0) {
    throw new RangeError(`slotBytes must be a multiple of 8, got ${options.slotBytes}`);
  }
  checkInteger(options.wakeMs, "wakeMs", L.MIN_WAKE_MS, L.MAX_WAKE_MS);
  const total = arenaLayout(options.batch, options.slotBytes).total;
  if (total > L.MAX_ARENA_BYTES) {
    throw new RangeError(`Batch of ${options.batch} × ${options.slotBytes} bytes is too large`);
  }
}
