// Named errors shared by the server, the client and the test source.
// Each carries what a caller needs to decide an exit code or an HTTP status (RFC 9457 problem details).

/** A datagram that is not a valid RTP packet (RFC 3550 §5.1); `offset` is where parsing stopped. */
export class RtpParseError extends RangeError {
  override name = "RtpParseError";
  /** Byte offset in the datagram at which the problem was found. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

/** Text that is not a usable SDP description (RFC 8866); `line` is 1-based when known. */
export class SdpError extends SyntaxError {
  override name = "SdpError";
  /** 1-based line number of the offending line, or 0 when the problem is not tied to one line. */
  readonly line: number;
  constructor(message: string, options: { line?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.line = options.line ?? 0;
  }
}

/** Invalid configuration (flag, environment variable or config file): programs exit with code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** The flag, variable or JSON path that holds the bad value, e.g. `streams[1].port`. */
  readonly field: string;
  constructor(field: string, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.field = field;
  }
}

/** An HTTP error that becomes an `application/problem+json` response (RFC 9457). */
export class ProblemError extends Error {
  override name = "ProblemError";
  /** HTTP status code, 4xx. */
  readonly status: number;
  /** Short, human-readable summary of the problem type. */
  readonly title: string;
  /** Extension members added to the problem object. */
  readonly extensions: Readonly<Record<string, unknown>>;
  /** Extra response headers, e.g. `Allow` for 405. */
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    status: number,
    title: string,
    detail: string,
    options: { extensions?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.status = status;
    this.title = title;
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }
}

/** Negotiation with the SDP server failed or its answer was unusable: the client exits with code 3. */
export class NegotiationError extends Error {
  override name = "NegotiationError";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}

/** Joining or receiving from a multicast group failed (bad group, interface or port). */
export class MulticastError extends Error {
  override name = "MulticastError";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
  }
}

/** A file could not be read within its limits (missing, not a regular file, too large). */
export class FileReadError extends Error {
  override name = "FileReadError";
  /** The path as given. */
  readonly path: string;
  /** Why, without the path: `a FIFO`, `larger than 1048576 bytes`, `No such file...`. */
  readonly reason: string;
  constructor(path: string, reason: string, options: { cause?: unknown } = {}) {
    super(`Cannot read ${path}: ${reason}`, { cause: options.cause });
    this.path = path;
    this.reason = reason;
  }
}
