// `--discover`: listens on the SAP groups (RFC 2974; lib/sap/listener.ts) and shows the sessions it
// hears, de-duplicated by message hash and origin and forgotten after ten of their intervals: a
// table redrawn every interval, or JSON lines (one per change, and the counters), until the end.
import { MulticastError } from "../common/errors.ts";
import type { DirectoryEvent } from "../sap/directory.ts";
import { type ListenerSnapshot, SapListener } from "../sap/listener.ts";
import { DEFAULT_SAP_LISTEN_GROUPS, SAP_PORT } from "../sap/scope.ts";
import type { DiscoverConfig } from "./config.ts";
import { announcementRecord, discoveryRecord, renderDiscovery } from "./discovery_table.ts";
import { sapInterfaces } from "./sap_streams.ts";

/** Options of {@link runDiscovery}. */
export interface DiscoveryOptions {
  readonly config: DiscoverConfig;
  /** Draws the table in place (a terminal); undefined writes JSON lines with `write`. */
  readonly draw?: (text: string, final: boolean) => boolean;
  /** Writes JSON lines text; false once the output is gone. */
  readonly write: (text: string) => boolean;
  /** Terminal width and colour for the table. */
  readonly tableOptions: () => { columns?: number; color?: boolean };
  readonly signal: AbortSignal;
  /** Called once listening: the groups joined and those that could not be. */
  readonly onListening?: (snapshot: ListenerSnapshot) => void;
  /** SAP groups and port (default the seven groups, 9875). */
  readonly groups?: readonly string[];
  readonly port?: number;
}

/** How a discovery run ended: `done` (--duration, signal, closed output) or `failed` (no group). */
export type DiscoveryEnd =
  | { readonly kind: "done"; readonly sessions: number }
  | { readonly kind: "failed"; readonly message: string };

/** Listens until --duration, the signal or a closed output; never throws for bad packets. */
export async function runDiscovery(options: DiscoveryOptions): Promise<DiscoveryEnd> {
  const { config } = options;
  const port = options.port ?? SAP_PORT;
  let open = true;
  const emit = (text: string) => {
    if (open) open = options.write(text);
  };
  const json = options.draw === undefined;
  const onEvent = (event: DirectoryEvent) => {
    if (json) emit(JSON.stringify(announcementRecord(event, new Date())) + "\n");
  };
  let listener: SapListener;
  try {
    listener = await SapListener.open({
      groups: options.groups ?? DEFAULT_SAP_LISTEN_GROUPS,
      port,
      ...sapInterfaces(config.interface),
      onEvent,
    });
  } catch (error) {
    if (!(error instanceof MulticastError)) throw error;
    return { kind: "failed", message: `--discover: ${error.message}` };
  }
  const startMs = performance.now();
  try {
    options.onListening?.(listener.snapshot());
    let lastCounters = "";
    const show = (final: boolean) => {
      const snapshot = listener.snapshot();
      if (options.draw !== undefined) {
        const text = renderDiscovery(snapshot, Date.now(), {
          ...options.tableOptions(),
          elapsedS: (performance.now() - startMs) / 1000,
          port,
          final,
        });
        open = options.draw(text, final) && open;
        return;
      }
      const counters = JSON.stringify([snapshot.counters, snapshot.sessions.length]);
      if (final || counters !== lastCounters) {
        lastCounters = counters;
        emit(JSON.stringify(discoveryRecord(snapshot, new Date(), final)) + "\n");
      }
    };
    const { promise: ended, resolve: end } = Promise.withResolvers<void>();
    const onAbort = () => end();
    options.signal.addEventListener("abort", onAbort, { once: true });
    if (options.signal.aborted) end();
    const durationTimer = config.durationS === undefined
      ? undefined
      : setTimeout(end, config.durationS * 1000);
    show(false);
    const timer = setInterval(() => {
      show(false);
      if (!open) end();
    }, config.intervalS * 1000);
    try {
      await ended;
    } finally {
      clearInterval(timer);
      clearTimeout(durationTimer);
      options.signal.removeEventListener("abort", onAbort);
    }
    show(true);
    return { kind: "done", sessions: listener.snapshot().sessions.length };
  } finally {
    await listener.close();
  }
}
