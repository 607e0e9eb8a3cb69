import assert from "node:assert/strict";
import { MAX_MEDIA_SECTIONS } from "../../lib/sdp/parse.ts";
import { type ClientConfig, parseClientArgs, parseMediaChoice } from "../../lib/client/config.ts";
import { offerUrl } from "../../lib/client/stream_locator.ts";
import { ConfigError } from "../../lib/common/errors.ts";

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

function run(args: string[], env: Record<string, string> = {}): ClientConfig {
  const command = parseClientArgs(args, envOf(env));
  assert.equal(command.kind, "run");
  return (command as { config: ClientConfig }).config;
}

Deno.test("parseClientArgs() defaults to the original server URL and offers MP2T and H.264", () => {
  const config = run([]);
  assert.deepEqual(config.locator, { kind: "offer", url: "http://127.0.0.1:8080/offer" });
  assert.deepEqual(config.offerFormats.map((f) => f.payloadType), [33, 96]);
  assert.deepEqual([config.retries, config.timeoutS, config.stallAfterS, config.json], [
    5,
    10,
    2,
    false,
  ]);
});

Deno.test("parseClientArgs() builds offer URLs from --server, GATEWAY_HTTP_URL and --stream", async (t) => {
  const cases: [string[], Record<string, string>, string][] = [
    [["--server", "http://h:9000"], {}, "http://h:9000/offer"],
    [["--server", "http://h:9000/offer"], {}, "http://h:9000/offer"],
    [["--server", "http://h:9000/", "--stream", "hd"], {}, "http://h:9000/streams/hd/offer"],
    [["--server", "https://h/gw/offer", "--stream", "a.b"], {}, "https://h/gw/streams/a.b/offer"],
    [[], { GATEWAY_HTTP_URL: "http://env:8081/offer" }, "http://env:8081/offer"],
    [["--server", "http://flag"], { GATEWAY_HTTP_URL: "http://env" }, "http://flag/offer"],
  ];
  for (const [args, env, url] of cases) {
    await t.step(`${args.join(" ")} ${JSON.stringify(env)}`, () => {
      assert.deepEqual(run(args, env).locator, { kind: "offer", url });
    });
  }
  assert.equal(offerUrl("http://h/streams/x/offer", undefined, "f"), "http://h/offer");
});

Deno.test("parseClientArgs() adds a format given with --payload-type and --encoding first", () => {
  const config = run(["--payload-type", "97", "--encoding", "H265/90000"]);
  assert.deepEqual(config.offerFormats[0], { payloadType: 97, encoding: "H265", clockRate: 90000 });
  assert.equal(config.offerFormats.length, 3);
  const replaced = run(["--payload-type", "96", "--encoding", "VP8/90000"]);
  assert.deepEqual(replaced.offerFormats.map((f) => `${f.payloadType}:${f.encoding}`), [
    "96:VP8",
    "33:MP2T",
  ]);
});

Deno.test("parseClientArgs() reads limits, source, interface, token and --sdp", () => {
  const config = run([
    "--sdp",
    "stream.sdp",
    "--duration",
    "2.5",
    "--packets",
    "100",
    "--timeout",
    "3",
    "--stall-after",
    "0.5",
    "--source",
    "192.0.2.1",
    "--interface",
    "127.0.0.1",
    "--json",
  ], { GATEWAY_TOKEN: "s3cret" });
  assert.deepEqual(config.locator, { kind: "sdp", location: "stream.sdp" });
  assert.deepEqual(
    [
      config.durationS,
      config.packets,
      config.timeoutS,
      config.stallAfterS,
      config.sources,
      config.interface,
      config.json,
      config.token,
    ],
    [2.5, 100, 3, 0.5, ["192.0.2.1"], "127.0.0.1", true, "s3cret"],
  );
});

