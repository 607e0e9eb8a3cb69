// Test source that stands in for VLC: MPEG-TS over RTP (RFC 2250, PT 33, 7 × 188-byte packets per
// datagram, RFC 3550 §5.1 header, 90 kHz timestamps from the send schedule) to a multicast group, and
// a relay from one group to another; both with seeded impairments and an exact truth report.

import { delay } from "../common/delay.ts";
import { ConfigError, MulticastError } from "../common/errors.ts";
import {
  checkProbability,
  createImpairPlan,
  Impairer,
  type ImpairmentCounters,
  type ImpairmentOptions,
} from "./impairment.ts";
import { TS } from "../ts/constants.ts";
import { MIN_TS_BITRATE, TsMuxer } from "./ts_muxer.ts";
import { ipVersionOf, multicastProblem } from "../net/multicast_address.ts";
import { RTP_FIXED_HEADER_LENGTH, writeRtpHeader } from "../rtp/writer.ts";

/** What the source sends (RFC 2250 §2, RFC 3551 §6). */
export const MP2T_RTP = {
  /** Static payload type of MP2T. */
  PAYLOAD_TYPE: 33,
  /** RTP clock rate of MP2T, Hz. */
  CLOCK_RATE: 90_000,
  /** Transport packets per datagram (the common choice: 7 × 188 = 1316 fits a 1500-byte MTU). */
  TS_PACKETS: 7,
  /** Payload bytes per datagram. */
  PAYLOAD_BYTES: 7 * TS.PACKET_SIZE,
  /** Datagram bytes: 12-byte header + 1316. */
  DATAGRAM_BYTES: RTP_FIXED_HEADER_LENGTH + 7 * TS.PACKET_SIZE,
} as const;

/** Defaults of {@link sendRtpStream} and the source script (VLC's `#rtp{dst=239.0.0.1,port=5004,mux=ts}`). */
export const SOURCE_DEFAULTS = {
  group: "239.0.0.1",
  port: 5004,
  /** 0 keeps every packet on this host (IP_MULTICAST_TTL 0). */
  ttl: 0,
  /** Bit/s of TS payload (RTP/UDP/IP headers not included). */
  bitrate: 2_000_000,
  /** Multicast loopback on, so receivers on this host get the packets (needed with TTL 0). */
  loopback: true,
} as const;

/** Highest accepted bitrate, bit/s (about 9 500 datagrams per second). */
export const MAX_SOURCE_BITRATE = 100_000_000;

/** Seeded impairments shared by the source and the relay; the seed defaults to a random one. */
export type ImpairmentSettings = Partial<ImpairmentOptions>;

/** Where and how to send multicast datagrams. */
export interface MulticastSendOptions {
  /** IPv4 or IPv6 multicast group. */
  readonly group: string;
  /** Destination UDP port, 1-65535. */
  readonly port: number;
  /**
   * IPv4: IP_MULTICAST_TTL, 0-255 (0 = this host only). IPv6: Deno cannot set the hop limit, so
   * only 1 (the kernel default, link-local) or 0 with an interface-local group (ff01::/16, ff11::…),
   * which Linux never puts on a wire, are accepted. Default 0.
   */
  readonly ttl?: number;
  /** Local address to send from; for IPv4 it also picks the outgoing interface. */
  readonly interfaceAddress?: string;
  /** IP_MULTICAST_LOOP: deliver to receivers on this host too (default true). */
  readonly loopback?: boolean;
}

/** Options of {@link sendRtpStream}. */
export interface RtpSourceOptions extends MulticastSendOptions, ImpairmentSettings {
  /** TS bitrate in bit/s (default 2 000 000); RTP timestamps follow this rate. */
  readonly bitrate?: number;
  /** SSRC (default random). */
  readonly ssrc?: number;
  /** Sequence number of the first packet (default random). */
  readonly startSeq?: number;
  /** RTP timestamp of the first packet (default random). */
  readonly startTimestamp?: number;
  /** Stop after this many packets were generated. */
  readonly packets?: number;
  /** Stop at this many seconds of schedule: ⌈durationS × bitrate / 10 528⌉ packets. */
  readonly durationS?: number;
  /** Stops sending; the held packet is still flushed and the truth returned. */
  readonly signal?: AbortSignal;
  /** Called once the options are valid and the socket is open, before the first packet. */
  readonly onStart?: () => void;
}

