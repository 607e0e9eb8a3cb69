// A promise that gives up when an AbortSignal aborts: for waits (opening a FIFO, a file read, a SAP
// announcement) that must end on SIGINT/SIGTERM even though the operation itself cannot be stopped.

/**
 * `promise`, or the signal's reason as soon as it aborts (at once when it already has); the
 * operation itself is left behind, and the abort listener is removed when `promise` settles.
 */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}
