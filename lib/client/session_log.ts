// The client's log lines about its streams and sockets: what each stream is, joins and re-joins
// (IGMP/MLD), receive buffers, stalls and recoveries; one stream keeps the lines it always had.
import { getLogger } from "@logtape/logtape";
import type { ReceiverKind } from "../net/datagram_receiver.ts";
import type { ClientConfig } from "./config.ts";
import type { SocketEvent } from "./socket_pool.ts";
import { describeFormats, type StreamPlan } from "./stream_setup.ts";
import type { ReceptionState, ReceptionStatus, StreamWatch } from "./stream_watch.ts";

const logger = getLogger(["gateway", "client"]);

/** Logs what a stream is: its m-line choice (when the description has several), group, formats. */
export function logStreamPlan(plan: StreamPlan, config: ClientConfig): void {
  const { target, sources } = plan;
  // An answer to the client's own offer (an RTP/AVP and a udp m-line) rejects the other with port 0.
  if (target.media.count > 1 && target.media.open > 1) {
    logger.info(
      "The description has {count} m-lines ({types}): receiving m-line {index}, m={type}{how}",
      {
        count: target.media.count,
        types: target.media.types.join(", "),
        index: target.media.index,
        type: target.media.type,
        how: config.media === undefined
          ? " (the first RTP one that can be received; choose with --media)"
          : ` (--media ${config.media.kind === "type" ? config.media.type : config.media.index})`,
      },
    );
  }
  logger.info("Stream {name}: {group} port {port}{ttl}, {formats}{sources}", {
    name: plan.name,
    group: target.group,
    port: target.port,
    ttl: target.ttl === undefined ? "" : ` TTL ${target.ttl}`,
    formats: describeFormats(target),
    sources: sources.length > 0 ? `, only from ${sources.join(", ")}` : "",
  });
}

/** Logs a socket event of the pool. */
export function logSocketEvent(event: SocketEvent, config: ClientConfig, announced: ReceiverKind) {
  const { socket } = event;
  const where = { group: socket.group, port: socket.port };
  const message = (error: unknown) => (error as Error).message ?? String(error);
  switch (event.kind) {
    case "opened": {
      const receiver = socket.receiver;
      if (receiver.kind !== announced) {
        logger.warn("Receiving {group} port {port} through {kind}: {reason}", {
          ...where,
          kind: receiver.kind,
          reason: receiver.reason,
        });
      }
      if (config.receiveBufferBytes === 0) {
        // The kernel default was asked for.
      } else if (receiver.receiveBuffer.ok) {
        logger.debug("Receive buffer {bytes} bytes", { bytes: receiver.receiveBuffer.bytes });
      } else {
        logger.warn(
          "Receive buffer left at the kernel default ({reason}): bursts may be lost above ~20 000 packets/s",
          { reason: receiver.receiveBuffer.reason },
        );
      }
      logger.info("Joined {group} port {port} on {iface}{ssm}", {
        ...where,
        iface: config.interface ?? "any interface",
        ssm: receiver.filtersSources ? `, source-specific (${socket.joined.join(", ")})` : "",
      });
      return;
    }
    case "reopened":
      logger.info("Re-joined {group} port {port} on a new socket: {why}", {
        ...where,
        why: event.why,
      });
      return;
    case "renewed":
      logger.debug("Renewed the membership of {group} port {port} ({reason})", {
        ...where,
        reason: event.reason === "refresh" ? "--rejoin-every" : "stalled",
      });
      return;
    case "renewFailed":
      logger.warn("Cannot re-join {group} port {port}: {message}", {
        ...where,
        message: message(event.error),
      });
      return;
    case "receiveFailed":
      logger.error("Receiving on {group} port {port} failed: {message}; retrying", {
        ...where,
        message: message(event.error),
      });
      return;
    case "closed":
      logger.debug("Left {group} port {port}", where);
      return;
  }
}

/** Logs a stall and the recovery from one; several streams name the stream. */
export function logStateChange(
  watch: StreamWatch,
  state: ReceptionState,
  status: ReceptionStatus,
  options: { readonly single: boolean; readonly stallAfterS: number },
): void {
  const group = watch.target.group;
  if (state === "stalled") {
    if (options.single) {
      logger.warn("No packets for {seconds} s: stream stalled (re-joining {group})", {
        seconds: options.stallAfterS,
        group,
      });
    } else {
      logger.warn("Stream {name}: no packets for {seconds} s: stalled (re-joining {group})", {
        name: watch.name,
        seconds: options.stallAfterS,
        group,
      });
    }
  } else if (state === "receiving" && status.stalls > 0) {
    if (options.single) logger.info("Packets are flowing again");
    else logger.info("Stream {name}: packets are flowing again", { name: watch.name });
  }
}
