import assert from "node:assert/strict";
import { delay } from "../lib/common/delay.ts";
import { readReceiveTarget } from "../lib/sdp/receive_target.ts";
import { freeTcpPort, waitForTcp } from "../scripts/support/endpoints.ts";
import { Child, REPO_ROOT, runDeno } from "../scripts/support/process.ts";
import { SERVER_PERMISSIONS } from "../scripts/support/server_flags.ts";
import { serverDenoArgs, startServer } from "../scripts/support/server_process.ts";

const offerText = Deno.readTextFileSync(new URL("./testdata/offer_vlc_style.sdp", import.meta.url));

function runServer(args: string[], env: Record<string, string> = {}) {
  return runDeno(["run", "--quiet", "--no-prompt", ...SERVER_PERMISSIONS, "server.ts", ...args], {
    env,
  });
}

Deno.test("server --help and --version print and exit 0", async () => {
  const help = await runServer(["--help"]);
  assert.equal(help.code, 0);
  for (
    const flag of [
      "--host",
      "--port",
      "--multicast-address",
      "--multicast-port",
      "--ttl",
      "--payload-type",
      "--encoding",
      "--source",
      "--name",
      "--config",
      "--log-format",
    ]
  ) {
    assert.ok(help.stdout.includes(flag), `--help mentions ${flag}`);
  }
  const version = await runServer(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^sdp-server \d+\.\d+\.\d+ \(deno \d+\.\d+\.\d+\)\n$/);
});

Deno.test("server exits 2 with one clear line on a configuration error", async (t) => {
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ["bad flag", ["--bogus"], {}, /bogus/],
    [
      "unicast group",
      ["--multicast-address", "192.0.2.1"],
      {},
      /--multicast-address: 192\.0\.2\.1 is not a multicast address/,
    ],
    ["bad env", [], { MULTICAST_PORT: "99999" }, /MULTICAST_PORT/],
  ];
  for (const [name, args, env, pattern] of cases) {
    await t.step(name, async () => {
      const result = await runServer(args, env);
      assert.equal(result.code, 2);
      assert.match(result.stderr, pattern);
      assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    });
  }
});

Deno.test("server exits 1 with a clear message when the port is taken", async () => {
  using blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const result = await runServer([
    "--host",
    "127.0.0.1",
    "--port",
    String(blocker.addr.port),
    "--log-format",
    "json",
  ]);
  assert.equal(result.code, 1);
  assert.match(result.stdout, /Cannot listen on 127\.0\.0\.1/);
});

Deno.test("server answers offers over HTTP, logs each request as JSON and stops cleanly on SIGTERM", async () => {
  await using server = await startServer(["--multicast-address", "239.1.1.1", "--ttl", "5"]);
  const response = await fetch(`${server.url}/offer`, {
    method: "POST",
    headers: { "content-type": "application/sdp" },
    body: offerText,
  });
  assert.equal(response.status, 200);
  const target = readReceiveTarget(await response.text());
  assert.deepEqual([target.group, target.ttl, target.port], ["239.1.1.1", 5, 5004]);
  const status = await server.stop("SIGTERM");
  assert.equal(status.code, 0);
  const request = server.logs.find((r) => String(r.message).includes("POST"));
  assert.ok(request, "a request log line");
  const props = request.properties as Record<string, unknown>;
  assert.deepEqual([props.method, props.path, props.status], ["POST", "/offer", 200]);
  assert.equal(typeof props.durationMs, "number");
});

Deno.test("server finishes an in-flight request after SIGINT, then exits 0", async () => {
  await using server = await startServer();
  // Start a request whose body arrives slowly, signal, then finish the body.
  let push!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) });
  const pending = fetch(`${server.url}/offer`, {
    method: "POST",
    headers: { "content-type": "application/sdp" },
    body,
  });
  push.enqueue(new TextEncoder().encode(offerText.slice(0, 20)));
  // Give the request time to reach the handler (the machine may be busy): one that arrives after
  // the signal is answered 503, which is right but not what this test is about.
  await delay(1000);
  server.process.kill("SIGINT");
  await delay(100);
  push.enqueue(new TextEncoder().encode(offerText.slice(20)));
  push.close();
  const response = await pending;
  assert.equal(response.status, 200);
  assert.equal(readReceiveTarget(await response.text()).group, "239.0.0.1");
  // The SIGINT above stops it: wait for the exit rather than signalling again.
  assert.equal((await server.process.status).code, 0);
});