Deno.test("parseClientArgs() rejects bad usage naming the flag", async (t) => {
  const cases: [string[], string, RegExp][] = [
    [["--bogus"], "args", /bogus/],
    [["--server", "not a url"], "--server", /not a URL/],
    [["--server", "ftp://h/"], "--server", /http:\/\/ or https:\/\//],
    [["--stream", "../etc"], "--stream", /invalid stream name/],
    [["--sdp", "x.sdp", "--stream", "a"], "--sdp", /drop --server and --stream/],
    [["--duration=-1"], "--duration", /seconds/],
    [["--timeout", "soon"], "--timeout", /seconds/],
    [["--packets", "0"], "--packets", /1 to/],
    [["--retries", "1000"], "--retries", /0 to 100/],
    [["--payload-type", "96"], "--payload-type", /dynamic/],
    [["--encoding", "H264/90000"], "--encoding", /needs --payload-type/],
    [["--source", "nowhere"], "--source", /not an IP address/],
  ];
  for (const [args, field, pattern] of cases) {
    await t.step(args.join(" "), () => {
      assert.throws(() => parseClientArgs(args, envOf({})), (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.field, field);
        assert.match(e.message, pattern);
        return true;
      });
    });
  }
});

Deno.test("parseClientArgs() accepts the flags after the -- that deno task passes through", () => {
  const command = parseClientArgs(["--", "--duration", "5", "--json"], () => undefined);
  assert.equal(command.kind, "run");
  if (command.kind !== "run") return;
  assert.equal(command.config.durationS, 5);
  assert.equal(command.config.json, true);
  assert.throws(() => parseClientArgs(["--", "--", "--json"], () => undefined), ConfigError);
});

Deno.test("parseMediaChoice() reads a media type or an m-line number, and names --media otherwise", () => {
  assert.deepEqual(parseMediaChoice("video"), { kind: "type", type: "video" });
  assert.deepEqual(parseMediaChoice(" AUDIO "), { kind: "type", type: "audio" });
  assert.deepEqual(parseMediaChoice("2"), { kind: "index", index: 2 });
  for (const bad of ["0", "65", "vid eo", "", "-1"]) {
    assert.throws(
      () => parseMediaChoice(bad),
      (e) => e instanceof ConfigError && e.field === "--media" && /^--media: /.test(e.message),
      bad,
    );
  }
});

Deno.test("parseClientArgs() takes --media into the configuration", () => {
  assert.deepEqual(run(["--media", "audio"]).media, { kind: "type", type: "audio" });
  assert.equal(run([]).media, undefined);
  // The index is bounded by the SDP parser's limit on m-lines (MAX_MEDIA_SECTIONS, now 8).
  assert.throws(
    () => run(["--media", "0"]),
    new RegExp(`--media: expected an integer from 1 to ${MAX_MEDIA_SECTIONS}`),
  );
});

Deno.test("parseClientArgs() takes several streams: --stream repeated, several --sdp, or --all", () => {
  const named = run(["--server", "http://h:8", "--stream", "a", "--stream", "b", "--stream", "a"]);
  assert.deepEqual(named.locators, [
    { kind: "offer", url: "http://h:8/streams/a/offer" },
    { kind: "offer", url: "http://h:8/streams/b/offer" },
  ]);
  assert.deepEqual(named.locator, named.locators[0]);
  const sdps = run(["--sdp", "one.sdp", "--sdp", "http://h/streams/x.sdp"]);
  assert.deepEqual(sdps.locators.map((l) => l.kind), ["sdp", "sdp"]);
  assert.equal(sdps.server, undefined);
  const all = run(["--server", "http://h:8", "--all", "--refresh", "5"]);
  assert.deepEqual([all.all, all.locators, all.refreshS, all.server], [true, [], 5, "http://h:8"]);
  assert.deepEqual([run([]).all, run([]).refreshS, run([]).locators.length], [false, 30, 1]);
});

Deno.test("parseClientArgs() reads the receive path, the IGMP refresh, TS limits and monitoring", () => {
  const config = run([
    "--receiver",
    "deno",
    "--rejoin-every",
    "0",
    "--pcr-interval-ms",
    "40",
    "--pat-interval-ms",
    "250",
    "--pmt-interval-ms",
    "300",
    "--metrics",
    "127.0.0.1:9464",
    "--report",
    "--report-every",
    "2",
    "--receiver-id",
    "probe-1",
  ]);
  assert.deepEqual(
    [config.receiver, config.rejoinEveryS, config.tsLimits, config.metrics],
    [
      "deno",
      0,
      { pcrIntervalMs: 40, patIntervalMs: 250, pmtIntervalMs: 300 },
      { hostname: "127.0.0.1", port: 9464 },
    ],
  );
  assert.deepEqual([config.report, config.reportEveryS, config.receiverId], [true, 2, "probe-1"]);
  const defaults = run([]);
  assert.deepEqual(
    [
      defaults.receiver,
      defaults.rejoinEveryS,
      defaults.tsLimits,
      defaults.report,
      defaults.reportEveryS,
    ],
    ["auto", 60, {}, false, 5],
  );
  assert.equal(run(["--rejoin-every", "0.5"]).rejoinEveryS, 0.5);
});

