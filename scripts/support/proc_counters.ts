// Kernel and process counters from /proc (proc(5)) for scripts, benchmarks and tests: UDP socket
// queues and drops (/proc/net/udp), the UDP MIB (/proc/net/snmp, RFC 4113 udpInErrors family),
// softnet backlog drops, and a process's CPU time and resident set size (/proc/PID/stat, status).
import { delay } from "../../lib/common/delay.ts";

/** One or more UDP sockets' queue and drop counter, from /proc/net/udp. */
export interface UdpSocketState {
  /** Bytes waiting in the receive queue. */
  readonly rxQueue: number;
  /** Datagrams the kernel dropped for this socket (full receive buffer, bad checksum). */
  readonly drops: number;
}

/**
 * Reads /proc/net/udp (of this network namespace) for the IPv4 sockets bound to `port` (and to
 * `address`, when given), summed; undefined when there is none.
 */
export function readUdpSocket(port: number, address?: string): UdpSocketState | undefined {
  const portHex = port.toString(16).padStart(4, "0").toUpperCase();
  let wanted: Set<string> | undefined;
  if (address !== undefined) {
    const bytes = address.split(".").map((b) => Number(b).toString(16).padStart(2, "0"));
    // The kernel prints the big-endian address as a host-order integer: reversed on little-endian.
    wanted = new Set([
      `${[...bytes].reverse().join("")}:${portHex}`.toUpperCase(),
      `${bytes.join("")}:${portHex}`.toUpperCase(),
    ]);
  }
  let found: UdpSocketState | undefined;
  for (const line of Deno.readTextFileSync("/proc/net/udp").split("\n").slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 13) continue;
    const local = fields[1]!.toUpperCase();
    if (wanted === undefined ? !local.endsWith(`:${portHex}`) : !wanted.has(local)) continue;
    const rxQueue = parseInt(fields[4]!.split(":")[1] ?? "0", 16);
    const drops = Number(fields[fields.length - 1]);
    found = { rxQueue: (found?.rxQueue ?? 0) + rxQueue, drops: (found?.drops ?? 0) + drops };
  }
  return found;
}

/** Kernel UDP counters of this network namespace (/proc/net/snmp "Udp:" lines). */
export interface UdpCounters {
  readonly inDatagrams: number;
  readonly inErrors: number;
  /** Datagrams dropped because a socket's receive buffer was full. */
  readonly rcvbufErrors: number;
}

/** Reads {@link UdpCounters} from /proc/net/snmp. */
export function readUdpCounters(): UdpCounters {
  const lines = Deno.readTextFileSync("/proc/net/snmp").split("\n").filter((l) =>
    l.startsWith("Udp:")
  );
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/).map(Number) ?? [];
  const get = (name: string) => values[names.indexOf(name)] ?? NaN;
  return {
    inDatagrams: get("InDatagrams"),
    inErrors: get("InErrors"),
    rcvbufErrors: get("RcvbufErrors"),
  };
}

/** Packets dropped by the kernel's per-CPU input backlogs (/proc/net/softnet_stat; whole host). */
export function readSoftnetDropped(): number {
  let dropped = 0;
  for (const line of Deno.readTextFileSync("/proc/net/softnet_stat").split("\n")) {
    const field = line.trim().split(/\s+/)[1];
    if (field !== undefined) dropped += parseInt(field, 16);
  }
  return dropped;
}

/** Kernel counters for one socket and the whole UDP stack, read before and after a run. */
export interface KernelCounters {
  readonly socket: UdpSocketState;
  readonly udp: UdpCounters;
  readonly softnet: number;
}

/** Reads the {@link KernelCounters} of the socket bound to `address`:`port`. */
export function readKernelCounters(address: string, port: number): KernelCounters {
  return {
    socket: readUdpSocket(port, address) ?? { rxQueue: 0, drops: 0 },
    udp: readUdpCounters(),
    softnet: readSoftnetDropped(),
  };
}

/** Options of {@link waitForSocketDrain}. */
export interface DrainOptions {
  /** Only the sockets bound to this IPv4 address (default: any address on the port). */
  readonly address?: string;
  /** Give up after this long (default 10 000 ms). */
  readonly timeoutMs?: number;
  /** Time between two reads (default 50 ms). */
  readonly pollMs?: number;
  /** Empty reads in a row that count as drained (default 3). */
  readonly emptyPolls?: number;
  /** A missing socket is not drained (default true); false: nobody left to read counts as drained. */
  readonly socketMustExist?: boolean;
}

/**
 * Waits until the receive queue of the sockets on `port` stayed empty for `emptyPolls` reads in a
 * row (the receiver has read everything that arrived); false at the deadline.
 */
export async function waitForSocketDrain(
  port: number,
  options: DrainOptions = {},
): Promise<boolean> {
  const deadline = performance.now() + (options.timeoutMs ?? 10_000);
  const needed = options.emptyPolls ?? 3;
  const mustExist = options.socketMustExist ?? true;
  let emptyPolls = 0;
  while (performance.now() < deadline) {
    const state = readUdpSocket(port, options.address);
    const empty = state === undefined ? !mustExist : state.rxQueue === 0;
    emptyPolls = empty ? emptyPolls + 1 : 0;
    if (emptyPolls >= needed) return true;
    await delay(options.pollMs ?? 50);
  }
  return false;
}

/** Clock ticks per second of /proc/PID/stat times (USER_HZ: 100 on every Linux architecture). */
export const CLOCK_TICKS_PER_S = 100;

/** User + system CPU time of a process in clock ticks (proc(5): fields 14 and 15 of stat). */
export function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state); utime is field 14, stime field 15.
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size of a process in KiB (VmRSS of /proc/PID/status). */
export function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (match === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

/** Resident set size of a process in MB (MiB), to one decimal. */
export function rssMb(pid: number): number {
  return Math.round((rssKiB(pid) / 1024) * 10) / 10;
}
