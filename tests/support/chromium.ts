// Drives Debian's headless Chromium for tests: the DOM after the page's scripts ran (--dump-dom with
// a virtual time budget, so fetches and timers complete), a screenshot, and the console messages
// (CSP violations among them). Runs as root inside the test namespace (scripts/netns_test.sh).
import { Child } from "../../scripts/support/process.ts";

/** Flags every run gets: headless, as root, no network of its own, a throw-away profile. */
const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--enable-logging=stderr",
  "--v=0",
] as const;

/** What a Chromium run produced. */
export interface ChromiumResult {
  /** Serialised DOM (with `dump`), else "". */
  readonly dom: string;
  /** Console messages the page logged (`CONSOLE(...)` lines of Chromium's log), CSP reports included. */
  readonly console: readonly string[];
  readonly code: number;
}

/** Options of {@link runChromium}. */
export interface ChromiumOptions {
  /** `dump`: --dump-dom; or a PNG path for --screenshot. */
  readonly output: "dump" | { readonly screenshot: string };
  /** Virtual time the page gets to run its scripts and fetches, ms; default 3 000. */
  readonly budgetMs?: number;
  /** Window size for screenshots; default 1200 × 800. */
  readonly width?: number;
  readonly height?: number;
  /** Kill Chromium after this long, ms; default 60 000. */
  readonly timeoutMs?: number;
}

/** Loads `url` in headless Chromium and returns the DOM (or writes a screenshot) and the console. */
export async function runChromium(url: string, options: ChromiumOptions): Promise<ChromiumResult> {
  const profile = await Deno.makeTempDir({ prefix: "chromium-profile-" });
  try {
    const args = [
      ...CHROMIUM_FLAGS,
      `--user-data-dir=${profile}`,
      `--virtual-time-budget=${options.budgetMs ?? 3000}`,
    ];
    if (options.output === "dump") args.push("--dump-dom");
    else {
      args.push(
        `--screenshot=${options.output.screenshot}`,
        `--window-size=${options.width ?? 1200},${options.height ?? 800}`,
        "--hide-scrollbars",
      );
    }
    args.push(url);
    const child = new Child("chromium", args, { env: { HOME: profile } });
    const output = await child.finished(options.timeoutMs ?? 60_000);
    return {
      dom: options.output === "dump" ? output.stdout : "",
      console: output.stderr.split("\n").filter((line) =>
        /CONSOLE|Content Security Policy/.test(line)
      ),
      code: output.code,
    };
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
