// RTP multicast client: negotiates with the SDP server (or reads an SDP), joins the group and shows
// RFC 3550 receiver statistics live, as a terminal table or JSON lines.
// Run: deno task client [-- --help]
import { exitCodeFor } from "./lib/common/flags.ts";
import { getLogger } from "@logtape/logtape";
import { CLIENT_EXIT, CLIENT_USAGE, parseClientArgs } from "./lib/client/config.ts";
import { MulticastError, NegotiationError } from "./lib/common/errors.ts";
import { setupLogging } from "./lib/common/logging.ts";
import { withShutdownSignal } from "./lib/common/shutdown.ts";
import { MulticastReceiver } from "./lib/net/multicast_receiver.ts";
import { loadDescription, negotiate } from "./lib/client/negotiate.ts";
import { formatEncoding } from "./lib/rtp/payload_format.ts";
import { ReceiverStats } from "./lib/rtp/session_stats.ts";
import { receive } from "./lib/client/reception.ts";
import type { ReceiveTarget } from "./lib/sdp/receive_target.ts";
import {
  intervalRecords,
  jsonLines,
  summaryRecords,
  type ViewContext,
} from "./lib/client/stats_view.ts";
import { renderTable, type TableOptions } from "./lib/client/stats_table.ts";
import { LiveView } from "./lib/client/live_view.ts";
import { versionLine } from "./lib/common/version.ts";
import { readFileLimited } from "./lib/common/read_file_limited.ts";

/** Largest --ca file read, in bytes. */
const MAX_PEM_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

/** Writes all of `text` to `target`; false when it is gone (e.g. a closed pipe). */
function writeAll(target: typeof Deno.stdout | typeof Deno.stderr, text: string): boolean {
  try {
    const bytes = encoder.encode(text);
    let written = 0;
    while (written < bytes.length) written += target.writeSync(bytes.subarray(written));
    return true;
  } catch {
    return false;
  }
}

/** Writes all of `text` to stdout; false when stdout is gone (e.g. a closed pipe). */
function writeOut(text: string): boolean {
  return writeAll(Deno.stdout, text);
}

/** The terminal's size, or undefined when none of the standard streams is one. */
function consoleSize(): { columns: number; rows: number } | undefined {
  try {
    return Deno.consoleSize();
  } catch {
    return undefined;
  }
}

