import assert from "node:assert/strict";
import { ConfigError } from "../../lib/common/errors.ts";
import { parseServerArgs, type ServerConfig } from "../../lib/server/config.ts";

const noEnv = () => undefined;
const envOf = (vars: Record<string, string>) => (name: string) => vars[name];

async function run(
  args: string[],
  env: (name: string) => string | undefined = noEnv,
): Promise<ServerConfig> {
  const command = await parseServerArgs(args, env);
  assert.equal(command.kind, "run");
  return (command as { config: ServerConfig }).config;
}

async function writeConfig(content: unknown): Promise<string> {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

Deno.test("parseServerArgs() defaults to the VLC set-up on 0.0.0.0:8080", async () => {
  const config = await run([]);
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.port, 8080);
  assert.equal(config.logFormat, "text");
  assert.deepEqual(config.streams, [{
    name: "default",
    description: "",
    address: "239.0.0.1",
    port: 5004,
    ttl: 1,
    formats: [{ payloadType: 33, encoding: "MP2T", clockRate: 90000 }],
  }]);
});

Deno.test("parseServerArgs() takes flags over environment over config file", async () => {
  const path = await writeConfig({
    port: 9000,
    streams: [{
      name: "default",
      address: "239.9.9.9",
      port: 6000,
      ttl: 3,
      formats: [{ payloadType: 33 }],
    }],
  });
  try {
    const fileOnly = await run(["--config", path]);
    assert.deepEqual([fileOnly.port, fileOnly.streams[0]!.address, fileOnly.streams[0]!.ttl], [
      9000,
      "239.9.9.9",
      3,
    ]);
    const env = envOf({
      HTTP_PORT: "9100",
      MULTICAST_ADDRESS: "239.8.8.8",
      MULTICAST_PORT: "6002",
    });
    const withEnv = await run(["--config", path], env);
    assert.deepEqual([withEnv.port, withEnv.streams[0]!.address, withEnv.streams[0]!.port], [
      9100,
      "239.8.8.8",
      6002,
    ]);
    const withFlags = await run([
      "--config",
      path,
      "--port",
      "9200",
      "--multicast-address",
      "239.7.7.7",
    ], env);
    assert.deepEqual([withFlags.port, withFlags.streams[0]!.address, withFlags.streams[0]!.port], [
      9200,
      "239.7.7.7",
      6002,
    ]);
    const viaEnvConfig = await run([], envOf({ GATEWAY_CONFIG: path }));
    assert.equal(viaEnvConfig.port, 9000);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("parseServerArgs() describes an H.264 stream with --payload-type 96 --encoding H264/90000", async () => {
  const config = await run([
    "--payload-type",
    "96",
    "--encoding",
    "H264/90000",
    "--source",
    "192.0.2.7",
    "--ttl",
    "16",
  ]);
  assert.deepEqual(config.streams[0]!.formats, [{
    payloadType: 96,
    encoding: "H264",
    clockRate: 90000,
  }]);
  assert.equal(config.streams[0]!.source, "192.0.2.7");
  assert.equal(config.streams[0]!.ttl, 16);
  const env = await run([], envOf({ PAYLOAD_TYPE: "96", PAYLOAD_ENCODING: "H264/90000" }));
  assert.equal(env.streams[0]!.formats[0]!.encoding, "H264");
});

Deno.test("parseServerArgs() rejects bad flags and variables naming them", async (t) => {
  const cases: [string, string[], Record<string, string>, string, RegExp][] = [
    ["unknown flag", ["--nope"], {}, "args", /nope/],
    ["port text", ["--port", "eighty"], {}, "--port", /integer/],
    ["port range", ["--port", "70000"], {}, "--port", /0 to 65535/],
    ["env port", [], { HTTP_PORT: "-1" }, "HTTP_PORT", /HTTP_PORT/],
    [
      "unicast group",
      ["--multicast-address", "10.0.0.1"],
      {},
      "--multicast-address",
      /not a multicast address/,
    ],
    [
      "env group",
      [],
      { MULTICAST_ADDRESS: "nonsense" },
      "MULTICAST_ADDRESS",
      /not an IPv4 or IPv6/,
    ],
    [
      "dynamic without encoding",
      ["--payload-type", "96"],
      {},
      "--payload-type",
      /dynamic; give its encoding/,
    ],
    [
      "static mislabelled",
      ["--encoding", "H264/90000"],
      {},
      "--encoding",
      /static \(MP2T\/90000\)/,
    ],
    [
      "bad encoding",
      ["--payload-type", "96", "--encoding", "H264"],
      {},
      "--encoding",
      /NAME\/CLOCKRATE/,
    ],
    ["ttl range", ["--ttl", "256"], {}, "--ttl", /0 to 255/],
    ["source family", ["--source", "fd00::1"], {}, "--source", /not an IPv4 address/],
    ["log format", ["--log-format", "xml"], {}, "--log-format", /text or json/],
    ["stream name", ["--name", "a b"], {}, "--name", /invalid stream name/],
    [
      "missing config",
      ["--config", "/nonexistent/streams.json"],
      {},
      "config",
      /Cannot read config file/,
    ],
  ];
  for (const [name, args, env, field, pattern] of cases) {
    await t.step(name, async () => {
      await assert.rejects(parseServerArgs(args, envOf(env)), (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.field, field);
        assert.match(e.message, pattern);
        return true;
      });
    });
  }
});

Deno.test("parseServerArgs() rejects an invalid config file naming the field", async (t) => {
  const good = { name: "a", address: "239.0.0.1", port: 5004, formats: [{ payloadType: 33 }] };
  const cases: [string, unknown, string, RegExp][] = [
    ["not JSON", "{streams:", "config", /not valid JSON/],
    ["unknown top-level field", { streams: [good], extra: 1 }, "extra", /unknown field/],
    [
      "non-multicast address",
      { streams: [{ ...good, address: "192.0.2.1" }] },
      "streams[0].address",
      /not a multicast/,
    ],
    ["port out of range", { streams: [{ ...good, port: 0 }] }, "streams[0].port", /1 to 65535/],
    [
      "duplicate names",
      { streams: [good, { ...good, port: 5006 }] },
      "streams[1].name",
      /duplicate stream name "a"/,
    ],
    [
      "unknown stream field",
      { streams: [{ ...good, colour: "red" }] },
      "streams[0].colour",
      /unknown field/,
    ],
    [
      "unknown format field",
      { streams: [{ ...good, formats: [{ payloadType: 33, x: 1 }] }] },
      "streams[0].formats[0].x",
      /unknown field/,
    ],
    ["empty formats", { streams: [{ ...good, formats: [] }] }, "streams[0].formats", /non-empty/],
    [
      "bad default",
      { defaultStream: "zzz", streams: [good] },
      "defaultStream",
      /no stream named "zzz"/,
    ],
    ["no streams", { streams: [] }, "streams", /at least one/],
    [
      "CR LF in a description (SDP line injection)",
      { streams: [{ ...good, description: "News\r\na=x-injected:1" }] },
      "streams[0].description",
      /streams\[0\]\.description: control character U\+000D at position 4/,
    ],
    [
      "NUL in a description",
      { streams: [{ ...good, description: "a\u0000b" }] },
      "streams[0].description",
      /control character U\+0000/,
    ],
    [
      "tab in a category",
      { streams: [{ ...good, category: "tv\tnews" }] },
      "streams[0].category",
      /control character U\+0009/,
    ],
    [
      "description too long for one SDP line",
      { streams: [{ ...good, description: "x".repeat(513) }] },
      "streams[0].description",
      /longer than 512 characters/,
    ],
    [
      "category not a string",
      { streams: [{ ...good, category: 5 }] },
      "streams[0].category",
      /string/,
    ],
    [
      "unknown transport",
      { streams: [{ ...good, transport: "srt" }] },
      "streams[0].transport",
      /expected "rtp" \(RTP\/AVP\) or "udp"/,
    ],
    [
      "formats on a raw UDP stream",
      { streams: [{ ...good, transport: "udp" }] },
      "streams[0].formats",
      /raw UDP stream .* has no payload formats/,
    ],
  ];
  for (const [name, content, field, pattern] of cases) {
    await t.step(name, async () => {
      const path = await writeConfig(content);
      try {
        await assert.rejects(parseServerArgs(["--config", path], noEnv), (e) => {
          assert.ok(e instanceof ConfigError, String(e));
          assert.equal(e.field, field);
          assert.match(e.message, pattern);
          assert.ok(e.message.includes(path), "the message names the file");
          return true;
        });
      } finally {
        await Deno.remove(path);
      }
    });
  }
});

Deno.test("parseServerArgs() loads a multi-stream catalog with IPv6 and SSM streams", async () => {
  const path = await writeConfig({
    defaultStream: "hd",
    streams: [
      {
        name: "sd",
        description: "SD",
        address: "239.0.0.1",
        port: 5004,
        ttl: 1,
        formats: [{ payloadType: 33 }],
      },
      {
        name: "hd",
        address: "ff15::10",
        port: 5006,
        formats: [{ payloadType: 96, encoding: "H264", clockRate: 90000 }],
      },
      {
        name: "radio",
        address: "232.1.1.1",
        port: 5008,
        source: "192.0.2.9",
        formats: [{ payloadType: 97, encoding: "opus/48000/2" }],
      },
    ],
  });
  try {
    const config = await run(["--config", path]);
    assert.equal(config.defaultName, "hd");
    assert.deepEqual(config.streams.map((s) => s.name), ["sd", "hd", "radio"]);
    assert.deepEqual(config.streams[2]!.formats[0], {
      payloadType: 97,
      encoding: "opus",
      clockRate: 48000,
      channels: 2,
    });
    const selected = await run(["--config", path, "--name", "sd", "--ttl", "9"]);
    assert.equal(selected.defaultName, "sd");
    assert.equal(selected.streams[0]!.ttl, 9);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("parseServerArgs() names the config file and field of a bad value it took from the file", async (t) => {
  const good = { name: "a", address: "239.0.0.1", port: 5004, formats: [{ payloadType: 33 }] };
  const cases: [string, unknown, string[], string, RegExp][] = [
    ["host", { host: "nohost", streams: [good] }, [], "host", /: host: "nohost" is not an IP/],
    ["port", { port: 70000, streams: [good] }, [], "port", /: port: expected an integer from 0/],
    ["log format", { logFormat: "xml", streams: [good] }, [], "logFormat", /: logFormat: expected/],
    [
      "the file's source against a flag's group",
      { streams: [{ ...good, address: "232.1.1.1", source: "192.0.2.9" }] },
      ["--multicast-address", "ff15::1"],
      "streams[0].source",
      /: streams\[0\]\.source: "192\.0\.2\.9" is not an IPv6 address like the group ff15::1/,
    ],
  ];
  for (const [name, content, args, field, pattern] of cases) {
    await t.step(name, async () => {
      const path = await writeConfig(content);
      try {
        await assert.rejects(parseServerArgs(["--config", path, ...args], noEnv), (e) => {
          assert.ok(e instanceof ConfigError, String(e));
          assert.equal(e.field, field);
          assert.match(e.message, pattern);
          assert.ok(e.message.startsWith(`Config file ${path}: `), e.message);
          return true;
        });
      } finally {
        await Deno.remove(path);
      }
    });
  }
  await t.step("a flag over the file's value is named as the flag", async () => {
    const path = await writeConfig({ streams: [{ ...good, ttl: 3 }] });
    try {
      await assert.rejects(parseServerArgs(["--config", path, "--ttl", "300"], noEnv), (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.field, "--ttl");
        assert.equal(e.message, '--ttl: expected an integer from 0 to 255, got "300"');
        return true;
      });
    } finally {
      await Deno.remove(path);
    }
  });
});

Deno.test("parseServerArgs() takes a category and raw-UDP streams from the config file", async () => {
  const path = await writeConfig({
    streams: [
      {
        name: "news",
        description: "Nouvelles · ニュース",
        category: "tv.news",
        address: "239.0.0.1",
        port: 5004,
        formats: [{ payloadType: 33 }],
      },
      { name: "raw", address: "239.255.0.1", port: 1234, transport: "udp" },
      {
        name: "rtp",
        address: "239.0.0.3",
        port: 5008,
        transport: "rtp",
        formats: [{ payloadType: 33 }],
      },
    ],
  });
  try {
    const config = await run(["--config", path]);
    assert.equal(config.streams[0]!.category, "tv.news");
    assert.equal(config.streams[0]!.description, "Nouvelles · ニュース");
    assert.deepEqual(config.streams[1], {
      name: "raw",
      description: "",
      address: "239.255.0.1",
      port: 1234,
      ttl: 1,
      formats: [],
      transport: "udp",
    });
    assert.equal(config.streams[2]!.transport, undefined, "rtp is the default, not stored");
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("parseServerArgs() --transport udp describes the default stream as raw UDP", async () => {
  const config = await run(["--transport", "udp", "--multicast-port", "1234"]);
  assert.deepEqual(config.streams, [{
    name: "default",
    description: "",
    address: "239.0.0.1",
    port: 1234,
    ttl: 1,
    formats: [],
    transport: "udp",
  }]);
  await assert.rejects(
    parseServerArgs(["--transport", "udp", "--payload-type", "33"], noEnv),
    /--payload-type: a raw UDP stream .* has no payload type/,
  );
  await assert.rejects(
    parseServerArgs(["--transport", "tcp"], noEnv),
    /--transport: expected "rtp"/,
  );
  // Back to RTP over a raw-UDP stream of the file: the default format.
  const path = await writeConfig({
    streams: [{ name: "raw", address: "239.255.0.1", port: 1234, transport: "udp" }],
  });
  try {
    const rtp = await run(["--config", path, "--transport", "rtp"]);
    assert.deepEqual(rtp.streams[0]!.formats, [{
      payloadType: 33,
      encoding: "MP2T",
      clockRate: 90000,
    }]);
    assert.equal(rtp.streams[0]!.transport, undefined);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("parseServerArgs() reads the SAP and receiver-report flags, with their defaults", async () => {
  const plain = await run([]);
  assert.deepEqual(plain.sap, { announce: false, intervalS: 5, listen: false });
  assert.deepEqual(plain.reports, {
    maxReceiversPerStream: 1000,
    maxReceivers: 10_000,
    maxAgeS: 300,
    ratePerS: 20,
    burst: 100,
  });
  const config = await run([
    ...["--sap", "--sap-interval", "1.5", "--sap-origin", "192.0.2.7", "--sap-listen"],
    ...["--max-receivers-per-stream", "50", "--max-receivers", "200", "--receiver-max-age", "60"],
    ...["--report-rate-limit", "2/s"],
  ]);
  assert.deepEqual(config.sap, {
    announce: true,
    intervalS: 1.5,
    originV4: "192.0.2.7",
    listen: true,
  });
  assert.deepEqual(config.reports, {
    maxReceiversPerStream: 50,
    maxReceivers: 200,
    maxAgeS: 60,
    ratePerS: 2,
    burst: 10,
  });
});

Deno.test("parseServerArgs() rejects bad SAP and report flags naming them", async (t) => {
  const cases: [string[], string, RegExp][] = [
    [["--sap-interval", "2"], "--sap-interval", /--sap-interval needs --sap/],
    [["--sap-origin", "192.0.2.7"], "--sap-origin", /needs --sap/],
    [["--sap", "--sap-interval", "0"], "--sap-interval", /greater than 0/],
    [["--sap", "--sap-interval", "0.01"], "--sap-interval", /from 0\.1 to 3600/],
    [["--sap", "--sap-interval", "5s"], "--sap-interval", /expected seconds/],
    [["--sap", "--sap-origin", "239.0.0.1"], "--sap-origin", /not a unicast/],
    [["--sap", "--sap-origin", "0.0.0.0"], "--sap-origin", /not a unicast/],
    [["--sap", "--sap-origin", "host.example"], "--sap-origin", /not a unicast/],
    [["--max-receivers", "0"], "--max-receivers", /1 to 10000000/],
    [["--max-receivers-per-stream", "x"], "--max-receivers-per-stream", /integer/],
    [["--receiver-max-age", "0"], "--receiver-max-age", /1 to 2592000/],
    [["--report-rate-limit", "fast"], "--report-rate-limit", /requests per second/],
  ];
  for (const [args, field, pattern] of cases) {
    await t.step(args.join(" "), async () => {
      await assert.rejects(parseServerArgs(args, noEnv), (e) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.field, field);
        assert.match(e.message, pattern);
        return true;
      });
    });
  }
});

Deno.test("parseServerArgs() takes the SAP origin of each IP version from --host when it is one address", async () => {
  assert.deepEqual((await run(["--sap", "--host", "127.0.0.1"])).sap.originV4, "127.0.0.1");
  const v6 = await run(["--sap", "--host", "::1", "--sap-origin", "192.0.2.7"]);
  assert.deepEqual([v6.sap.originV4, v6.sap.originV6], ["192.0.2.7", "::1"]);
  const wildcard = await run(["--sap"]);
  assert.deepEqual([wildcard.sap.originV4, wildcard.sap.originV6], [undefined, undefined]);
});
