#!/usr/bin/env bash
# The Soft-RoCE suite, run inside the guest by `npm run test:softroce` (test/softroce/run.sh): the benchmark
# suite (our figures beside perftest's on rxe0), the conformance suite over RoCE (event and spin poll modes),
# the other tests that need an RDMA device, the remote-tensor example over RoCE, and the network faults that
# need tc netem (which the guest's kernel has).
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

mocha() { node_modules/.bin/mocha --no-config --exit --timeout 300000 "$@"; }

echo "== the benchmark suite: RoCE on $FABRIC_TEST_DEVICE and TCP, beside perftest, iperf3, ucx_perftest, node:net"
# (not the MLP pattern: under emulation it would time the emulated CPU, not the transports)
node dist/src/cli/main.js bench --rounds 1 --duration 0.2 --sizes 4K,1M --out out/bench-results-softroce \
  --pattern latency,write,read,messages,registration,reregistration,tensor,forwarding

echo "== the conformance suite over RoCE"
FABRIC_TRANSPORT=roce mocha out/test/conformance.test.js

echo "== the conformance suite over RoCE, busy-polling the completion queue"
FABRIC_TRANSPORT=roce FABRIC_POLL=spin mocha out/test/conformance.test.js

echo "== tests that need an RDMA device"
mocha out/test/rdma-host.test.js out/test/package.test.js

echo "== the remote-tensor example over RoCE, its one-command demo across two processes included"
FABRIC_TRANSPORT=roce mocha out/test/remote-tensor.test.js

echo "== network faults between two network namespaces: tc netem (delay, loss, reordering), a cut link, a killed peer"
FAULT_BYTES=$((4 << 20)) mocha out/test/network-faults.test.js
