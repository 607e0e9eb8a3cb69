// Graceful shutdown for Deno.serve: aborting its signal cuts request bodies still being received, so
// the server first drains — new requests get 503, in-flight ones finish — and only then shuts down.
import type { Handler } from "./http_app.ts";

/** Counts in-flight requests and turns new ones away once draining starts. */
export class RequestDrain {
  #active = 0;
  #draining = false;
  #idle: (() => void)[] = [];

  /** Requests currently being handled. */
  get active(): number {
    return this.#active;
  }

  /** Wraps a handler so that its requests are counted and refused with 503 while draining. */
  wrap(handler: Handler): Handler {
    return async (request, info) => {
      if (this.#draining) {
        await request.body?.cancel().catch(() => {});
        return new Response("Service Unavailable: shutting down\n", {
          status: 503,
          headers: {
            "content-type": "text/plain; charset=utf-8",
            connection: "close",
            "retry-after": "1",
          },
        });
      }
      this.#active++;
      try {
        return await handler(request, info);
      } finally {
        this.#active--;
        if (this.#active === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
      }
    };
  }

  /** Starts draining; resolves true when no request is in flight, false if `timeoutMs` passes first. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.#draining = true;
    if (this.#active === 0) return true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idle = new Promise<boolean>((resolve) => this.#idle.push(() => resolve(true)));
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([idle, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
