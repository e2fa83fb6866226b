#!/usr/bin/env bash
# The Soft-RoCE suite, run inside the guest by `npm run test:softroce` (test/softroce/run.sh): our figures
# against perftest's on rxe0, the conformance suite over RoCE, then the other tests that need an RDMA device.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

mocha() { node_modules/.bin/mocha --no-config --exit --timeout 300000 "$@"; }

echo "== fabric-transport over RoCE against perftest (ib_send_lat, ib_write_bw) on $FABRIC_TEST_DEVICE"
node out/bench/rdma-baseline.js --rounds 3

echo "== the conformance suite over RoCE"
FABRIC_TRANSPORT=roce mocha out/test/conformance.test.js

echo "== tests that need an RDMA device"
mocha out/test/rdma-host.test.js out/test/package.test.js
