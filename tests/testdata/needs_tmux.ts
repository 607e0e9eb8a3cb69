// A test that needs tmux, run by tests/scripts/peer_skip_test.ts through scripts/netns_test.sh
// with a PATH that hides tmux (not named *_test.ts, so the suite does not pick it up itself).
import { requirePeers, skipWithout } from "../support/peer_requirements.ts";

Deno.test({
  name: "a test that needs tmux",
  ignore: await skipWithout("tmux"),
  async fn() {
    await requirePeers("tmux");
  },
});
