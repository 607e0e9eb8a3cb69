// How the SDP server is run: its permission set of deno.json and its V8 flags, in one place for the
// tasks (deno.json, checked by tests/scripts/server_flags_test.ts), the compiled binary
// (scripts/compile.ts), the benchmarks and the tests.

/** V8 flags of the server (task, binary, benchmarks, tests): a small heap keeps its RSS flat. */
export const SERVER_V8_FLAGS = "--optimize-for-size,--max-old-space-size=64";

/** The `--v8-flags=…` argument of `deno run` and `deno compile` for the server. */
export const SERVER_V8_FLAGS_ARG = `--v8-flags=${SERVER_V8_FLAGS}`;

/** The permission set of deno.json the server runs with. */
export const SERVER_PERMISSION_SET = "server";

/** Permission flags the server runs with (`-P=server`). */
export const SERVER_PERMISSIONS: readonly string[] = [`-P=${SERVER_PERMISSION_SET}`];
