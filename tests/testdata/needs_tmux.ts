// A test that needs tmux, run by tests/scripts/peer_skip_test.ts through scripts/netns_test.sh
// with a PATH that hides tmux (not named *_test.ts, so the suite does not pick it up itself).
import { peerTest } from "../support/peer_requirements.ts";

await peerTest({
  name: "a test that needs tmux",
  peers: ["tmux"],
  async fn() {},
});
