// The server's descriptor budget (RLIMIT_NOFILE, getrlimit(2)) and the default connection cap
// derived from it: every TCP connection costs the server one descriptor.

/** Defaults of the connection cap. */
export const CONNECTION_DEFAULTS = {
  /** Open-file limit assumed when it cannot be found out (the usual soft default). */
  ASSUMED_OPEN_FILES: 1024,
  /** Share of the descriptors that connections may use; the rest stays for the runtime. */
  SHARE: 0.5,
  /** Highest default cap, whatever the limit. */
  MAX: 4096,
  /** Lowest default cap. */
  MIN: 16,
} as const;

/** The soft "Max open files" limit in a /proc/PID/limits text, or undefined when absent or unlimited. */
export function parseOpenFileLimit(text: string): number | undefined {
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (match === null || match[1] === "unlimited") return undefined;
  return Number(match[1]);
}

/**
 * This process's soft open-file limit from /proc/self/limits, or undefined when it cannot be read:
 * not Linux, or (Deno 2.9) any permission set short of --allow-all, which /proc/self requires.
 */
export function readOpenFileLimit(): number | undefined {
  try {
    return parseOpenFileLimit(Deno.readTextFileSync("/proc/self/limits"));
  } catch {
    return undefined;
  }
}

/**
 * How many more descriptors this process can open, counted by opening /dev/null until the kernel
 * says EMFILE or `max` are open (then all are closed again); undefined when /dev/null cannot be
 * opened at all. Synchronous, for start-up only: nothing else runs while the descriptors are taken.
 */
export function probeFreeDescriptors(max: number): number | undefined {
  const files: Deno.FsFile[] = [];
  try {
    while (files.length < max) files.push(Deno.openSync("/dev/null", { read: true }));
  } catch {
    if (files.length === 0) return undefined;
  } finally {
    for (const file of files) file.close();
  }
  return files.length;
}

/**
 * Default `--max-connections`: half the descriptors (the other half stays for the runtime, files
 * and refused connections), between 16 and 4096. Half the open-file limit when /proc/self/limits
 * is readable, else half of the descriptors found free by {@link probeFreeDescriptors}, else 512.
 * Found out once per process (a config reload must not probe again under load).
 */
export function defaultMaxConnections(): number {
  cachedDefault ??= maxConnectionsFor(
    readOpenFileLimit() ?? probeFreeDescriptors(2 * CONNECTION_DEFAULTS.MAX) ??
      CONNECTION_DEFAULTS.ASSUMED_OPEN_FILES,
  );
  return cachedDefault;
}

let cachedDefault: number | undefined;

/** The default cap for `descriptors` available to the process. */
export function maxConnectionsFor(descriptors: number): number {
  const share = Math.floor(descriptors * CONNECTION_DEFAULTS.SHARE);
  return Math.max(CONNECTION_DEFAULTS.MIN, Math.min(CONNECTION_DEFAULTS.MAX, share));
}