/** The truth of a source run: what was generated and put on the wire. */
export interface SourceTruth extends ImpairmentCounters {
  /** Sequence number of the first and last generated packet; null when none was. */
  readonly firstSeq: number | null;
  readonly lastSeq: number | null;
  readonly ssrc: number;
  /** RTP timestamp of the first packet. */
  readonly startTimestamp: number;
  readonly seed: number;
  readonly group: string;
  readonly port: number;
  readonly bitrate: number;
  readonly payloadType: number;
  /** Wall-clock seconds from the first send to the end. */
  readonly durationS: number;
}

/** A multicast group and UDP port. */
export interface Endpoint {
  readonly group: string;
  readonly port: number;
}

/** Options of {@link relayRtpStream}. */
export interface RelayOptions extends ImpairmentSettings {
  /** Group to receive from. */
  readonly from: Endpoint;
  /** Group to send to (its TTL, interface and loopback in `send`). */
  readonly to: Endpoint;
  /** TTL, interface and loopback of the sending side (see {@link MulticastSendOptions}). */
  readonly send?: Omit<MulticastSendOptions, "group" | "port">;
  /** IPv4: address of the interface to join `from` on (default: the kernel's choice). */
  readonly receiveInterfaceAddress?: string;
  /** IPv6: interface index to join `from` on (default 0: the kernel's choice). */
  readonly receiveInterfaceIndex?: number;
  /** Stop after this many datagrams were received. */
  readonly packets?: number;
  /** Stop after this many seconds. */
  readonly durationS?: number;
  readonly signal?: AbortSignal;
  /** Called once the group is joined and datagrams can arrive. */
  readonly onReady?: () => void;
}

/** The truth of a relay run; `generated` counts datagrams received from `from`. */
export interface RelayTruth extends ImpairmentCounters {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly seed: number;
  /** Wall-clock seconds from joining to the end. */
  readonly durationS: number;
}

/** RTP clock ticks per datagram numerator: bits per datagram × 90 000. */
const TICKS_NUMERATOR = MP2T_RTP.PAYLOAD_BYTES * 8 * MP2T_RTP.CLOCK_RATE;
/** Largest datagram the relay forwards (UDP over IPv4 maximum). */
const MAX_DATAGRAM = 65_507;
const IPV4_LOOPBACK = "127.0.0.1";

