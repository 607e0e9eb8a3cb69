// Client side of offer/answer (RFC 3264): POSTs an offer to the SDP server, retries an unreachable
// or failing server with bounded exponential backoff, and reads where the stream lives from the
// answer; or reads any SDP description from a file or URL.
import { delay } from "../common/delay.ts";
import { NegotiationError, SdpError } from "../common/errors.ts";
import type { PayloadFormat } from "../rtp/payload_format.ts";
import { readLimited } from "../common/read_limited.ts";
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
  /** Per-attempt timeout in ms; default 10 000. */
  readonly attemptTimeoutMs?: number;
  /** The m-line to receive (`--media`); default the first RTP m-line that can be received. */
  readonly media?: MediaChoice;
}

/** Options of {@link negotiate}. */
export interface NegotiateOptions extends FetchOptions {
  /** Formats offered, in preference order. */
  readonly formats: readonly PayloadFormat[];
}

function defaultBackoff(retry: number): number {
  return Math.min(500 * 2 ** (retry - 1), 8000);
}

/** A failure worth retrying (network error, timeout, 5xx). */
class RetryableError extends Error {}

function describeFetchError(error: unknown): string {
  const text = error instanceof Error
    ? `${error.message} ${(error.cause as Error | undefined)?.message ?? ""}`
    : String(error);
  if (/refused/i.test(text)) return "connection refused";
  if (/timed? ?out|TimeoutError/i.test(text)) return "timed out";
  if (/dns|lookup|resolve|not known/i.test(text)) return "host name not found";
  if (/certificate|tls|ssl/i.test(text)) return `TLS error (${text.trim()})`;
  return text.trim().split("\n")[0] ?? "request failed";
}

async function problemDetail(response: Response): Promise<string> {
  const bytes = await readLimited(response.body, 16 * 1024).catch(() => undefined);
  if (bytes === undefined) return response.statusText;
  const text = new TextDecoder().decode(bytes);
  try {
    const problem = JSON.parse(text) as { detail?: unknown; title?: unknown };
    if (typeof problem.detail === "string") return problem.detail;
  } catch {
    // not problem+json: fall through to the text itself
  }
  return text.trim().slice(0, 300) || response.statusText;
}

/**
 * Performs one HTTP exchange with retries; returns the body text of a 2xx response. 4xx ends at once
 * with a NegotiationError carrying the server's problem detail.
 */
async function exchange(
  url: string,
  init: RequestInit,
  options: FetchOptions,
  readBody: (response: Response) => Promise<string>,
): Promise<string> {
  const attempts = options.retries + 1;
  const backoff = options.backoffMs ?? defaultBackoff;
  for (let attempt = 1;; attempt++) {
    try {
      const timeout = AbortSignal.timeout(options.attemptTimeoutMs ?? 10_000);
      const signal = options.signal === undefined
        ? timeout
        : AbortSignal.any([options.signal, timeout]);
      let response: Response;
      try {
        response = await fetch(url, {
          ...init,
          signal,
          ...(options.client === undefined ? {} : { client: options.client }),
        });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        throw new RetryableError(describeFetchError(error), { cause: error });
      }
      if (response.status >= 500) {
        const detail = await problemDetail(response);
        throw new RetryableError(`server answered ${response.status} ${detail}`.trim());
      }
      if (!response.ok) {
        const detail = await problemDetail(response);
        throw new NegotiationError(
          response.status === 406
            ? `The server rejected the offer (406): ${detail}`
            : `The server answered ${response.status} ${response.statusText}: ${detail}`,
        );
      }
      return await readBody(response);
    } catch (error) {
      if (!(error instanceof RetryableError)) throw error;
      if (attempt >= attempts) {
        throw new NegotiationError(
          `Cannot reach the SDP server at ${url} after ${attempts} attempt${
            attempts === 1 ? "" : "s"
          }: ${error.message}`,
          { cause: error },
        );
      }
      const wait = backoff(attempt);
      options.onRetry?.(
        `Attempt ${attempt}/${attempts} to ${url} failed: ${error.message}; retrying in ${
          (wait / 1000).toFixed(1)
        } s`,
      );
      await delay(wait, options.signal);
      options.signal?.throwIfAborted();
    }
  }
}

async function readSdpBody(response: Response, url: string): Promise<string> {
  const bytes = await readLimited(response.body, MAX_SDP_BYTES);
  if (bytes === undefined) {
    throw new NegotiationError(`The answer from ${url} is larger than ${MAX_SDP_BYTES} bytes`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new NegotiationError(`The answer from ${url} is not valid UTF-8`);
  }
  const type = (response.headers.get("content-type") ?? "").split(";", 1)[0]!.trim().toLowerCase();
  if (type === "application/json") {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new NegotiationError(`The answer from ${url} is not valid JSON`);
    }
    const sdp = (json as { sdp?: unknown } | null)?.sdp;
    if (typeof sdp !== "string") {
      throw new NegotiationError(`The JSON answer from ${url} has no "sdp" string`);
    }
    return sdp;
  }
  return text;
}

function toTarget(text: string, origin: string, media: MediaChoice | undefined): ReceiveTarget {
  try {
    return readReceiveTarget(text, media === undefined ? {} : { media });
  } catch (error) {
    if (error instanceof SdpError) {
      throw new NegotiationError(`Unusable SDP from ${origin}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}

function authHeaders(options: FetchOptions): Record<string, string> {
  return options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
}

/** POSTs an offer for `formats` to `url` and returns where to receive the answered stream. */
export async function negotiate(url: string, options: NegotiateOptions): Promise<ReceiveTarget> {
  const offer = buildOffer({
    formats: options.formats,
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
    (response) => readSdpBody(response, url),
  );
  return toTarget(text, url, options.media);
}

/** Reads an SDP description from an http(s) URL (with retries) or a file. */
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
      (response) => readSdpBody(response, location),
    );
    return toTarget(text, location, options.media);
  }
  const path = location.startsWith("file://") ? new URL(location).pathname : location;
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (info.size > MAX_SDP_BYTES) {
      throw new NegotiationError(`SDP file ${path} is larger than ${MAX_SDP_BYTES} bytes`);
    }
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof NegotiationError) throw error;
    throw new NegotiationError(`Cannot read SDP file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new NegotiationError(`SDP file ${path} is not valid UTF-8`);
  }
  return toTarget(text, path, options.media);
}
