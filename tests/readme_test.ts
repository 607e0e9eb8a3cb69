// Runs every `deno task ...` command line README.md shows, as written (read from the README, so an
// edited README is tested again), and checks its exit code: the Quick start, the LAN recipe, the
// compile and bench examples. Inside the private network namespace of scripts/netns_test.sh.
import assert from "node:assert/strict";
import { sendRtpStream } from "../lib/source/rtp_source.ts";
import { peerStep } from "./support/peer_requirements.ts";
import { inPrivateNetns } from "../scripts/support/netns.ts";
import { clientRecords, summaries } from "../scripts/support/client_process.ts";

const root = new URL("../", import.meta.url);
const decoder = new TextDecoder();

/** One `deno task NAME ARGS` command line of the README. */
export interface ReadmeCommand {
  readonly text: string;
  readonly task: string;
  /** The arguments after the task name, as written (including a leading `--`). */
  readonly args: readonly string[];
}

/**
 * The `deno task` command lines of a README: lines of fenced code blocks (without a trailing
 * `# comment`) and inline code spans (which may run over a line break), in order, without repeats.
 */
export function readmeCommands(markdown: string): ReadmeCommand[] {
  const found: string[] = [];
  const prose = markdown.replace(
    /^[ \t]*```[^\n]*\n([\s\S]*?)^[ \t]*```[ \t]*$/gm,
    (_, body: string) => {
      for (const line of body.split("\n")) found.push(line.replace(/\s+#.*$/, "").trim());
      return "";
    },
  );
  for (const match of prose.replace(/\n/g, " ").matchAll(/`([^`]+)`/g)) {
    found.push(match[1]!.replace(/\s+/g, " ").trim());
  }
  const commands: ReadmeCommand[] = [];
  for (const text of found) {
    const match = /^deno task ([a-z][\w-]*)((?: \S+)*)$/.exec(text);
    if (match === null || commands.some((c) => c.text === text)) continue;
    if (/['"\\$|;&<>]/.test(text)) {
      throw new Error(`Cannot run a quoted or piped README command: ${text}`);
    }
    commands.push({ text, task: match[1]!, args: match[2]!.trim().split(" ").filter(Boolean) });
  }
  return commands;
}

/** `args` after the `--` separator, adding it when the README command had none. */
function withExtra(command: ReadmeCommand, extra: string[]): string[] {
  const args = [...command.args];
  if (args[0] !== "--") args.unshift("--");
  return [...args, ...extra];
}

async function task(name: string, args: string[], timeoutMs = 120_000) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["task", name, ...args],
    cwd: root,
    stdin: "null",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const stderr = decoder.decode(output.stderr);
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr,
    // What the program said, without deno task's own "Task NAME ..." line.
    messages: stderr.split("\n").filter((l) => l.trim() !== "" && !/^\S*Task\S* /.test(l)),
  };
}

const readme = await Deno.readTextFile(new URL("README.md", root));
const commands = readmeCommands(readme);

Deno.test("readmeCommands() finds the commands in code blocks and inline, without comments", () => {
  const text =
    "Run:\n\n```sh\ndeno task demo   # live\nvlc x\n```\n\nthen `deno task bench -- --only\nserver` or `deno task` alone.\n";
  assert.deepEqual(readmeCommands(text).map((c) => [c.task, c.args]), [
    ["demo", []],
    ["bench", ["--", "--only", "server"]],
  ]);
  // The README's own examples are found (so this test cannot silently run nothing).
  const tasks = new Set(commands.map((c) => c.task));
  for (const name of ["demo", "ci", "server", "client", "compile", "bench"]) {
    assert.ok(tasks.has(name), `the README shows deno task ${name}`);
  }
  assert.ok(commands.some((c) => c.text === "deno task client -- --duration 5 --json"));
});

Deno.test({
  name: "every deno task command line of the README works as written",
  ignore: !inPrivateNetns(),
  async fn(t) {
    const defined = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))).tasks;
    const known = new Set(["ci", "test", "demo", "server", "client", "compile", "bench"]);
    for (const command of commands) {
      assert.ok(command.task in defined, `${command.text}: no such task in deno.json`);
      assert.ok(
        known.has(command.task),
        `${command.text}: this test does not know how to run the ${command.task} task; teach it`,
      );
    }

    await t.step("deno task ci and deno task test are what runs this test", () => {
      assert.match(defined.ci, /deno task test/);
      assert.match(defined.test, /netns_test\.sh/);
    });

    for (const command of commands.filter((c) => c.task === "demo")) {
      await t.step(`${command.text} (with --seconds 2)`, async () => {
        const result = await task("demo", withExtra(command, ["--seconds", "2"]));
        assert.equal(result.code, 0, result.stderr);
        if (command.args.includes("--help")) {
          assert.match(result.stdout, /Usage: deno task demo/);
          return;
        }
        const [summary] = summaries(clientRecords(result.stdout));
        assert.ok((summary?.packets as number) > 100, result.stdout);
        assert.match(result.stderr, /demo: the source generated \d+ packets/);
      });
    }

    // The LAN recipe: the server as written, a test source where VLC would send (239.0.0.1:5004,
    // the server's default stream), and the client commands as written.
    const servers = commands.filter((c) => c.task === "server");
    const clients = commands.filter((c) => c.task === "client");
    assert.ok(servers.length > 0 && clients.length > 0, "the README has the LAN recipe");
    for (const server of servers) {
      await t.step(`${server.text}, then ${clients.map((c) => c.text).join(", ")}`, async () => {
        const process = new Deno.Command(Deno.execPath(), {
          args: ["task", "server", ...server.args],
          cwd: root,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const stderr = new Response(process.stderr).text();
        const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let log = "";
        while (!/Listening on http:\/\/0\.0\.0\.0:8080\//.test(log)) {
          const { done, value } = await reader.read();
          if (done) throw new Error(`the server ended: ${log}${await stderr}`);
          log += value;
        }
        const drained = (async () => {
          while (!(await reader.read()).done) log += "";
        })();
        try {
          for (const client of clients) {
            const limited = client.args.some((a) => a === "--duration" || a === "--packets");
            const durationAt = client.args.indexOf("--duration");
            const seconds = durationAt >= 0 ? Number(client.args[durationAt + 1]) : 3;
            // The source sends a little longer than the client listens (VLC would loop).
            const source = sendRtpStream({
              group: "239.0.0.1",
              port: 5004,
              durationS: seconds + 2,
            });
            const result = await task(
              "client",
              limited ? [...client.args] : withExtra(client, ["--duration", "3"]),
            );
            const truth = await source;
            assert.equal(result.code, 0, `${client.text}: ${result.stderr}`);
            const [summary] = summaries(clientRecords(result.stdout));
            assert.equal(summary?.ssrc, truth.ssrc, result.stdout);
            assert.ok((summary?.packets as number) > 100, result.stdout);
            assert.equal(summary?.lost, 0);
            assert.equal(summary?.discarded, 0);
          }
        } finally {
          process.kill("SIGINT");
          const status = await process.status;
          await drained;
          assert.equal(status.code, 0, `the server stops on SIGINT with 0: ${await stderr}`);
        }
      });
    }

    for (const command of commands.filter((c) => c.task === "compile")) {
      await t.step(`${command.text} (into a temporary directory)`, async () => {
        const out = await Deno.makeTempDir({ prefix: "readme-compile-" });
        try {
          const result = await task("compile", withExtra(command, ["--out", out]));
          if (result.code === 0) {
            assert.ok((await Deno.readTextFile(`${out}/SHA256SUMS`)).includes("sdp-server"));
            return;
          }
          // Where the denort runtime cannot be had: the documented one line and exit 3.
          assert.equal(result.code, 3, result.stderr);
          assert.equal(result.messages.length, 1, result.stderr);
          assert.match(result.messages[0]!, /^compile: .*denort.*DENORT_BIN/);
        } finally {
          await Deno.remove(out, { recursive: true });
        }
      });
    }

    for (const command of commands.filter((c) => c.task === "bench")) {
      await peerStep(t, {
        name: `${command.text} (with --quick --only ttfp)`,
        peers: ["gcc"],
        async fn() {
          const result = await task("bench", withExtra(command, ["--quick", "--only", "ttfp"]));
          assert.equal(result.code, 0, result.stderr);
          if (command.args.includes("--help")) {
            assert.match(result.stdout, /Usage: deno task bench/);
            return;
          }
          const figures = result.stdout.trim().split("\n").map((l) => JSON.parse(l));
          assert.ok(figures.some((f) => f.name === "client.time_to_first_packet"), result.stdout);
        },
      });
    }
  },
});
