// A real terminal for the tests: a tmux server with one window of a given size running a command,
// whose screen is captured as text (with or without its SGR escapes) and that takes keys.
import { runToEnd } from "../../scripts/support/process.ts";

/** The environment tmux starts with: this one without NO_COLOR, which a test sets where it wants it. */
function tmuxEnvironment(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.NO_COLOR;
  return env;
}

async function tmux(socket: string, args: string[]): Promise<string> {
  const output = await runToEnd("tmux", ["-S", socket, ...args], {
    env: tmuxEnvironment(),
    clearEnv: true,
    timeoutMs: 30_000,
  });
  if (!output.success) throw new Error(`tmux ${args.join(" ")} failed: ${output.stderr}`);
  return output.stdout;
}

/** A terminal started by {@link terminal}. */
export interface Terminal extends AsyncDisposable {
  /** The screen as text: `history` adds the scrolled-off lines, `joined` undoes tmux's wrapping. */
  capture(options?: { history?: boolean; joined?: boolean; escapes?: boolean }): Promise<string>;
  /** Types keys (tmux key names: `p`, `C-c`, `C-\\`). */
  sendKeys(...keys: string[]): Promise<void>;
}

/** A tmux server with one window `columns` × `rows` running `command`; killed by `await using`. */
export async function terminal(
  columns: number,
  rows: number,
  command: string,
  env: Record<string, string> = {},
): Promise<Terminal> {
  const dir = await Deno.makeTempDir({ prefix: "gateway-tmux-" });
  const socket = `${dir}/socket`;
  await tmux(socket, [
    ...["-f", "/dev/null", "new-session", "-d", "-x", String(columns), "-y", String(rows)],
    ...Object.entries(env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
    command,
  ]);
  return {
    capture: (options = {}) =>
      tmux(socket, [
        "capture-pane",
        "-p",
        ...(options.joined ? ["-J"] : []),
        ...(options.escapes ? ["-e"] : []),
        ...(options.history ? ["-S", "-"] : []),
      ]),
    async sendKeys(...keys) {
      await tmux(socket, ["send-keys", ...keys]);
    },
    async [Symbol.asyncDispose]() {
      await tmux(socket, ["kill-server"]).catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
}
