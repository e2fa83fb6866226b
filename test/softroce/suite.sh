#!/usr/bin/env bash
# The Soft-RoCE suite, run inside the guest by `npm run test:softroce` (test/softroce/run.sh): the benchmark
# suite (our figures beside perftest's on rxe0), the conformance suite and the worker tests over RoCE in every
# poll mode with the sanitized addon (built on the host beforehand: FABRIC_SANITIZE=1 npm run build:native),
# the other tests that need an RDMA device, the remote-tensor example over RoCE, the network faults that need
# tc netem (which the guest's kernel has), and a short chaos run over RoCE and TCP.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

mocha() { node_modules/.bin/mocha --no-config --exit --timeout 300000 "$@"; }

echo "== the benchmark suite: RoCE on $FABRIC_TEST_DEVICE and TCP, beside perftest, iperf3, ucx_perftest, node:net"
# (not the MLP pattern: under emulation it would time the emulated CPU, not the transports)
# (not shm either: the host's npm run bench measures it, and under emulation it would time the emulated CPU)
node dist/src/cli/main.js bench --transport roce,tcp --rounds 1 --duration 0.2 --sizes 4K,1M --out out/bench-results-softroce \
  --pattern latency,write,read,messages,registration,reregistration,tensor,forwarding

echo "== the conformance suite and the worker tests over RoCE, every poll mode, under ASan and UBSan"
FABRIC_TRANSPORT=roce SANITIZED_ADDON=$PWD/build-sanitized/fabric_transport.node SANITIZER_TIMEOUT_MS=300000 \
  bash test/sanitizers/run.sh

echo "== tests that need an RDMA device"
mocha out/test/transports/verbs/*.test.js out/test/package.test.js

echo "== the remote-tensor example over RoCE, its one-command demo across two processes included"
FABRIC_TRANSPORT=roce mocha out/test/examples/remote-tensor.test.js

echo "== network faults between two network namespaces: tc netem (delay, loss, reordering), a cut link, a killed peer"
FAULT_BYTES=$((4 << 20)) mocha out/test/network-faults.test.js

echo "== the chaos run over RoCE and TCP"
CHAOS_CONNECTIONS=2 CHAOS_FAULT_MS=1500 CHAOS_STOP_MS=120000 node out/test/chaos/driver.js 90
