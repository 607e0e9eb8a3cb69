// The product version, from deno.json (imported statically, so `deno compile` embeds it).
import config from "../../deno.json" with { type: "json" };

/** Version of rtp-multicast-gateway, as in deno.json. */
export const VERSION: string = config.version;

/** `NAME VERSION (deno X)` line printed by `--version`. */
export function versionLine(program: string): string {
  return `${program} ${VERSION} (deno ${Deno.version.deno})`;
}
