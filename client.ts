// RTP multicast client: negotiates with the SDP server (or reads SDP descriptions, or follows the
// server's catalog), joins the groups and shows RFC 3550 receiver statistics and ETSI TR 101 290
// MPEG-TS health live, as a terminal table or JSON lines. Run: deno task client [-- --help]
import { exitCodeFor } from "./lib/common/flags.ts";
import { getLogger } from "@logtape/logtape";
import { parseClientArgs } from "./lib/client/config.ts";
import { CLIENT_EXIT, CLIENT_USAGE } from "./lib/client/usage.ts";
import { setupLogging } from "./lib/common/logging.ts";
import { withShutdownSignal } from "./lib/common/shutdown.ts";
import { receiverChoice } from "./lib/net/open_receiver.ts";
import { ClientOutput } from "./lib/client/client_output.ts";
import { runSession } from "./lib/client/client_session.ts";
import type { TableOptions } from "./lib/client/stats_table.ts";
import { LiveView, type LiveViewOptions } from "./lib/client/live_view.ts";
import { versionLine } from "./lib/common/version.ts";
import { readFileLimited } from "./lib/common/read_file_limited.ts";
import { StreamOutput, type StreamOutputSummary } from "./lib/client/stream_output.ts";
import { runDiscovery } from "./lib/client/discovery.ts";
import { KeyInput } from "./lib/client/key_input.ts";
import type { DiscoverConfig } from "./lib/client/config.ts";

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

/** Subscribes `listener` to SIGHUP; returns the unsubscribe function. */
function onSighup(listener: () => void): () => void {
  Deno.addSignalListener("SIGHUP", listener);
  return () => Deno.removeSignalListener("SIGHUP", listener);
}

/** `--discover`: the SAP sessions heard, as a live table on a terminal or JSON lines. */
/** TERM=dumb: no colour and no cursor movement (each table is appended). */
function terminalIsDumb(): boolean {
  return Deno.env.get("TERM") === "dumb";
}

/** The redrawn terminal view writing through `write`; messages go to stderr. */
function liveView(write: LiveViewOptions["write"]): LiveView {
  return new LiveView({
    write,
    writeMessage: (text) => void writeAll(Deno.stderr, text),
    size: consoleSize,
    redraw: !terminalIsDumb(),
  });
}

/** Text logs on stderr, kept above the view when both are on the same terminal. */
function logAboveView(view: LiveView | undefined): void {
  setupLogging({
    format: "text",
    output: "stderr",
    ...(view !== undefined && Deno.stderr.isTerminal()
      ? { write: (text: string) => view.message(text) }
      : {}),
  });
}

