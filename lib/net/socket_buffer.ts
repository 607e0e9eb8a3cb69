// Enlarges the kernel receive buffer of a UDP socket that Deno opened (Linux socket(7) SO_RCVBUF /
// SO_RCVBUFFORCE), which Deno.listenDatagram has no option for: finds the socket's descriptor by its
// local address (getsockname(2) on each open descriptor), then calls setsockopt(2), all through FFI.
// Best effort, never throws. Needs --allow-ffi (Deno refuses /proc/net and /proc/self/fd without -A).
import { parseIpAddress } from "./ip_address.ts";

/** Linux socket option numbers (include/uapi/asm-generic/socket.h, socket(7)). */
export const SOCKET_OPTION = {
  /** Level of the generic socket options. */
  SOL_SOCKET: 1,
  /** Receive buffer size; the kernel doubles the value and caps it at net.core.rmem_max. */
  SO_RCVBUF: 8,
  /** As SO_RCVBUF but ignores rmem_max; needs CAP_NET_ADMIN in the initial user namespace. */
  SO_RCVBUFFORCE: 33,
} as const;

/**
 * Kernel receive buffer (SO_RCVBUF, capped by net.core.rmem_max) the receivers ask for: the
 * default 212 992 bytes hold ~90 datagrams of 1328 bytes, under 1 ms at 100 000 packets/s.
 */
export const SOCKET_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;

/** Outcome of {@link enlargeReceiveBuffer}. */
export type ReceiveBufferOutcome =
  | {
    readonly ok: true;
    /** Descriptors the size was applied to (every socket of this process bound to the address). */
    readonly fds: readonly number[];
    /** Size the kernel reports afterwards (getsockopt SO_RCVBUF: twice the usable payload bytes). */
    readonly bytes: number;
    /** True when SO_RCVBUFFORCE worked; otherwise SO_RCVBUF, capped by net.core.rmem_max. */
    readonly forced: boolean;
  }
  | {
    readonly ok: false;
    /** Why nothing was changed, e.g. missing --allow-ffi. */
    readonly reason: string;
  };

/** The local address of a socket, as `Deno.DatagramConn.addr` or node:dgram `address()` give it. */
export interface LocalAddress {
  readonly hostname: string;
  readonly port: number;
}

/** Address families and socket type (include/linux/socket.h, include/linux/net.h). */
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SO_TYPE = 3;
/** Highest descriptor number examined when looking for a socket. */
const MAX_FD = 4096;

/** Family and address bytes of an IP literal (a zone id is dropped), or undefined. */
function parseAddress(hostname: string): { family: number; bytes: Uint8Array } | undefined {
  const parsed = parseIpAddress(hostname.split("%", 1)[0]!);
  if (parsed === undefined) return undefined;
  return { family: parsed.family === 4 ? AF_INET : AF_INET6, bytes: parsed.bytes };
}

const LIBC_SYMBOLS = {
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>;

function openLibc(): Libc {
  let firstError: unknown;
  for (const name of ["libc.so.6", "libc.so"]) {
    try {
      return Deno.dlopen(name, LIBC_SYMBOLS);
    } catch (error) {
      firstError ??= error;
    }
  }
  throw firstError;
}

/*
 * struct sockaddr_in  { sa_family_t family (host order); in_port_t port (network order);
 *                       struct in_addr addr (4 bytes); ... }                      16 bytes
 * struct sockaddr_in6 { sa_family_t family; in_port_t port; uint32_t flowinfo;
 *                       struct in6_addr addr (16 bytes, at offset 8); uint32_t scope_id } 28 bytes
 */
function findDescriptors(libc: Libc, local: LocalAddress): number[] {
  const wanted = parseAddress(local.hostname);
  if (wanted === undefined) return [];
  const sockaddr = new Uint8Array(128);
  const view = new DataView(sockaddr.buffer);
  const length = new Uint32Array(1);
  const type = new Int32Array(1);
  const typeLength = new Uint32Array(1);
  const fds: number[] = [];
  for (let fd = 0; fd < MAX_FD; fd++) {
    length[0] = sockaddr.byteLength;
    if (libc.symbols.getsockname(fd, sockaddr, length) !== 0) continue; // not open, not a socket
    const family = view.getUint16(0, true);
    if (family !== wanted.family || view.getUint16(2, false) !== local.port) continue;
    const offset = family === AF_INET ? 4 : 8;
    const same = wanted.bytes.every((b, i) => sockaddr[offset + i] === b);
    if (!same) continue;
    typeLength[0] = 4;
    const { SOL_SOCKET } = SOCKET_OPTION;
    if (libc.symbols.getsockopt(fd, SOL_SOCKET, SO_TYPE, type, typeLength) !== 0) continue;
    if (type[0] === SOCK_DGRAM) fds.push(fd);
  }
  return fds;
}

/**
 * Descriptors of this process's UDP sockets bound to `local` (address and port), found with
 * getsockname(2) on descriptors 0-4095. Needs --allow-ffi; throws when libc cannot be loaded.
 */
export function socketDescriptorsOf(local: LocalAddress): number[] {
  const libc = openLibc();
  try {
    return findDescriptors(libc, local);
  } finally {
    libc.close();
  }
}

/**
 * Sets the kernel receive buffer of the UDP socket(s) of this process bound to `local` (pass
 * `conn.addr` of a `Deno.listenDatagram` socket) to `bytes`: SO_RCVBUFFORCE first, which only a
 * process with CAP_NET_ADMIN may use, else SO_RCVBUF, which the kernel caps at net.core.rmem_max.
 * Best effort: never throws, and reports why when nothing could be changed (not Linux, no
 * --allow-ffi, no socket bound there, setsockopt failed).
 */
export function enlargeReceiveBuffer(local: LocalAddress, bytes: number): ReceiveBufferOutcome {
  if (Deno.build.os !== "linux") return { ok: false, reason: `not supported on ${Deno.build.os}` };
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 0x7fff_ffff) {
    return { ok: false, reason: `invalid buffer size ${bytes}` };
  }
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return { ok: false, reason: "no FFI permission (--allow-ffi)" };
  }
  let libc: Libc;
  try {
    libc = openLibc();
  } catch (error) {
    return { ok: false, reason: `cannot load libc: ${(error as Error).message}` };
  }
  try {
    const fds = findDescriptors(libc, local);
    if (fds.length === 0) {
      return {
        ok: false,
        reason: `no UDP socket of this process is bound to ${local.hostname}:${local.port}`,
      };
    }
    const value = new Int32Array([bytes]);
    const size = new Uint32Array([4]);
    const errno = () => {
      const pointer = libc.symbols.__errno_location();
      return pointer === null ? 0 : new Deno.UnsafePointerView(pointer).getInt32();
    };
    let forced = true;
    let smallest = Infinity;
    for (const fd of fds) {
      const { SOL_SOCKET, SO_RCVBUF, SO_RCVBUFFORCE } = SOCKET_OPTION;
      if (libc.symbols.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, value, 4) !== 0) {
        forced = false;
        if (libc.symbols.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, value, 4) !== 0) {
          return {
            ok: false,
            reason: `setsockopt(SO_RCVBUF) on fd ${fd} failed: errno ${errno()}`,
          };
        }
      }
      const read = new Int32Array(1);
      size[0] = 4;
      if (libc.symbols.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, read, size) !== 0) {
        return { ok: false, reason: `getsockopt(SO_RCVBUF) on fd ${fd} failed: errno ${errno()}` };
      }
      smallest = Math.min(smallest, read[0]!);
    }
    return { ok: true, fds, bytes: smallest, forced };
  } finally {
    libc.close();
  }
}
