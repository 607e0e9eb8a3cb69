#!/usr/bin/env bash
# Runs the test suite inside a private network namespace, so no test traffic can leave the host.
# Run: deno task test [-- extra deno test args]   (or: bash scripts/netns_test.sh tests/foo_test.ts)
# Inside: lo up, IPv4 multicast routed to lo, and a veth pair (gw0/gw1, fd00:6a7::1 and ::2) for IPv6
# multicast, which Linux does not deliver over lo. Dependencies are cached first: the namespace has
# no network. Tests that send multicast check GATEWAY_NETNS=1 and are ignored without it. Tests
# that need a program that is not installed (VLC, ffmpeg, GStreamer, Chromium, tshark, Prometheus,
# tmux, openssl, gcc: PEERS in tests/support/peer_requirements.ts) are ignored and named in one
# closing line with the command that installs them; under CI=true they run and fail instead.
# The client has two receive paths (--receiver kernel|deno): the full suite runs with the default
# (the kernel path on Linux), then the client's end-to-end test files (CLIENT_TESTS) once more on
# the Deno path. With arguments, one pass runs; GATEWAY_CLIENT_RECEIVER=kernel|deno picks the path.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in unshare:util-linux ip:iproute2; do
  if ! command -v "${tool%%:*}" >/dev/null 2>&1; then
    echo "netns_test.sh: the test namespace needs ${tool%%:*}: apt-get install -y ${tool##*:}" >&2
    exit 1
  fi
done
deno install --frozen --quiet
# The test files that run the client process, run again on the Deno receive path.
CLIENT_TESTS=(tests/client_test.ts tests/client_figures_test.ts tests/client_streams_test.ts
  tests/client_ts_test.ts tests/client_monitoring_test.ts tests/client_terminal_test.ts
  tests/client_output_test.ts tests/client_sap_test.ts tests/client_views_test.ts
  tests/e2e/e2e_test.ts tests/e2e/ts_peers_test.ts)
skipped=$(mktemp)
trap 'rm -f "$skipped"' EXIT
status=0
GATEWAY_SKIPPED_PEERS_FILE="$skipped" unshare -rn bash -euo pipefail -c '
  ip link set lo up
  ip route add 224.0.0.0/4 dev lo src 127.0.0.1
  ip link add gw0 type veth peer name gw1
  ip link set gw0 up
  ip link set gw1 up
  ip -6 addr add fd00:6a7::1/64 dev gw0 nodad
  ip -6 addr add fd00:6a7::2/64 dev gw1 nodad
  ip -6 route add ff00::/8 dev gw0 table local
  export GATEWAY_NETNS=1
  if [ "$1" = "--both-receivers" ]; then
    shift
    count=$1
    shift
    client_tests=("${@:1:$count}")
    shift "$count"
    status=0
    deno test -A --frozen "$@" || status=$?
    echo "--- the client tests again on the Deno receive path (--receiver deno)"
    # Type-checked by the first pass already.
    GATEWAY_CLIENT_RECEIVER=deno deno test -A --frozen --no-check "${client_tests[@]}" || status=$?
    exit "$status"
  fi
  exec deno test -A --frozen "$@"
' netns-test $([ "$#" -eq 0 ] && echo --both-receivers "${#CLIENT_TESTS[@]}" "${CLIENT_TESTS[@]}") "$@" || status=$?
if [ -s "$skipped" ]; then
  names=$(cut -f1 "$skipped" | sort -u | paste -sd, - | sed 's/,/, /g')
  packages=$(cut -f2 "$skipped" | tr ' ' '\n' | awk 'NF && !seen[$0]++' | paste -sd' ' -)
  echo "Skipped the tests that need ${names} (not installed); install with: apt-get install -y --no-install-recommends ${packages}"
fi
exit "$status"
