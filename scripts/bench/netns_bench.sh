#!/usr/bin/env bash
# Runs the benchmark suite (scripts/bench/run.ts) inside a private network namespace, so no benchmark
# packet can leave the host: `unshare -rn`, loopback up, 224.0.0.0/4 routed to lo; HTTP load goes to
# 127.0.0.1 only. Needs gcc, wrk and python3-aiohttp (Debian packages gcc, wrk, python3-aiohttp).
# Run: deno task bench [-- --quick] [-- --only capacity,cpu,ttfp,memory,server,micro]
#      (or: bash scripts/bench/netns_bench.sh --quick)
set -euo pipefail
cd "$(dirname "$0")/../.."
deno install --frozen --quiet
exec unshare -rn bash -euo pipefail -c '
  ip link set lo up
  ip route add 224.0.0.0/4 dev lo
  export GATEWAY_NETNS=1
  exec deno run --quiet --allow-all --frozen scripts/bench/run.ts "$@"
' netns-bench "$@"