/** Runs the client; returns the exit code (see CLIENT_EXIT). */
export async function main(args: string[]): Promise<number> {
  let command;
  try {
    command = parseClientArgs(args, (name) => Deno.env.get(name));
  } catch (error) {
    return exitCodeFor("rtp-multicast-client", error);
  }
  if (command.kind === "help") {
    console.log(CLIENT_USAGE);
    return CLIENT_EXIT.OK;
  }
  if (command.kind === "version") {
    console.log(versionLine("rtp-multicast-client"));
    return CLIENT_EXIT.OK;
  }
  const { config } = command;
  // On a terminal: the live table, in colour unless NO_COLOR is set or TERM=dumb (which also has no
  // cursor movement, so each table is appended); log lines are kept above the table.
  const table = Deno.stdout.isTerminal() && !config.json;
  const dumb = Deno.env.get("TERM") === "dumb";
  const view = table
    ? new LiveView({
      write: writeOut,
      writeMessage: (text) => void writeAll(Deno.stderr, text),
      size: consoleSize,
      redraw: !dumb,
    })
    : undefined;
  const tableOptions = (): TableOptions => {
    const size = view?.size();
    return { ...size, color: !Deno.noColor && !dumb };
  };
  setupLogging({
    format: "text",
    output: "stderr",
    ...(view !== undefined && Deno.stderr.isTerminal()
      ? { write: (text: string) => view.message(text) }
      : {}),
  });
  const logger = getLogger(["gateway", "client"]);

  return await withShutdownSignal(async (shutdown) => {
    let client: Deno.HttpClient | undefined;
    try {
      if (config.caFile !== undefined) {
        try {
          const pem = await readFileLimited(config.caFile, {
            limit: MAX_PEM_BYTES,
            signal: shutdown,
          });
          client = Deno.createHttpClient({ caCerts: [new TextDecoder().decode(pem)] });
        } catch (error) {
          if (shutdown.aborted) return CLIENT_EXIT.INTERRUPTED;
          console.error(
            `rtp-multicast-client: --ca: cannot read ${config.caFile}: ${(error as Error).message}`,
          );
          return CLIENT_EXIT.USAGE;
        }
      }
      if (config.tokenFromFlag) {
        logger.warn("--token is visible to other users in ps and /proc: set GATEWAY_TOKEN instead");
      }
      const fetchOptions = {
        retries: config.retries,
        attemptTimeoutMs: config.negotiationTimeoutS * 1000,
        allowControlGroups: config.allowControlGroups,
        ...(config.token === undefined ? {} : { token: config.token }),
        ...(client === undefined ? {} : { client }),
        signal: shutdown,
        // Remote text is a value, never a template: "{x}" in a server's message stays as it is.
        onRetry: (message: string) => logger.warn("{message}", { message }),
        ...(config.media === undefined ? {} : { media: config.media }),
      };
      let target: ReceiveTarget;
      try {
        target = config.locator.kind === "offer"
          ? await negotiate(config.locator.url, { ...fetchOptions, formats: config.offerFormats })
          : await loadDescription(config.locator.location, fetchOptions);
      } catch (error) {
        if (shutdown.aborted) return CLIENT_EXIT.INTERRUPTED;
        if (error instanceof NegotiationError) {
          logger.error("{message}", { message: error.message });
          return CLIENT_EXIT.NEGOTIATION;
        }
        throw error;
      }
      const sources = [...new Set([...target.sources, ...config.sources])];
      const formats = target.formats.map((f) => `${formatEncoding(f)} (PT ${f.payloadType})`).join(
        ", ",
      );
      if (target.media.count > 1) {
        logger.info(
          "The description has {count} m-lines ({types}): receiving m-line {index}, m={type}" +
            "{how}",
          {
            count: target.media.count,
            types: target.media.types.join(", "),
            index: target.media.index,
            type: target.media.type,
            how: config.media === undefined
              ? " (the first RTP one that can be received; choose with --media)"
              : ` (--media ${
                config.media.kind === "type" ? config.media.type : config.media.index
              })`,
          },
        );
      }
      logger.info(
        "Stream {name}: {group} port {port}{ttl}, {formats}{sources}",
        {
          name: target.name,
          group: target.group,
          port: target.port,
          ttl: target.ttl === undefined ? "" : ` TTL ${target.ttl}`,
          formats: formats || "no known format",
          sources: sources.length > 0 ? `, only from ${sources.join(", ")}` : "",
        },
      );
      if (shutdown.aborted) return CLIENT_EXIT.INTERRUPTED;

      let receiver: MulticastReceiver;
      try {
        receiver = await MulticastReceiver.open({
          group: target.group,
          port: target.port,
          receiveBufferBytes: config.receiveBufferBytes,
          ...(config.interface === undefined ? {} : { interface: config.interface }),
        });
      } catch (error) {
        if (error instanceof MulticastError) {
          logger.error("{message}", { message: error.message });
          return CLIENT_EXIT.USAGE;
        }
        throw error;
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
      logger.info("Joined {group} port {port} on {iface}", {
        group: target.group,
        port: target.port,
        iface: config.interface ?? "any interface",
      });
      const stats = new ReceiverStats({
        clockRates: new Map(target.formats.map((f) => [f.payloadType, f.clockRate])),
        expectedPayloadTypes: new Set([
          ...target.formats.map((f) => f.payloadType),
          ...target.unknownPayloadTypes,
        ]),
        ipVersion: target.ipVersion,
        silenceLimitMs: config.stallAfterS * 1000,
        // A live stream is never evicted by a flood of new SSRCs (it is stalled beyond this).
        protectActiveMs: config.stallAfterS * 1000,
      });
      const interfaceName = config.interface ?? "any interface";
      let outputOpen = true;
      const context = (
        status: Omit<ViewContext, "group" | "port" | "interfaceName" | "formats" | "stallAfterS">,
      ): ViewContext => ({
        group: target.group,
        port: target.port,
        interfaceName,
        formats: target.formats,
        stallAfterS: config.stallAfterS,
        ...status,
      });
      const result = await receive({
        receiver,
        stats,
        sources,
        timeoutS: config.timeoutS,
        stallAfterS: config.stallAfterS,
        intervalS: config.intervalS,
        ...(config.durationS === undefined ? {} : { durationS: config.durationS }),
        ...(config.packets === undefined ? {} : { packets: config.packets }),
        signal: shutdown,
        onInterval: (interval, total, status) => {
          if (!outputOpen) return;
          if (view !== undefined) {
            outputOpen = view.draw(renderTable(total, interval, context(status), tableOptions()));
          } else {
            outputOpen = writeOut(
              jsonLines(intervalRecords(interval, context(status), new Date())),
            );
          }
        },
        onStateChange: (state, status) => {
          if (state === "stalled") {
            logger.warn("No packets for {seconds} s: stream stalled (re-joining {group})", {
              seconds: config.stallAfterS,
              group: target.group,
            });
          } else if (state === "receiving" && status.stalls > 0) {
            logger.info("Packets are flowing again");
          }
        },
      });
      const final = context(result);
      if (view !== undefined) {
        view.finish(
          renderTable(result.total, result.total, { ...final, final: true }, tableOptions()),
        );
      } else {
        writeOut(jsonLines(summaryRecords(result.total, final, new Date())));
      }
      if (result.outcome === "timeout") {
        const invalid = result.total.invalid > 0
          ? ` (${result.total.invalid} datagrams were not valid RTP)`
          : "";
        logger.error(
          "No RTP packet on {group} port {port} via {iface} within {timeout} s{invalid}. Check the interface " +
            "(--interface), IGMP snooping or a missing querier on the switch, the firewall (UDP port {port}), " +
            "and the sender's TTL.",
          {
            group: target.group,
            port: target.port,
            iface: interfaceName,
            timeout: config.timeoutS,
            invalid,
          },
        );
        return CLIENT_EXIT.NO_PACKETS;
      }
      if (result.outcome === "interrupted") return CLIENT_EXIT.OK;
      return stats.firstPacketMs === undefined ? CLIENT_EXIT.NO_PACKETS : CLIENT_EXIT.OK;
    } finally {
      client?.close();
    }
  });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
