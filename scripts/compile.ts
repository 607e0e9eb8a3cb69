// Builds the standalone executables `sdp-server` and `rtp-multicast-client` with `deno compile`.
// Run: deno task compile [-- --target x86_64-unknown-linux-gnu|all] [--out dist] [--offline]
// deno compile needs the `denort` runtime: set DENORT_BIN to a denort binary, or have it in Deno's
// cache, or be online. Without it this script says so in one line and exits 3.
import { SERVER_PERMISSION_SET, SERVER_V8_FLAGS } from "./support/server_flags.ts";
import { exitCodeFor, parseFlags } from "../lib/common/flags.ts";

/** Targets `deno compile --target` accepts that we release for. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** The two programs: entrypoint and the permission set of deno.json they run with. */
export const PROGRAMS = [
  {
    name: "sdp-server",
    entry: "server.ts",
    permissionSet: SERVER_PERMISSION_SET,
    v8Flags: SERVER_V8_FLAGS,
  },
  { name: "rtp-multicast-client", entry: "client.ts", permissionSet: "client", v8Flags: "" },
] as const;

/** Exit codes of this script. */
export const COMPILE_EXIT = { OK: 0, FAILED: 1, USAGE: 2, NO_RUNTIME: 3 } as const;

const USAGE = `compile: builds sdp-server and rtp-multicast-client with deno compile.

Usage: deno task compile [-- options]
  --target T   Build for T (repeatable): ${TARGETS.join(", ")}, or "all".
               Default: the host; files are then named NAME, else NAME-TARGET[.exe].
  --out DIR    Output directory (default dist)
  --offline    Fail at once when the denort runtime is neither in DENORT_BIN nor cached
  -h, --help   Show this help

The runtime: DENORT_BIN=/path/to/denort (one target only), or a cached
$DENO_DIR/dl/release/v${Deno.version.deno}/denort-TARGET.zip, or network access to Deno's download site.
Exit codes: 0 built, 1 build failed, 2 usage, 3 denort runtime unavailable.
`;

function hostTarget(): string {
  const os = Deno.build.os === "darwin"
    ? "apple-darwin"
    : Deno.build.os === "windows"
    ? "pc-windows-msvc"
    : "unknown-linux-gnu";
  return `${Deno.build.arch}-${os}`;
}

async function denoDir(): Promise<string> {
  const fromEnv = Deno.env.get("DENO_DIR");
  if (fromEnv) return fromEnv;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return (JSON.parse(new TextDecoder().decode(output.stdout)) as { denoDir: string }).denoDir;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fail(code: number, message: string): number {
  console.error(`compile: ${message}`);
  return code;
}

/** Builds the executables; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  let values;
  try {
    values = parseFlags(args, {
      target: { type: "string", multiple: true },
      out: { type: "string", default: "dist" },
      offline: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    });
  } catch (error) {
    return exitCodeFor("compile", error);
  }
  if (values.help) {
    console.log(USAGE);
    return COMPILE_EXIT.OK;
  }
  const requested = values.target ?? [];
  const named = requested.length > 0;
  const targets = requested.includes("all") ? [...TARGETS] : named ? requested : [hostTarget()];
  for (const target of targets) {
    if (!(TARGETS as readonly string[]).includes(target)) {
      return fail(
        COMPILE_EXIT.USAGE,
        `unknown target "${target}" (expected ${TARGETS.join(", ")} or all)`,
      );
    }
  }

  // Up front: where does each target's denort runtime come from?
  const denort = Deno.env.get("DENORT_BIN");
  if (denort !== undefined && denort !== "") {
    if (!isFile(denort)) {
      return fail(
        COMPILE_EXIT.NO_RUNTIME,
        `DENORT_BIN=${denort} is not a file: point it at a denort binary for ${targets[0]}`,
      );
    }
    if (targets.length > 1) {
      return fail(COMPILE_EXIT.USAGE, "DENORT_BIN serves one target: build one --target at a time");
    }
  } else {
    const dir = await denoDir();
    const missing = targets.filter((t) =>
      !isFile(`${dir}/dl/release/v${Deno.version.deno}/denort-${t}.zip`)
    );
    if (missing.length > 0 && values.offline) {
      return fail(
        COMPILE_EXIT.NO_RUNTIME,
        `the denort runtime for ${
          missing.join(", ")
        } is not cached and --offline forbids the download: ` +
          `set DENORT_BIN=/path/to/denort or go online`,
      );
    }
  }

  const check = await new Deno.Command(Deno.execPath(), {
    args: ["check", "--quiet", ...PROGRAMS.map((p) => p.entry)],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!check.success) return fail(COMPILE_EXIT.FAILED, "type check failed; nothing was built");

  await Deno.mkdir(values.out, { recursive: true });
  const built: string[] = [];
  for (const target of targets) {
    for (const program of PROGRAMS) {
      const suffix = target.includes("windows") ? ".exe" : "";
      const file = `${values.out}/${program.name}${named ? `-${target}` : ""}${suffix}`;
      const output = await new Deno.Command(Deno.execPath(), {
        args: [
          "compile",
          "--quiet",
          "--no-check", // checked above
          `-P=${program.permissionSet}`,
          ...(program.v8Flags === "" ? [] : [`--v8-flags=${program.v8Flags}`]),
          "--target",
          target,
          "--output",
          file,
          program.entry,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (!output.success) {
        // deno-lint-ignore no-control-regex -- strips ANSI colour codes from Deno's message
        const text = new TextDecoder().decode(output.stderr).replace(/\x1b\[[0-9;]*m/g, "");
        if (/denort|dl\.deno\.land|Setting up base binary/i.test(text)) {
          const cause = /failed to lookup|dns|Connect|sending request/i.test(text)
            ? "the download from Deno's site failed (no network)"
            : (text.split("\n").find((l) => /denort/i.test(l))?.trim() ?? "it could not be loaded");
          return fail(
            COMPILE_EXIT.NO_RUNTIME,
            `cannot get the denort runtime for ${target}: ${cause}; set DENORT_BIN=/path/to/denort or go online`,
          );
        }
        console.error(text.trim().split("\n").slice(0, 20).join("\n"));
        return fail(COMPILE_EXIT.FAILED, `deno compile failed for ${program.name} (${target})`);
      }
      built.push(file);
      console.error(`built ${file}`);
    }
  }
  const sums = await Promise.all(
    built.map(async (f) => `${await sha256(f)}  ${f.split("/").pop()}\n`),
  );
  await Deno.writeTextFile(`${values.out}/SHA256SUMS`, sums.join(""));
  console.error(`wrote ${values.out}/SHA256SUMS`);
  return COMPILE_EXIT.OK;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
