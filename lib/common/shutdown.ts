// SIGINT/SIGTERM as an AbortSignal, for programs that stop cleanly: the listeners are removed again
// when the work ends, so a later signal gets Deno's default behaviour.

/** Runs `work` with a signal that aborts on SIGINT or SIGTERM; removes the listeners afterwards. */
export async function withShutdownSignal<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  try {
    return await work(controller.signal);
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}
