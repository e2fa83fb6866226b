#!/usr/bin/env bash
# The Soft-RoCE suite, run inside the guest by `npm run test:softroce` (test/softroce/run.sh): perftest's
# figures on rxe0 for reference, the conformance suite over RoCE, then the tests that need an RDMA device.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

# perftest SERVER-ARGS...: run perftest's server and client on rxe0 (client over its TCP side channel on
# 127.0.0.1), waiting for the server's port rather than sleeping, and print the client's report.
perftest() {
  local tool=$1
  shift
  "$tool" -d "$FABRIC_TEST_DEVICE" -x "$FABRIC_TEST_GID_INDEX" "$@" >/dev/null &
  local server=$!
  for _ in $(seq 150); do ss -Hltn 'sport = :18515' | grep -q . && break; sleep 0.2; done
  "$tool" -d "$FABRIC_TEST_DEVICE" -x "$FABRIC_TEST_GID_INDEX" "$@" 127.0.0.1
  wait "$server"
}

mocha() { node_modules/.bin/mocha --no-config --exit --timeout 300000 "$@"; }

echo "== perftest on $FABRIC_TEST_DEVICE (GID index $FABRIC_TEST_GID_INDEX), for reference"
perftest ib_send_lat -s 8 -n 1000
perftest ib_write_bw -s 65536 -n 2000 --report_gbits
perftest ib_write_bw -s 16777216 -n 20 --report_gbits

echo "== fabric-transport over RoCE: 8-byte round trip and 16 MiB write bandwidth"
node out/bench/rdma-figures.js

echo "== the conformance suite over RoCE"
FABRIC_TRANSPORT=roce mocha out/test/conformance.test.js

echo "== tests that need an RDMA device"
mocha out/test/rdma-host.test.js out/test/package.test.js
