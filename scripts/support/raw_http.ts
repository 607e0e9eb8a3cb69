// Raw HTTP/1.1 over TCP (RFC 9112) for hostile-peer tests and fuzzing: what fetch() cannot send
// (malformed Host headers, trickled bodies, one-byte chunks, broken framing, idle connections),
// read back as text. Every wait is bounded; traffic goes to 127.0.0.1 only.

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What came back on a raw connection. */
export interface RawResult {
  /** Status code of the last final response read (0 when none arrived). */
  readonly status: number;
  /** Every byte received, as text. */
  readonly text: string;
  /** The body of the last final response (by Content-Length, else what followed its head). */
  readonly body: string;
  /** The server closed (or reset) the connection before the wait ended. */
  readonly closed: boolean;
  /** Milliseconds from the first write to the end of the wait. */
  readonly ms: number;
}

/** Options of {@link rawExchange}. */
export interface RawOptions {
  /** Longest wait for the response and, with `untilClose`, for the close; default 5000 ms. */
  readonly timeoutMs?: number;
  /** Keep reading after a complete response until the server closes the connection. */
  readonly untilClose?: boolean;
  /** Address to connect to; default 127.0.0.1. */
  readonly hostname?: string;
}

/** The last final (non-1xx) response in `text`: status and body. */
export function lastResponse(text: string): { status: number; body: string; complete: boolean } {
  let status = 0;
  let body = "";
  let complete = false;
  let at = 0;
  while (true) {
    const start = text.indexOf("HTTP/1.", at);
    if (start < 0) break;
    const headEnd = text.indexOf("\r\n\r\n", start);
    if (headEnd < 0) break;
    const head = text.slice(start, headEnd);
    const code = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    const bodyStart = headEnd + 4;
    if (code >= 200) {
      status = code;
      body = length === null
        ? text.slice(bodyStart)
        : text.slice(bodyStart, bodyStart + Number(length[1]));
      complete = length !== null && text.length >= bodyStart + Number(length[1]);
    }
    at = length === null ? bodyStart : bodyStart + Number(length[1]);
  }
  return { status, body, complete };
}

/**
 * Connects to `port`, runs `send` (or writes the given bytes), and reads until a complete final
 * response arrived (or, with `untilClose`, until the server closes), or until the timeout.
 * Connection errors are part of the result (`closed`), never thrown after the connect.
 */
export async function rawExchange(
  port: number,
  send: string | Uint8Array | ((conn: Deno.Conn) => Promise<void>),
  options: RawOptions = {},
): Promise<RawResult> {
  const conn = await Deno.connect({ hostname: options.hostname ?? "127.0.0.1", port });
  const started = performance.now();
  const deadline = started + (options.timeoutMs ?? 5000);
  let text = "";
  let closed = false;
  const reading = (async () => {
    const buffer = new Uint8Array(65_536);
    try {
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) break;
        text += decoder.decode(buffer.subarray(0, n));
        if (!options.untilClose && lastResponse(text).complete) return;
      }
    } catch {
      // reset by the server
    }
    closed = true;
  })();
  const sending = (async () => {
    try {
      if (typeof send === "function") await send(conn);
      else await writeAll(conn, typeof send === "string" ? encoder.encode(send) : send);
    } catch {
      // the server closed first: what it said is in `text`
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - performance.now()));
  });
  await Promise.race([reading, timeout]);
  clearTimeout(timer);
  try {
    conn.close();
  } catch {
    // already closed
  }
  await Promise.allSettled([reading, sending]);
  const { status, body } = lastResponse(text);
  return { status, text, body, closed, ms: performance.now() - started };
}

/** Writes all of `bytes`. */
export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

/** A request head (CRLF line ends, blank line included) with the given headers. */
export function requestHead(
  method: string,
  target: string,
  headers: Record<string, string> = {},
): string {
  const lines = [`${method} ${target} HTTP/1.1`];
  if (!Object.keys(headers).some((h) => h.toLowerCase() === "host")) lines.push("Host: 127.0.0.1");
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  return lines.join("\r\n") + "\r\n\r\n";
}

/** A chunked body of `count` one-byte chunks of `byte`, terminated, sent in writes of `perWrite`. */
export function oneByteChunks(
  count: number,
  options: { byte?: string; perWrite?: number } = {},
): (conn: Deno.Conn) => Promise<void> {
  const per = options.perWrite ?? 100;
  const piece = `1\r\n${options.byte ?? "x"}\r\n`;
  return async (conn) => {
    for (let sent = 0; sent < count; sent += per) {
      await writeAll(conn, encoder.encode(piece.repeat(Math.min(per, count - sent))));
    }
    await writeAll(conn, encoder.encode("0\r\n\r\n"));
  };
}

/** Opens up to `count` TCP connections that send nothing; returns those that connected. */
export async function openIdle(
  port: number,
  count: number,
  hostname = "127.0.0.1",
): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < count; i++) {
    try {
      conns.push(await Deno.connect({ hostname, port }));
    } catch {
      // refused (backlog full): count what connected
    }
  }
  return conns;
}

/** Closes every connection, ignoring those already closed. */
export function closeAll(conns: Iterable<Deno.Conn>): void {
  for (const conn of conns) {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

/** True when the server closed `conn` (EOF or reset) within `timeoutMs`. */
export async function closedBy(conn: Deno.Conn, timeoutMs: number): Promise<boolean> {
  const buffer = new Uint8Array(4096);
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wait = new Promise<"wait">((resolve) => {
      timer = setTimeout(() => resolve("wait"), Math.max(1, deadline - performance.now()));
    });
    try {
      const n = await Promise.race([conn.read(buffer), wait]);
      if (n === null) return true;
      if (n === "wait") return false;
    } catch {
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
  return false;
}

/** Resident set size of process `pid` in MB (VmRSS of /proc/PID/status). */
export function rssMbOf(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

/** A TCP server on 127.0.0.1 that answers each connection with a script: a hostile HTTP server. */
export interface RawServer extends AsyncDisposable {
  readonly port: number;
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

/**
 * Listens on an ephemeral port; for each connection reads the request head (up to 64 KiB) and runs
 * `respond(conn)`, then closes the connection. Errors of a connection stay with it.
 */
export function serveRaw(respond: (conn: Deno.Conn) => Promise<void>): RawServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  let accepted = 0;
  const loop = (async () => {
    for await (const conn of listener) {
      accepted++;
      open.add(conn);
      const task = (async () => {
        try {
          const buffer = new Uint8Array(65_536);
          let head = "";
          while (!head.includes("\r\n\r\n")) {
            const n = await conn.read(buffer);
            if (n === null) return;
            head += decoder.decode(buffer.subarray(0, n));
          }
          await respond(conn);
        } catch {
          // the client went away
        } finally {
          open.delete(conn);
          try {
            conn.close();
          } catch {
            // already closed
          }
        }
      })();
      tasks.add(task);
      task.finally(() => tasks.delete(task));
    }
  })().catch(() => {});
  const port = listener.addr.port;
  const close = async () => {
    try {
      listener.close();
    } catch {
      // already closed
    }
    closeAll(open);
    await loop;
    await Promise.allSettled([...tasks]);
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    get accepted() {
      return accepted;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Writes `text` to `conn` (a response head and body). */
export function writeText(conn: Deno.Conn, text: string): Promise<void> {
  return writeAll(conn, encoder.encode(text));
}
