import { sendRtpStream } from "./lib/source/rtp_source.ts";
import { startServer } from "./scripts/support/server_process.ts";
import { spawnClient } from "./scripts/support/client_process.ts";
const dir = await Deno.makeTempDir();
const stream = (name: string, address: string, port: number) => ({ name, address, port, formats: [{ payloadType: 33 }] });
await Deno.writeTextFile(`${dir}/c.json`, JSON.stringify({ streams: [stream("a", "239.1.0.1", 5004), stream("b", "239.1.0.2", 5004), stream("c", "239.1.0.3", 5006)] }));
await using server = await startServer(["--config", `${dir}/c.json`]);
const client = spawnClient(["--server", server.url, "--all", "--json", "--duration", "4", ...Deno.args]);
await client.waitForLog(/Joined 239\.1\.0\.3/);
const truths = await Promise.all([
  sendRtpStream({ group: "239.1.0.1", port: 5004, packets: 300, bitrate: 2_000_000, loss: 0.02, seed: 1 }),
  sendRtpStream({ group: "239.1.0.2", port: 5004, packets: 300, bitrate: 2_000_000 }),
  sendRtpStream({ group: "239.1.0.3", port: 5006, packets: 300, bitrate: 2_000_000, rawUdp: true }),
]);
const r = await client.finished();
console.log(r.code, r.stderr);
for (const rec of r.records.filter((x) => x.type === "summary")) { const { ts, ...rest } = rec as Record<string, unknown>; console.log(JSON.stringify(rest), ts ? JSON.stringify((ts as Record<string,unknown>).ccErrors) : ""); }
console.log(truths.map((t) => [t.sent, t.lost]));