Deno.test("server reloads its config file on SIGHUP and keeps the old catalog on an invalid one", async () => {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  const stream = (port: number) => ({
    name: "a",
    address: "239.0.0.1",
    port,
    formats: [{ payloadType: 33 }],
  });
  const other = { name: "b", address: "239.0.0.2", port: 6000, formats: [{ payloadType: 33 }] };
  await Deno.writeTextFile(path, JSON.stringify({ streams: [stream(5004), other] }));
  try {
    await using server = await startServer(["--config", path]);
    const catalog = async () => (await (await fetch(`${server.url}/streams`)).json()).streams;
    const before = await catalog();
    await Deno.writeTextFile(path, JSON.stringify({ streams: [stream(5010), other] }));
    server.process.kill("SIGHUP");
    const deadline = Date.now() + 5000;
    let after = await catalog();
    while (after[0].port !== 5010 && Date.now() < deadline) {
      await delay(50);
      after = await catalog();
    }
    assert.equal(after[0].port, 5010);
    assert.ok(after[0].version > before[0].version, "the changed stream gets a new o= version");
    assert.equal(after[1].version, before[1].version, "the unchanged stream keeps its o= version");

    await Deno.writeTextFile(
      path,
      JSON.stringify({ streams: [{ ...stream(5012), address: "10.0.0.1" }] }),
    );
    server.process.kill("SIGHUP");
    const rejectDeadline = Date.now() + 5000;
    while (
      !server.logs.some((r) => String(r.message).includes("rejected")) &&
      Date.now() < rejectDeadline
    ) {
      await delay(50);
    }
    assert.ok(server.logs.some((r) => String(r.message).includes("not a multicast address")));
    assert.equal((await catalog())[0].port, 5010);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("server --quiet logs no line per request but still logs start and stop", async () => {
  await using server = await startServer(["--quiet"]);
  const response = await fetch(`${server.url}/healthz`);
  assert.equal(response.status, 200);
  await response.body?.cancel();
  assert.equal((await server.stop()).code, 0);
  assert.ok(server.logs.some((r) => String(r.message).startsWith("Listening")));
  assert.ok(server.logs.some((r) => r.message === "Stopped"));
  assert.ok(!server.logs.some((r) => String(r.message).includes("/healthz")));
});

Deno.test("server exits 2 naming the file when a TLS file cannot be read", async () => {
  const result = await runServer([
    "--cert",
    "/nonexistent/cert.pem",
    "--key",
    "/nonexistent/key.pem",
  ]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /cannot read TLS files: .*\/nonexistent\/cert\.pem/);
});

Deno.test("server writes every batched access line, then 'Stopped', before it exits on SIGTERM (text and JSON)", async (t) => {
  for (const format of ["text", "json"] as const) {
    await t.step(format, async () => {
      const port = freeTcpPort();
      const lines: string[] = [];
      await using child = new Child(
        Deno.execPath(),
        serverDenoArgs(["--host", "127.0.0.1", "--port", String(port), "--log-format", format]),
        { cwd: REPO_ROOT, onStdoutLine: (line) => void lines.push(line) },
      );
      await waitForTcp(port, 15_000);
      // 8 keep-alive clients, 400 offers; SIGTERM the moment the last answer is in, while the last
      // lines are still in the log's buffer (it writes every 20 ms).
      let sent = 0;
      const client = async () => {
        while (sent < 400) {
          sent++;
          const response = await fetch(`http://127.0.0.1:${port}/offer`, {
            method: "POST",
            headers: { "content-type": "application/sdp" },
            body: offerText,
          });
          assert.equal(response.status, 200);
          await response.body?.cancel();
        }
      };
      await Promise.all(Array.from({ length: 8 }, client));
      child.kill("SIGTERM");
      assert.equal((await child.finished(15_000)).code, 0);
      const access = lines.filter((line) =>
        format === "json"
          ? line.includes('"logger":"gateway.http"')
          : line.includes("[INF] gateway·http: POST /offer 200 ")
      );
      assert.equal(access.length, 400, `${format}: one line per offer`);
      const last = lines.filter((line) => line !== "").at(-1) ?? "";
      assert.match(last, /Stopped/, "the last line is the stop, after every access line");
      if (format === "json") {
        for (const line of access) {
          const { properties } = JSON.parse(line);
          assert.deepEqual([properties.method, properties.path, properties.status], [
            "POST",
            "/offer",
            200,
          ]);
        }
      }
    });
  }
});
