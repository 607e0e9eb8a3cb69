// Tests of lib/server/setting_origin.ts: values carry their origin (flag, variable, config-file
// field, default) and errors name it.
import assert from "node:assert/strict";
import { ConfigError } from "../../lib/common/errors.ts";
import {
  byDefault,
  flagOrEnv,
  fromFile,
  integerSetting,
  originField,
  originLabel,
} from "../../lib/server/setting_origin.ts";

Deno.test("flagOrEnv() takes the flag over the variable and skips an empty variable", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.deepEqual(flagOrEnv({ port: "1" }, env({ P: "2" }), "port", "P"), {
    value: "1",
    origin: { kind: "flag", name: "--port" },
  });
  assert.deepEqual(flagOrEnv({}, env({ P: "2" }), "port", "P"), {
    value: "2",
    origin: { kind: "env", name: "P" },
  });
  assert.equal(flagOrEnv({}, env({ P: "" }), "port", "P"), undefined);
  assert.equal(flagOrEnv({}, env({ P: "2" }), "port"), undefined);
  assert.deepEqual(flagOrEnv({ token: "" }, env({}), "token")?.value, "");
});

Deno.test("integerSetting() parses text from flags and variables, checks file and default values", async (t) => {
  const flag = { value: "0x10", origin: { kind: "flag", name: "--ttl" } } as const;
  assert.equal(integerSetting(flag, 0, 255), 16);
  assert.equal(integerSetting(fromFile(7, "/etc/s.json", "streams[0].ttl"), 0, 255), 7);
  assert.equal(integerSetting(byDefault(8080, "port"), 0, 65535), 8080);
  const cases = [
    [{ value: "x", origin: { kind: "env", name: "HTTP_PORT" } }, "HTTP_PORT", /^HTTP_PORT: /],
    [fromFile("7", "/etc/s.json", "port"), "port", /^Config file \/etc\/s\.json: port: .*"7"$/],
    [fromFile(300, "/etc/s.json", "streams[1].ttl"), "streams[1].ttl", /streams\[1\]\.ttl: .*300$/],
  ] as const;
  for (const [setting, field, pattern] of cases) {
    await t.step(`${originLabel(setting.origin)} ${JSON.stringify(setting.value)}`, () => {
      assert.equal(originField(setting.origin), field);
      assert.throws(() => integerSetting(setting, 0, 255), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.field, field);
        assert.match(e.message, pattern);
        return true;
      });
    });
  }
});
