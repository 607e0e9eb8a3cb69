// Runtime-ceiling HTTP server for the server benchmarks: Deno.serve reading the POSTed offer and
// returning one constant SDP answer (RFC 3264 shape, RFC 8866 syntax), with no parsing at all.
// Run: deno run --allow-net scripts/bench/const_server.ts --port 8081   (listens on 127.0.0.1)
//      add --connection-policy to serve the same handler through the server's own accept loop,
//      --read-request to read what any offer handler must before the same constant answer.
import { exitCodeFor, parseFlags, parseIntegerFlag } from "../../lib/common/flags.ts";
import { serveConnections } from "../../lib/server/connection_server.ts";

/** The answer server.ts gives the VLC-style offer for a default stream on 239.0.0.1:5004. */
export const CONSTANT_ANSWER = "v=0\r\n" +
  "o=- 2470140894 1795509069 IN IP4 0.0.0.0\r\n" +
  "s=default\r\n" +
  "c=IN IP4 239.0.0.1/1\r\n" +
  "t=0 0\r\n" +
  "m=video 5004 RTP/AVP 33\r\n" +
  "a=rtpmap:33 MP2T/90000\r\n" +
  "a=sendonly\r\n";

/** The constant handler: reads the body, answers the same SDP. */
async function constantAnswer(request: Request): Promise<Response> {
  await request.text();
  return new Response(CONSTANT_ANSWER, { headers: { "content-type": "application/sdp" } });
}

const decoder = new TextDecoder();

/**
 * The floor of an offer handler in Deno: it reads what any handler answering offers must (method,
 * target, Host, Content-Type, Content-Length, the peer's address, the body as bytes and as text)
 * and answers the same constant SDP, without parsing, routing or logging.
 */
async function readRequestAnswer(request: Request, info: Deno.ServeHandlerInfo): Promise<Response> {
  const facts = [
    request.method,
    request.url,
    request.headers.get("host"),
    request.headers.get("content-type"),
    request.headers.get("content-length"),
    (info.remoteAddr as Deno.NetAddr).hostname,
  ];
  const text = decoder.decode(await request.bytes());
  if (text.length === 0 || facts.includes(null)) {
    return new Response("expected an offer\n", { status: 400 });
  }
  return new Response(CONSTANT_ANSWER, { headers: { "content-type": "application/sdp" } });
}

/** Serves until SIGTERM/SIGINT; returns the exit code (2 on a usage error). */
export async function main(args: string[]): Promise<number> {
  let port;
  let policy;
  let handler: (request: Request, info: Deno.ServeHandlerInfo) => Promise<Response>;
  try {
    const values = parseFlags(args, {
      port: { type: "string", default: "0" },
      "connection-policy": { type: "boolean", default: false },
      "read-request": { type: "boolean", default: false },
    });
    port = parseIntegerFlag(values.port, "--port", 0, 65_535);
    policy = values["connection-policy"];
    handler = values["read-request"] ? readRequestAnswer : constantAnswer;
  } catch (error) {
    return exitCodeFor("const_server", error);
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const onListen = ({ port }: Deno.NetAddr) => console.error(`listening on ${port}`);
    if (policy) {
      // server.ts's defaults: 4096 connections, 30 s idle timeout.
      const server = serveConnections(
        { hostname: "127.0.0.1", port, maxConnections: 4096, idleTimeoutMs: 30_000, onListen },
        handler,
      );
      stop.signal.addEventListener("abort", () => void server.shutdown(), { once: true });
      await server.finished;
    } else {
      const server = Deno.serve(
        { hostname: "127.0.0.1", port, signal: stop.signal, onListen },
        handler,
      );
      await server.finished;
    }
    return 0;
  } finally {
    Deno.removeSignalListener("SIGTERM", onSignal);
    Deno.removeSignalListener("SIGINT", onSignal);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
