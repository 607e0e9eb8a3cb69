#!/usr/bin/env bash
# Runs the test suite inside a private network namespace, so no test traffic can leave the host.
# Run: deno task test [-- extra deno test args]   (or: bash scripts/netns_test.sh tests/foo_test.ts)
# Inside: lo up, IPv4 multicast routed to lo, and a veth pair (gw0/gw1, fd00:6a7::1 and ::2) for IPv6
# multicast, which Linux does not deliver over lo. Dependencies are cached first: the namespace has
# no network. Tests that send multicast check GATEWAY_NETNS=1 and are ignored without it.
set -euo pipefail
cd "$(dirname "$0")/.."
deno install --frozen --quiet
exec unshare -rn bash -euo pipefail -c '
  ip link set lo up
  ip route add 224.0.0.0/4 dev lo src 127.0.0.1
  ip link add gw0 type veth peer name gw1
  ip link set gw0 up
  ip link set gw1 up
  ip -6 addr add fd00:6a7::1/64 dev gw0 nodad
  ip -6 addr add fd00:6a7::2/64 dev gw1 nodad
  ip -6 route add ff00::/8 dev gw0 table local
  export GATEWAY_NETNS=1
  exec deno test -A --frozen "$@"
' netns-test "$@"
