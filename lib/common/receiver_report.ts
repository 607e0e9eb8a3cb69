// Receiver reports: what a client POSTs to the server's `/streams/{name}/reports` (its interval JSON
// records and its running totals, in the spirit of RFC 3550 §6.4.2 receiver reports, over HTTP).
// Shared by the client, which sends them, and the server, which validates and keeps them.

/** Limits both sides keep to: the client never sends more, the server refuses more. */
export const REPORT_LIMITS = {
  /** Largest report body in bytes (the server answers 413 beyond it). */
  MAX_BODY_BYTES: 64 * 1024,
  /** Most interval records in one report (`records`). */
  MAX_RECORDS: 120,
  /** Most running-total records in one report (`summary`: one per SSRC). */
  MAX_SUMMARY_RECORDS: 16,
  /** Longest string value, in UTF-16 code units. */
  MAX_STRING_LENGTH: 256,
  /** Most entries of `ts.pids` in one record. */
  MAX_PIDS: 64,
  /** Most entries of `ts.services` in one record. */
  MAX_SERVICES: 32,
} as const;

/** A receiver id: 1-64 of letters, digits and `._~:-` (a UUID fits). */
export const RECEIVER_ID_PATTERN = /^[A-Za-z0-9._~:-]{1,64}$/;

/** Media type of a report body. */
export const REPORT_CONTENT_TYPE = "application/json";

/**
 * The body of `POST /streams/{name}/reports`. `records` are the client's `stats` JSON records since
 * its previous report (oldest first); `summary` its `summary` records so far (cumulative since the
 * client started), one per SSRC.
 */
export interface ReceiverReportBody {
  readonly receiverId: string;
  /** The stream name, as in the path (optional; when given it must match). */
  readonly stream?: string;
  readonly records: readonly Readonly<Record<string, unknown>>[];
  readonly summary?: readonly Readonly<Record<string, unknown>>[];
}

/** Path of the reports of `stream` on the server. */
export function reportsPath(stream: string): string {
  return `/streams/${encodeURIComponent(stream)}/reports`;
}

/** Path of the receivers list of `stream` on the server. */
export function receiversPath(stream: string): string {
  return `/streams/${encodeURIComponent(stream)}/receivers`;
}
