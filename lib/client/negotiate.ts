// Client side of offer/answer (RFC 3264): POSTs an offer to the SDP server, retries an unreachable
// or failing server with bounded exponential backoff, and reads where the stream lives from the
// answer; or reads any SDP description from a file or URL. Every failure is one NegotiationError.
import { delay } from "../common/delay.ts";
import { FileReadError, NegotiationError, SdpError } from "../common/errors.ts";
import type { PayloadFormat } from "../rtp/payload_format.ts";
import { readLimited } from "../common/read_limited.ts";
import { readFileLimited } from "../common/read_file_limited.ts";
import { printable } from "../common/printable.ts";
import { buildOffer } from "../sdp/offer.ts";
import { MAX_SDP_BYTES } from "../sdp/parse.ts";
import { type MediaChoice, readReceiveTarget, type ReceiveTarget } from "../sdp/receive_target.ts";

/** Group and port suggested in the offer's `c=` and m-line (the server decides). */
export const OFFER_DEFAULT_GROUP = { group: "239.0.0.1", port: 5004 } as const;

/** Options shared by {@link negotiate} and {@link loadDescription}. */
export interface FetchOptions {
  /** Retries after the first attempt when the server is unreachable or answers 5xx. */
  readonly retries: number;
  /** Bearer token sent in `Authorization`. */
  readonly token?: string;
  /** HTTP client (e.g. one trusting an extra CA). */
  readonly client?: Deno.HttpClient;
  /** Aborts the whole exchange, including backoff waits. */
  readonly signal?: AbortSignal;
  /** Called with one line per failed attempt. */
  readonly onRetry?: (message: string) => void;
  /** Delay before retry `n` (1-based), in ms; default 500 ms doubling up to 8 s. */
  readonly backoffMs?: (retry: number) => number;
  /** Time for one whole attempt (connect, headers and body) in ms; default 10 000. */
  readonly attemptTimeoutMs?: number;
  /** The m-line to receive (`--media`); default the first RTP m-line that can be received. */
  readonly media?: MediaChoice;
  /** Accept an answer naming a control group (224.0.0.0/24, ff02::1-style); refused by default. */
  readonly allowControlGroups?: boolean;
}

/** Default time for one attempt, in ms (the client's --negotiation-timeout default). */
const DEFAULT_ATTEMPT_MS = 10_000;
/** Most bytes of an error body read for its detail. */
const ERROR_BODY_BYTES = 16 * 1024;

/** Options of {@link negotiate}. */
export interface NegotiateOptions extends FetchOptions {
  /** Formats offered, in preference order. */
  readonly formats: readonly PayloadFormat[];
}

function defaultBackoff(retry: number): number {
  return Math.min(500 * 2 ** (retry - 1), 8000);
}

/** A failure worth retrying (network error, timeout, a body that broke off, 5xx). */
class RetryableError extends Error {}

function describeFetchError(error: unknown): string {
  const text = error instanceof Error
    ? `${error.message} ${(error.cause as Error | undefined)?.message ?? ""}`
    : String(error);
  if (/refused/i.test(text)) return "connection refused";
  if (/timed? ?out|TimeoutError/i.test(text)) return "timed out";
  if (/dns|lookup|resolve|not known/i.test(text)) return "host name not found";
  if (/certificate|tls|ssl/i.test(text)) return `TLS error (${printable(text.trim(), 200)})`;
  return printable(text.trim().split("\n")[0] ?? "", 200) || "request failed";
}

/** The detail of an error response: its problem+json `detail`, else its text; always printable. */
async function problemDetail(response: Response, signal: AbortSignal): Promise<string> {
  const bytes = await readLimited(response.body, ERROR_BODY_BYTES, { signal }).catch(() =>
    undefined
  );
  const status = printable(response.statusText);
  if (bytes === undefined) return status;
  const text = new TextDecoder().decode(bytes);
  try {
    const problem = JSON.parse(text) as { detail?: unknown; title?: unknown };
    if (typeof problem?.detail === "string") return printable(problem.detail);
  } catch {
    // not problem+json: fall through to the text itself
  }
  return printable(text.trim()) || status;
}

/** Thrown by a body reader when the answer is wrong in a way a retry cannot mend. */
function unusable(message: string): never {
  throw new NegotiationError(message);
}

/**
 * Performs one HTTP exchange with retries; returns the body text of a 2xx response. Each attempt
 * (connect, headers, body) has `attemptTimeoutMs` in all. Network errors, timeouts, 5xx and bodies
 * that break off (short, bad chunking, undecodable) are retried; 4xx and unusable answers end at
 * once. Every failure is a NegotiationError with one printable line; only an abort of
 * `options.signal` rejects with something else (its reason).
 */