function checkInteger(value: number, field: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(field, `${field} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function checkGroup(group: string, field: string): 4 | 6 {
  const problem = multicastProblem(group);
  if (problem !== undefined) throw new ConfigError(field, `${field}: ${problem}`);
  return ipVersionOf(group)!;
}

/** Scope nibble of an IPv6 multicast address (RFC 4291 §2.7): 1 interface-local … 14 global. */
function ipv6Scope(group: string): number {
  return parseInt(group.slice(3, 4), 16);
}

function randomUint32(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function listenDatagram(options: Deno.UdpListenOptions & { transport: "udp" }): Deno.DatagramConn {
  if (typeof Deno.listenDatagram !== "function") {
    throw new MulticastError(
      "Deno.listenDatagram is unavailable: run with --unstable-net (deno.json enables it)",
    );
  }
  return Deno.listenDatagram(options);
}

/** Validates send options and returns them with defaults applied. */
function resolveSend(options: MulticastSendOptions, field = "group") {
  const version = checkGroup(options.group, field);
  const port = checkInteger(options.port, "port", 1, 65_535);
  const ttl = checkInteger(options.ttl ?? SOURCE_DEFAULTS.ttl, "ttl", 0, 255);
  if (version === 6 && ttl > 1) {
    throw new ConfigError(
      "ttl",
      `Cannot send to ${options.group} with TTL ${ttl}: Deno cannot set the IPv6 hop limit, ` +
        "so IPv6 multicast leaves with the kernel default 1 (use --ttl 1)",
    );
  }
  if (version === 6 && ttl === 0 && ipv6Scope(options.group) !== 1) {
    throw new ConfigError(
      "ttl",
      `Cannot keep ${options.group} on this host (TTL 0): Deno cannot set the IPv6 hop limit; ` +
        "use an interface-local group (ff01::/16) or --ttl 1 (link-local)",
    );
  }
  const interfaceAddress = options.interfaceAddress;
  if (interfaceAddress !== undefined && ipVersionOf(interfaceAddress) !== version) {
    throw new ConfigError(
      "interface",
      `Interface address "${interfaceAddress}" is not an IPv${version} address like ${options.group}`,
    );
  }
  return {
    group: options.group,
    port,
    ttl,
    version,
    interfaceAddress,
    loopback: options.loopback ?? SOURCE_DEFAULTS.loopback,
  };
}

/**
 * Opens the sending socket. IPv4 needs a membership to reach setTTL (Deno has no other TTL API):
 * it joins on the given interface, or on loopback so no IGMP report leaves the host. IPv6 sends
 * with the kernel's default hop limit (checked in resolveSend) and needs no membership.
 */
async function openSender(send: ReturnType<typeof resolveSend>): Promise<Deno.DatagramConn> {
  const hostname = send.interfaceAddress ?? (send.version === 4 ? "0.0.0.0" : "::");
  let conn: Deno.DatagramConn;
  try {
    conn = listenDatagram({ transport: "udp", hostname, port: 0, loopback: send.loopback });
  } catch (error) {
    if (error instanceof MulticastError) throw error;
    throw new MulticastError(`Cannot open a UDP socket on ${hostname}: ${errorText(error)}`, {
      cause: error,
    });
  }
  if (send.version === 6) return conn;
  const joinOn = send.interfaceAddress ?? IPV4_LOOPBACK;
  try {
    const membership = await conn.joinMulticastV4(send.group, joinOn);
    await membership.setTTL(send.ttl);
    await membership.setLoopback(send.loopback);
  } catch (error) {
    conn.close();
    throw new MulticastError(
      `Cannot set TTL ${send.ttl} for ${send.group} (membership on ${joinOn}): ${errorText(error)}`,
      { cause: error },
    );
  }
  return conn;
}

function resolveImpairment(options: ImpairmentSettings): ImpairmentOptions & { seed: number } {
  for (const field of ["loss", "duplicate", "reorder"] as const) {
    try {
      checkProbability(options[field] ?? 0, field);
    } catch (error) {
      throw new ConfigError(field, errorText(error), { cause: error });
    }
  }
  const seed = checkInteger(options.seed ?? randomUint32(), "seed", 0, 0xffff_ffff);
  checkInteger(options.warmup ?? 0, "warmup", 0, Number.MAX_SAFE_INTEGER);
  return { ...options, seed };
}

function sendError(error: unknown, endpoint: Endpoint): MulticastError {
  return new MulticastError(
    `Cannot send to ${endpoint.group} port ${endpoint.port}: ${errorText(error)}`,
    { cause: error },
  );
}

function roundSeconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/**
 * Sends MPEG-TS over RTP to a multicast group until `packets`, `durationS` or `signal` stops it,
 * and returns the truth. Datagram n is due at n × 10 528 / bitrate seconds after the start and
 * carries timestamp startTimestamp + ⌊n × 947 520 000 / bitrate⌋ (90 kHz); a timer tick every few
 * milliseconds sends every packet that is due (in a burst when behind). Impairments apply per
 * packet ({@link Impairer}); a held packet is flushed at the end. Throws ConfigError for bad
 * options and MulticastError when the socket cannot be opened or a send fails.
 */
export async function sendRtpStream(options: RtpSourceOptions): Promise<SourceTruth> {
  const send = resolveSend(options);
  const bitrate = checkInteger(
    options.bitrate ?? SOURCE_DEFAULTS.bitrate,
    "bitrate",
    MIN_TS_BITRATE,
    MAX_SOURCE_BITRATE,
  );
  const ssrc = checkInteger(options.ssrc ?? randomUint32(), "ssrc", 0, 0xffff_ffff);
  const startSeq = checkInteger(
    options.startSeq ?? (randomUint32() & 0xffff),
    "startSeq",
    0,
    0xffff,
  );
  const startTimestamp = checkInteger(
    options.startTimestamp ?? randomUint32(),
    "startTimestamp",
    0,
    0xffff_ffff,
  );
  let limit = Infinity;
  if (options.packets !== undefined) {
    limit = checkInteger(options.packets, "packets", 0, Number.MAX_SAFE_INTEGER);
  }
  if (options.durationS !== undefined) {
    if (!Number.isFinite(options.durationS) || options.durationS < 0) {
      throw new ConfigError("duration", `duration must be seconds ≥ 0, got ${options.durationS}`);
    }
    const bits = MP2T_RTP.PAYLOAD_BYTES * 8;
    limit = Math.min(limit, Math.ceil((options.durationS * bitrate) / bits));
  }
  const impairment = resolveImpairment(options);
  const impairer = new Impairer(impairment);
  const plan = createImpairPlan();
  const muxer = new TsMuxer({ bitrate });
  const packet = new Uint8Array(MP2T_RTP.DATAGRAM_BYTES);
  const payload = packet.subarray(RTP_FIXED_HEADER_LENGTH);
  const held = new Uint8Array(MP2T_RTP.DATAGRAM_BYTES);
  const header = {
    payloadType: MP2T_RTP.PAYLOAD_TYPE,
    marker: false,
    sequenceNumber: startSeq,
    timestamp: startTimestamp,
    ssrc,
  };
  const tickStep = Math.floor(TICKS_NUMERATOR / bitrate);
  const tickRemainderStep = TICKS_NUMERATOR % bitrate;
  let tickRemainder = 0;
  const msPerPacket = (MP2T_RTP.PAYLOAD_BYTES * 8 * 1000) / bitrate;
  const address: Deno.NetAddr = { transport: "udp", hostname: send.group, port: send.port };
  const signal = options.signal;

  const conn = await openSender(send);
  let generated = 0;
  const start = performance.now();
  try {
    options.onStart?.();
    const transmit = async (data: Uint8Array, copies: number) => {
      for (let i = 0; i < copies; i++) await conn.send(data, address);
    };
    while (generated < limit && !signal?.aborted) {
      const elapsed = performance.now() - start;
      const due = Math.min(limit, Math.floor(elapsed / msPerPacket) + 1);
      while (generated < due && !signal?.aborted) {
        writeRtpHeader(packet, header);
        muxer.fillPackets(payload, MP2T_RTP.TS_PACKETS);
        impairer.decide(plan);
        await transmit(packet, plan.currentCopies);
        await transmit(held, plan.heldCopies);
        if (plan.hold) held.set(packet);
        generated++;
        header.sequenceNumber = (header.sequenceNumber + 1) & 0xffff;
        tickRemainder += tickRemainderStep;
        let ticks = tickStep;
        if (tickRemainder >= bitrate) {
          ticks++;
          tickRemainder -= bitrate;
        }
        header.timestamp = (header.timestamp + ticks) >>> 0;
      }
      if (generated >= limit || signal?.aborted) break;
      const wait = generated * msPerPacket - (performance.now() - start);
      await delay(Math.max(1, Math.ceil(wait)), signal);
    }
    await transmit(held, impairer.flush());
  } catch (error) {
    throw sendError(error, send);
  } finally {
    conn.close();
  }
  return {
    ...impairer.snapshot(),
    firstSeq: generated === 0 ? null : startSeq,
    lastSeq: generated === 0 ? null : (startSeq + generated - 1) & 0xffff,
    ssrc,
    startTimestamp,
    seed: impairment.seed,
    group: send.group,
    port: send.port,
    bitrate,
    payloadType: MP2T_RTP.PAYLOAD_TYPE,
    durationS: roundSeconds(performance.now() - start),
  };
}

/**
 * Receives datagrams from one multicast group and re-sends each unchanged to another, with the
 * same seeded impairments and truth counters as {@link sendRtpStream}, until `packets`,
 * `durationS` or `signal` stops it. The receiving socket is bound to the group address itself
 * (reuseAddress, so other receivers can share it) so no other group on the port mixes in.
 * Throws ConfigError for bad options and MulticastError when a socket cannot be opened or joined.
 */
export async function relayRtpStream(options: RelayOptions): Promise<RelayTruth> {
  const fromVersion = checkGroup(options.from.group, "from");
  const fromPort = checkInteger(options.from.port, "from", 1, 65_535);
  const send = resolveSend({ ...options.send, ...options.to }, "to");
  if (send.group === options.from.group && send.port === fromPort) {
    throw new ConfigError("to", `to: ${send.group} port ${send.port} is the group relayed from`);
  }
  let limit = Infinity;
  if (options.packets !== undefined) {
    limit = checkInteger(options.packets, "packets", 0, Number.MAX_SAFE_INTEGER);
  }
  const durationS = options.durationS;
  if (durationS !== undefined && (!Number.isFinite(durationS) || durationS < 0)) {
    throw new ConfigError("duration", `duration must be seconds ≥ 0, got ${durationS}`);
  }
  const impairment = resolveImpairment(options);
  const impairer = new Impairer(impairment);
  const plan = createImpairPlan();
  const from: Endpoint = { group: options.from.group, port: fromPort };
  const to: Endpoint = { group: send.group, port: send.port };
  const address: Deno.NetAddr = { transport: "udp", hostname: to.group, port: to.port };

  let receiver: Deno.DatagramConn;
  try {
    receiver = listenDatagram({
      transport: "udp",
      hostname: from.group,
      port: from.port,
      reuseAddress: true,
    });
  } catch (error) {
    if (error instanceof MulticastError) throw error;
    throw new MulticastError(
      `Cannot bind to ${from.group} port ${from.port}: ${errorText(error)}`,
      { cause: error },
    );
  }
  let sender: Deno.DatagramConn | undefined;
  try {
    const joinOn = fromVersion === 4
      ? options.receiveInterfaceAddress ?? "0.0.0.0"
      : options.receiveInterfaceIndex ?? 0;
    try {
      if (typeof joinOn === "string") await receiver.joinMulticastV4(from.group, joinOn);
      else await receiver.joinMulticastV6(from.group, joinOn);
    } catch (error) {
      throw new MulticastError(
        `Cannot join ${from.group} port ${from.port} on ${joinOn}: ${errorText(error)}`,
        { cause: error },
      );
    }
    sender = await openSender(send);
  } catch (error) {
    receiver.close();
    throw error;
  }

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    receiver.close();
  };
  const signal = options.signal;
  signal?.addEventListener("abort", stop, { once: true });
  const timer = durationS === undefined ? undefined : setTimeout(stop, durationS * 1000);
  const buffer = new Uint8Array(MAX_DATAGRAM);
  const held = new Uint8Array(MAX_DATAGRAM);
  let heldLength = 0;
  let received = 0;
  const start = performance.now();
  try {
    options.onReady?.();
    if (signal?.aborted || limit === 0) stop();
    while (!stopping) {
      let data: Uint8Array;
      try {
        [data] = await receiver.receive(buffer);
      } catch (error) {
        if (stopping) break;
        throw new MulticastError(
          `Cannot receive from ${from.group} port ${from.port}: ${errorText(error)}`,
          { cause: error },
        );
      }
      received++;
      impairer.decide(plan);
      try {
        for (let i = 0; i < plan.currentCopies; i++) await sender.send(data, address);
        for (let i = 0; i < plan.heldCopies; i++) {
          await sender.send(held.subarray(0, heldLength), address);
        }
      } catch (error) {
        throw sendError(error, to);
      }
      if (plan.hold) {
        held.set(data);
        heldLength = data.length;
      }
      if (received >= limit) stop();
    }
    try {
      const copies = impairer.flush();
      for (let i = 0; i < copies; i++) await sender.send(held.subarray(0, heldLength), address);
    } catch (error) {
      throw sendError(error, to);
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", stop);
    stop();
    sender.close();
  }
  return {
    ...impairer.snapshot(),
    from,
    to,
    seed: impairment.seed,
    durationS: roundSeconds(performance.now() - start),
  };
}

/**
 * Parses a bitrate flag: an integer of bit/s with an optional k (×1000) or M (×1 000 000) suffix,
 * e.g. `2000000`, `2M`, `500k`, `1.5M`. Throws ConfigError naming `field`.
 */
export function parseBitrate(text: string, field = "bitrate"): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)([kKmM]?)$/.exec(text.trim());
  const factor = match?.[2] === "" ? 1 : /k/i.test(match?.[2] ?? "") ? 1_000 : 1_000_000;
  const value = match === null ? NaN : Number(match[1]) * factor;
  if (!Number.isSafeInteger(value)) {
    throw new ConfigError(
      field,
      `${field}: expected bit/s such as 2000000, 2M or 500k, got "${text}"`,
    );
  }
  return value;
}

/** Parses `GROUP:PORT` or `[IPV6-GROUP]:PORT` into a multicast endpoint; throws ConfigError. */
export function parseEndpoint(text: string, field: string): Endpoint {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text.trim());
  if (match === null) {
    throw new ConfigError(
      field,
      `${field}: expected GROUP:PORT or [IPV6-GROUP]:PORT, got "${text}"`,
    );
  }
  const group = (match[1] ?? match[2])!;
  checkGroup(group, field);
  const port = Number(match[3]);
  if (port < 1 || port > 65_535) {
    throw new ConfigError(field, `${field}: port must be 1-65535, got ${port}`);
  }
  return { group, port };
}
