import assert from "node:assert/strict";
import { inPrivateNetns } from "../../scripts/support/netns.ts";

Deno.test({
  name: "deno task demo runs server, source and client and ends with the client's summary",
  ignore: !inPrivateNetns(),
  async fn() {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--quiet", "demo", "--seconds", "2", "--loss", "0.02"],
      cwd: new URL("../../", import.meta.url),
      stdin: "null",
    }).output();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const summary = stdout.split("\n").filter((l) => l.includes('"summary"')).map((l) =>
      JSON.parse(l)
    );
    assert.equal(summary.length, 1, stdout);
    assert.equal(summary[0].payloadType, 33);
    assert.ok(summary[0].packets > 200, "about 190 packets/s for 2 s");
    assert.ok(summary[0].lost > 0, "the source's loss is seen");
    assert.match(stderr, /demo: the source generated \d+ packets, sent \d+, dropped \d+/);
  },
});
