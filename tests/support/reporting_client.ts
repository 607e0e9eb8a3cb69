// A receiver that reports to a server as the client does (issue 13): real RFC 3550 statistics of
// MPEG-TS-over-RTP datagrams fed with a chosen loss, sent through the client's own Reporter.
import { Reporter } from "../../lib/client/reporter.ts";
import { intervalRecords, summaryRecords } from "../../lib/client/stats_view.ts";
import { ReceiverStats } from "../../lib/rtp/session_stats.ts";
import { mp2tPacket, viewContext } from "./receiver_fixtures.ts";

/** Options of {@link reportingClient}. */
export interface ReportingClientOptions {
  /** The server's base URL. */
  readonly server: string;
  readonly stream: string;
  readonly receiverId: string;
  /** Every `lossEvery`-th packet is not received (1000: no loss in a 500-packet run). */
  readonly lossEvery: number;
  readonly token?: string;
  /** Seconds between reports; default 2. */
  readonly everyS?: number;
}

/** A reporting receiver: {@link second} feeds one second of 100 packets and hands its records on. */
export function reportingClient(options: ReportingClientOptions) {
  const stats = new ReceiverStats();
  const reporter = new Reporter({
    server: `${options.server}/streams/${encodeURIComponent(options.stream)}/offer`,
    receiverId: options.receiverId,
    everyS: options.everyS ?? 2,
    ...(options.token === undefined ? {} : { token: options.token }),
  });
  const context = viewContext();
  let seq = 0;
  return {
    reporter,
    stats,
    /** One second (number `s`) of 100 packets, minus the lost ones; then its records to the reporter. */
    second(s: number): void {
      for (let i = 0; i < 100; i++, seq++) {
        if (seq % options.lossEvery === options.lossEvery - 1) continue;
        stats.onDatagram(mp2tPacket(seq, 77, seq * 900), s * 1000 + i * 10);
      }
      const now = (s + 1) * 1000;
      const time = new Date(Date.UTC(2026, 11, 1, 10, 0, s));
      const ctx = { ...context, elapsedS: s + 1 };
      reporter.add(
        options.stream,
        intervalRecords(stats.takeInterval(now), ctx, time),
        summaryRecords(stats.snapshot(now), ctx, time),
        now,
      );
    },
  };
}