export async function exchange(
  url: string,
  init: RequestInit,
  options: FetchOptions,
  readBody: (response: Response, signal: AbortSignal) => Promise<string>,
): Promise<string> {
  const attempts = options.retries + 1;
  const backoff = options.backoffMs ?? defaultBackoff;
  const timeoutMs = options.attemptTimeoutMs ?? DEFAULT_ATTEMPT_MS;
  for (let attempt = 1;; attempt++) {
    // One timer per attempt for the whole exchange: fetch's signal also aborts the body stream.
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new DOMException("Negotiation timeout", "TimeoutError")),
      timeoutMs,
    );
    const signal = options.signal === undefined
      ? deadline.signal
      : AbortSignal.any([options.signal, deadline.signal]);
    try {
      let response: Response;
      try {
        response = await fetch(url, {
          ...init,
          signal,
          ...(options.client === undefined ? {} : { client: options.client }),
        });
      } catch (error) {
        throw new RetryableError(describeFetchError(error), { cause: error });
      }
      if (response.status >= 500) {
        const detail = await problemDetail(response, signal);
        throw new RetryableError(`server answered ${response.status} ${detail}`.trim());
      }
      if (!response.ok) {
        const detail = await problemDetail(response, signal);
        throw new NegotiationError(
          response.status === 406
            ? `The server rejected the offer (406): ${detail}`
            : `The server answered ${response.status} ${printable(response.statusText)}: ${detail}`,
        );
      }
      try {
        return await readBody(response, signal);
      } catch (error) {
        if (error instanceof NegotiationError) throw error;
        throw new RetryableError(
          `the answer broke off: ${
            deadline.signal.aborted ? "timed out" : describeFetchError(error)
          }`,
          { cause: error },
        );
      }
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      if (error instanceof NegotiationError) throw error;
      const reason = deadline.signal.aborted
        ? `no complete answer within ${timeoutMs / 1000} s`
        : error instanceof RetryableError
        ? error.message
        : describeFetchError(error);
      if (attempt >= attempts) {
        throw new NegotiationError(
          `Cannot reach the SDP server at ${url} after ${attempts} attempt${
            attempts === 1 ? "" : "s"
          }: ${reason}`,
          { cause: error },
        );
      }
      const wait = backoff(attempt);
      options.onRetry?.(
        `Attempt ${attempt}/${attempts} to ${url} failed: ${reason}; retrying in ${
          (wait / 1000).toFixed(1)
        } s`,
      );
      clearTimeout(timer);
      await delay(wait, options.signal);
      options.signal?.throwIfAborted();
    } finally {
      clearTimeout(timer);
    }
  }
}

async function readSdpBody(response: Response, url: string, signal: AbortSignal): Promise<string> {
  const bytes = await readLimited(response.body, MAX_SDP_BYTES, { signal });
  if (bytes === undefined) unusable(`The answer from ${url} is larger than ${MAX_SDP_BYTES} bytes`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    unusable(`The answer from ${url} is not valid UTF-8`);
  }
  const type = (response.headers.get("content-type") ?? "").split(";", 1)[0]!.trim().toLowerCase();
  if (type === "application/json") {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      unusable(`The answer from ${url} is not valid JSON`);
    }
    const sdp = (json as { sdp?: unknown } | null)?.sdp;
    if (typeof sdp !== "string") unusable(`The JSON answer from ${url} has no "sdp" string`);
    return sdp;
  }
  return text;
}

function toTarget(text: string, origin: string, options: FetchOptions): ReceiveTarget {
  try {
    return readReceiveTarget(text, {
      allowControlGroups: options.allowControlGroups ?? false,
      ...(options.media === undefined ? {} : { media: options.media }),
    });
  } catch (error) {
    if (error instanceof SdpError) {
      throw new NegotiationError(`Unusable SDP from ${origin}: ${printable(error.message)}`, {
        cause: error,
      });
    }
    throw error;
  }
}

/** The `Authorization` header for the options' bearer token, if any. */
export function authHeaders(options: Pick<FetchOptions, "token">): Record<string, string> {
  return options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
}

/**
 * POSTs an offer for `formats` to `url` and returns where to receive the answered stream. When
 * MPEG-TS (MP2T) is among the formats, the offer also has a `udp mpeg` m-line for raw MPEG-TS over
 * UDP (RFC 3264 allows several m-lines): the server accepts the RTP/AVP one for an RTP stream and
 * the udp one for a raw-UDP stream, and the accepted one (the m-line without port 0) is received.
 */
export async function negotiate(url: string, options: NegotiateOptions): Promise<ReceiveTarget> {
  const offer = buildOffer({
    formats: options.formats,
    rawUdp: options.formats.some((f) => f.encoding.toUpperCase() === "MP2T"),
    ...OFFER_DEFAULT_GROUP,
    ...(options.media?.kind === "type" ? { mediaType: options.media.type } : {}),
  });
  const text = await exchange(
    url,
    {
      method: "POST",
      headers: {
        "content-type": "application/sdp",
        accept: "application/sdp",
        ...authHeaders(options),
      },
      body: offer,
    },
    options,
    (response, signal) => readSdpBody(response, url, signal),
  );
  return toTarget(text, url, options);
}

/**
 * Reads an SDP description from an http(s) URL (with retries) or a file. A file must be a regular
 * file of at most MAX_SDP_BYTES (a FIFO, a device or a directory is refused before it is opened)
 * and every wait ends when `options.signal` aborts.
 */
export async function loadDescription(
  location: string,
  options: FetchOptions,
): Promise<ReceiveTarget> {
  if (/^https?:\/\//i.test(location)) {
    const text = await exchange(
      location,
      {
        headers: { accept: "application/sdp", ...authHeaders(options) },
      },
      options,
      (response, signal) => readSdpBody(response, location, signal),
    );
    return toTarget(text, location, options);
  }
  let path = location;
  if (location.startsWith("file://")) {
    try {
      path = decodeURIComponent(new URL(location).pathname);
    } catch {
      throw new NegotiationError(`Cannot read SDP file ${location}: not a file URL`);
    }
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFileLimited(path, {
      limit: MAX_SDP_BYTES,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const reason = error instanceof FileReadError ? error.reason : (error as Error).message;
    throw new NegotiationError(`Cannot read SDP file ${path}: ${reason}`, { cause: error });
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new NegotiationError(`SDP file ${path} is not valid UTF-8`);
  }
  return toTarget(text, path, options);
}