Deno.test("parseClientArgs() rejects bad multi-stream and monitoring usage naming the flag", async (t) => {
  const cases: [string[], string, RegExp][] = [
    [["--all", "--stream", "a"], "--all", /drop --stream/],
    [["--sdp", "x.sdp", "--all"], "--sdp", /drop --all/],
    [["--refresh", "5"], "--refresh", /needs --all/],
    [["--all", "--refresh", "0"], "--refresh", /seconds/],
    [["--receiver", "fast"], "--receiver", /auto, kernel, deno/],
    [["--rejoin-every=-1"], "--rejoin-every", /seconds/],
    [["--pcr-interval-ms", "0"], "--pcr-interval-ms", /1 to 3600000/],
    [["--pat-interval-ms", "soon"], "--pat-interval-ms", /integer/],
    [["--metrics", "9464"], "--metrics", /HOST:PORT/],
    [["--sdp", "file.sdp", "--report"], "--report", /--sdp http\(s\) URL/],
    [["--report-every", "3"], "--report-every", /needs --report/],
    [["--report", "--receiver-id", "has space"], "--receiver-id", /1-64/],
  ];
  for (const [args, field, pattern] of cases) {
    await t.step(args.join(" "), () => {
      assert.throws(() => parseClientArgs(args, envOf({})), (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.field, field);
        assert.match(e.message, pattern);
        return true;
      });
    });
  }
});

Deno.test("parseClientArgs() reads --output, --no-ts and --sap, and --discover with its flags", () => {
  const out = run(["--stream", "news", "--output", "-", "--no-ts"]);
  assert.deepEqual([out.output, out.analyseTs, out.pids], ["-", false, false]);
  assert.equal(run([]).analyseTs, true);
  const sap = run(["--sap", "vlc news", "--sap", "ffcam", "--sap", "vlc news"]);
  assert.deepEqual(sap.locators, [{ kind: "sap", name: "vlc news" }, {
    kind: "sap",
    name: "ffcam",
  }]);
  assert.equal(sap.server, undefined, "an announced session needs no server");
  const mixed = run(["--sdp", "a.sdp", "--sap", "tv"]);
  assert.deepEqual(mixed.locators.map((l) => l.kind), ["sdp", "sap"]);
  const withStream = run(["--stream", "news", "--sap", "tv"]);
  assert.deepEqual(withStream.locators.map((l) => l.kind), ["offer", "sap"]);
  assert.equal(run(["--sap", "tv", "--output", "tv.ts"]).output, "tv.ts");
  const command = parseClientArgs(
    ["--discover", "--duration", "5", "--interval", "0.5", "--json", "--interface", "10.0.0.1"],
    envOf({}),
  );
  assert.deepEqual(command, {
    kind: "discover",
    config: { json: true, intervalS: 0.5, durationS: 5, interface: "10.0.0.1" },
  });
});

Deno.test("parseClientArgs() rejects bad --output, --sap and --discover usage naming the flag", async (t) => {
  const cases: [string[], string][] = [
    [["--sdp", "a.sdp", "--sdp", "b.sdp", "--output", "x.ts"], "--output"],
    [["--stream", "a", "--sap", "b", "--output", "x.ts"], "--output"],
    [["--all", "--output", "x.ts"], "--output"],
    [["--output", " "], "--output"],
    [["--all", "--sap", "tv"], "--sap"],
    [["--sap", ""], "--sap"],
    [["--sap", "a\u0007b"], "--sap"],
    [["--sap", "x".repeat(257)], "--sap"],
    [["--sap", "tv", "--server", "http://h:1"], "--server"],
    [["--discover", "--stream", "a"], "--stream"],
    [["--discover", "--sap", "a"], "--sap"],
    [["--discover", "--output", "-"], "--output"],
    [["--discover", "--duration", "0"], "--duration"],
  ];
  for (const [args, field] of cases) {
    await t.step(args.join(" "), () => {
      assert.throws(
        () => parseClientArgs(args, envOf({})),
        (e: unknown) => e instanceof ConfigError && e.field === field,
      );
    });
  }
});