async function discover(config: DiscoverConfig): Promise<number> {
  const view = Deno.stdout.isTerminal() && !config.json ? liveView(writeOut) : undefined;
  logAboveView(view);
  const logger = getLogger(["gateway", "client"]);
  return await withShutdownSignal(async (signal) => {
    const end = await runDiscovery({
      config,
      write: writeOut,
      ...(view === undefined ? {} : {
        draw: (text: string, final: boolean) => final ? (view.finish(text), true) : view.draw(text),
      }),
      // One column short of the width, as the stats table: a full line would wrap on some terminals.
      tableOptions: () => ({
        ...(view === undefined ? {} : { columns: view.size().columns - 1 }),
        color: !Deno.noColor && !terminalIsDumb(),
      }),
      signal,
      onListening: (snapshot) => {
        logger.info("Listening for SAP announcements on {groups}", {
          groups: snapshot.groups.join(", "),
        });
        // Without --interface a link-local group (ff02::2:7ffe) cannot be joined: not worth a warning.
        for (const { group, error } of snapshot.failedGroups) {
          logger.debug("SAP group {group} could not be joined: {error}", { group, error });
        }
      },
    });
    if (end.kind === "failed") {
      logger.error("{message}", { message: end.message });
      return CLIENT_EXIT.USAGE;
    }
    return CLIENT_EXIT.OK;
  });
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
  if (command.kind === "discover") return await discover(command.config);
  const { config } = command;
  // With --output - stdout carries the transport stream: the statistics go to stderr.
  const display = config.output === "-" ? Deno.stderr : Deno.stdout;
  const writeDisplay = (text: string) => writeAll(display, text);
  // On a terminal: the live table, in colour unless NO_COLOR is set or TERM=dumb (which also has no
  // cursor movement, so each table is appended); log lines are kept above the table.
  const table = display.isTerminal() && !config.json;
  const dumb = terminalIsDumb();
  const view = table ? liveView(writeDisplay) : undefined;
  const tableOptions = (): TableOptions => {
    const size = view?.size();
    return { ...size, color: !Deno.noColor && !dumb };
  };
  logAboveView(view);
  const logger = getLogger(["gateway", "client"]);
  const choice = receiverChoice(config.receiver);
  if (choice.problem !== undefined) {
    logger.error("--receiver kernel: cannot use the kernel receiver here: {problem}", {
      problem: choice.problem,
    });
    return CLIENT_EXIT.USAGE;
  }
  logger.info("Receiving through the {kind} path: {reason}", { ...choice });

  return await withShutdownSignal(async (shutdown) => {
    let client: Deno.HttpClient | undefined;
    // A closed --output pipe, a failed write, or SIGQUIT/SIGHUP while keys are read end the run
    // (the summary still goes out).
    const stopRun = new AbortController();
    let keys: KeyInput | undefined;
    let tsFile: StreamOutput | undefined;
    try {
      if (config.output !== undefined) {
        try {
          tsFile = await StreamOutput.open({
            path: config.output,
            signal: shutdown,
            onStop: (stop, error) => {
              if (stop === "closed") {
                logger.info("--output: the reader closed the pipe; ending the run");
              } else {
                logger.error("--output: cannot write {path}: {message}; ending the run", {
                  path: config.output === "-" ? "stdout" : config.output,
                  message: error.message,
                });
              }
              stopRun.abort();
            },
          });
        } catch (error) {
          if (shutdown.aborted) return CLIENT_EXIT.INTERRUPTED;
          return exitCodeFor("rtp-multicast-client", error);
        }
      }
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
      const settings = {
        interfaceName: config.interface ?? "any interface",
        stallAfterS: config.stallAfterS,
      };
      let showPids = config.pids;
      const output = new ClientOutput({
        ...settings,
        single: !config.all && config.locators.length === 1,
        write: writeDisplay,
        tableOptions,
        pids: () => showPids,
        ...(view === undefined ? {} : {
          draw: (text: string, final: boolean) =>
            final ? (view.finish(text), true) : view.draw(text),
        }),
      });
      if (view !== undefined) {
        keys = KeyInput.start({
          onKey: (key) => {
            if (key !== "p" && key !== "P") return;
            showPids = !showPids;
            output.redraw();
          },
          onSignal: () => stopRun.abort(),
          handleSighup: !config.all,
        });
        if (keys !== undefined) logger.info("Press p to show or hide the PID table");
      }
      const end = await runSession({
        config,
        receiverKind: choice.kind,
        output,
        settings,
        signal: AbortSignal.any([shutdown, stopRun.signal]),
        ...(tsFile === undefined ? {} : { tsOutput: tsFile.ts }),
        onRefreshRequest: onSighup,
        fetch: {
          retries: config.retries,
          attemptTimeoutMs: config.negotiationTimeoutS * 1000,
          allowControlGroups: config.allowControlGroups,
          ...(config.token === undefined ? {} : { token: config.token }),
          ...(client === undefined ? {} : { client }),
          signal: shutdown,
          // Remote text is a value, never a template: "{x}" in a server's message stays as it is.
          onRetry: (message: string) => logger.warn("{message}", { message }),
          ...(config.media === undefined ? {} : { media: config.media }),
        },
      });
      if (tsFile !== undefined) {
        const summary = await tsFile.close();
        tsFile = undefined;
        logOutputSummary(summary);
        if (summary.stop === "failed") return CLIENT_EXIT.OUTPUT;
      }
      switch (end.kind) {
        case "usage":
          return CLIENT_EXIT.USAGE;
        case "negotiation":
          return CLIENT_EXIT.NEGOTIATION;
        case "interrupted":
          return CLIENT_EXIT.INTERRUPTED;
        case "received":
          if (end.outcome === "timeout") return CLIENT_EXIT.NO_PACKETS;
          if (end.outcome === "interrupted") return CLIENT_EXIT.OK;
          return end.received ? CLIENT_EXIT.OK : CLIENT_EXIT.NO_PACKETS;
      }
    } finally {
      keys?.close();
      await tsFile?.close();
      client?.close();
    }
  });
}

/** The end of `--output`: what was written, and what was not (on stderr). */
function logOutputSummary(summary: StreamOutputSummary): void {
  const logger = getLogger(["gateway", "client"]);
  const lost = summary.missing > 0 ? `, ${summary.missing} lost packets left as gaps` : "";
  // Raw UDP is written as received: no sequence numbers to reorder by.
  const order = summary.released === 0 && summary.datagrams > 0
    ? "as received"
    : "in sequence order; {reordered} put back in order, {duplicates} duplicates and {late} " +
      "late ones dropped{lost}";
  logger.info(
    "--output: wrote {bytes} bytes to {path} ({datagrams} datagrams " + order + "{dropped})",
    {
      bytes: summary.writtenBytes,
      path: summary.path === "-" ? "stdout" : summary.path,
      datagrams: summary.datagrams,
      reordered: summary.reordered,
      duplicates: summary.duplicates,
      late: summary.late,
      lost,
      dropped:
        (summary.droppedBytes > 0
          ? `; ${summary.droppedBytes} bytes dropped: the reader was slower than the stream or gone`
          : "") +
        (summary.notMpegTs > 0
          ? `; ${summary.notMpegTs} packets not written: their payload type is not MPEG-TS`
          : "") +
        (summary.otherSource > 0
          ? `; ${summary.otherSource} packets of other senders not written`
          : ""),
    },
  );
}

if (import.meta.main) Deno.exit(await main(Deno.args));
