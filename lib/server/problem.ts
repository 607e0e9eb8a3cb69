// The server's error answers: application/problem+json (RFC 9457) with the standard titles, and
// the problems of a request body that could not be read or is too large (each closes the
// connection), shared by the offer and report handlers.
import { ProblemError } from "../common/errors.ts";
import { printable } from "../common/printable.ts";

/** Standard reason phrases (RFC 9110) of the statuses the server answers with a problem. */
const STATUS_TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  429: "Too Many Requests",
  503: "Service Unavailable",
};

/** Most characters of a peer's text echoed in a problem's detail. */
const ECHO_CHARS = 80;

/** Longest request path echoed as a problem's `instance`; a longer one is left out. */
const MAX_INSTANCE_CHARS = 256;

/** Response headers that make the connection close once the response is sent. */
export const CLOSE = { connection: "close" } as const;

/** Throws a ProblemError with the standard title of `status`. */
export function problem(
  status: number,
  detail: string,
  options: { extensions?: Record<string, unknown>; headers?: Record<string, string> } = {},
): never {
  throw new ProblemError(status, STATUS_TITLES[status] ?? "Error", detail, options);
}

/** An `application/problem+json` response (RFC 9457 §3) for a ProblemError. */
export function problemResponse(error: ProblemError, instance: string): Response {
  const body = {
    type: "about:blank",
    title: error.title,
    status: error.status,
    detail: error.message,
    ...(instance.length > MAX_INSTANCE_CHARS ? {} : { instance }),
    ...error.extensions,
  };
  return new Response(JSON.stringify(body), {
    status: error.status,
    headers: { "content-type": "application/problem+json", ...error.headers },
  });
}

/**
 * The problem for a body read that failed, closing the connection so the rest of the body is never
 * read: 408 when it was not complete within `timeoutMs`, 400 when it broke off (the client went
 * away, bad chunk framing). `what` names the body in the detail ("Request body", "Report").
 */
export function bodyReadProblem(error: unknown, timeoutMs: number, what: string): never {
  if ((error as Error)?.name === "TimeoutError") {
    problem(408, `${what} not received within ${timeoutMs / 1000} s`, { headers: CLOSE });
  }
  problem(400, `${what} could not be read: ${printable(String(error), ECHO_CHARS)}`, {
    headers: CLOSE,
  });
}

/** The 413 for a body over `limit` (refused before reading when its declared length is). */
export function bodyTooLarge(
  declaredLength: number | undefined,
  limit: number,
  what: string,
): never {
  problem(
    413,
    declaredLength !== undefined && declaredLength > limit
      ? `${what} of ${declaredLength} bytes is larger than the limit of ${limit} bytes`
      : `${what} is larger than the limit of ${limit} bytes`,
    { headers: CLOSE },
  );
}
