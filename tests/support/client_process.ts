// Runs client.ts as a real subprocess under its permission set, collecting JSON lines from stdout
// and log text from stderr, with a way to wait for a log line.

/** A running client subprocess. */
export interface ClientProcess {
  readonly process: Deno.ChildProcess;
  /** Resolves when stderr has matched `pattern` (rejects after `timeoutMs`). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** Waits for the exit; returns code, JSON records and stderr text. */
  finished(): Promise<ClientResult>;
}

/** What a client run produced. */
export interface ClientResult {
  readonly code: number;
  readonly records: Record<string, unknown>[];
  readonly stdout: string;
  readonly stderr: string;
}

const root = new URL("../../", import.meta.url);

/** Spawns `deno run -P=client client.ts ARGS` (env cleared but for `env`). */
export function spawnClient(args: string[], env: Record<string, string> = {}): ClientProcess {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "-P=client", "client.ts", ...args],
    cwd: root,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const stderrDone = (async () => {
    for await (const chunk of process.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
  })();
  const stdout = new Response(process.stdout).text();
  return {
    process,
    async waitForLog(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(stderr)) {
        if (Date.now() > deadline) {
          throw new Error(`client never logged ${pattern}; stderr:\n${stderr}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async finished() {
      const status = await process.status;
      await stderrDone;
      const text = await stdout;
      // Every run doubles as a check that nothing escaped: Deno reports an unhandled promise
      // rejection or exception as "Uncaught" and a Rust panic as "panicked".
      if (/Uncaught|panicked at/.test(stderr)) throw new Error(`client crashed:\n${stderr}`);
      const records = text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
      return { code: status.code, records, stdout: text, stderr };
    },
  };
}

/** Runs the client to completion. */
export function runClient(args: string[], env: Record<string, string> = {}): Promise<ClientResult> {
  return spawnClient(args, env).finished();
}
