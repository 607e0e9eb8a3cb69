// Graceful shutdown for Deno.serve: aborting its signal cuts request bodies still being received, so
// the server first drains — new requests get 503, in-flight ones finish — and only then shuts down.
// The server's handler counts through begin()/end() itself (createHandler's `drain`).

/** Counts in-flight requests and turns new ones away once draining starts. */
export class RequestDrain {
  #active = 0;
  #draining = false;
  #idle: (() => void)[] = [];

  /** Requests currently being handled. */
  get active(): number {
    return this.#active;
  }

  /**
   * Counts a request in, or returns false once draining has started (answer it with
   * {@link refuse} then). Every true must be matched by one {@link end}.
   */
  begin(): boolean {
    if (this.#draining) return false;
    this.#active++;
    return true;
  }

  /** Counts a request out; the last one out of a drain resolves it. */
  end(): void {
    this.#active--;
    if (this.#active === 0 && this.#idle.length > 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  /** The 503 for a request that arrives while draining (its body is not read). */
  async refuse(request: Request): Promise<Response> {
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
