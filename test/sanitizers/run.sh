#!/usr/bin/env bash
# The suites that exercise the native addon, against a build of it instrumented with AddressSanitizer and
# UndefinedBehaviorSanitizer (FABRIC_SANITIZE=1 npm run build:native, which this script runs unless
# SANITIZED_ADDON names one already built). Node itself is not instrumented: the ASan runtime is preloaded.
# Any report fails the run, in this process or in any process the tests start (killed peers included).
#
#   bash test/sanitizers/run.sh        on the host: conformance and workers over every usable transport (TCP,
#                                      shm) in every poll mode, hostile peers, the fuzzers and a 60 s chaos run
#   FABRIC_TRANSPORT=roce bash test/sanitizers/run.sh    (in the Soft-RoCE guest) conformance in every poll
#                                      mode and workers over verbs (FABRIC_TRANSPORT narrows the conformance
#                                      suite to that transport)
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

addon=${SANITIZED_ADDON:-$PWD/build-sanitized/fabric_transport.node}
if [[ -z ${SANITIZED_ADDON:-} ]]; then FABRIC_SANITIZE=1 node scripts/build-native.mjs; fi
[[ -f $addon ]] || { echo "sanitizers: no sanitized addon at $addon" >&2; exit 1; }

reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
export FABRIC_NATIVE_ADDON=$addon
export LD_PRELOAD=$(gcc -print-file-name=libasan.so)
# No leak check: Node's own allocations at exit would drown the addon's. Each report goes to a file, so that a
# report from a process nobody waits for still fails the run.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:log_path=$reports/asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan

# The suites below must really load this addon, with the runtime in place.
node -e '
  const { nativeAddon } = require("./dist/src/core/native-addon.js");
  const loaded = nativeAddon();
  const maps = require("node:fs").readFileSync("/proc/self/maps", "utf8");
  if (typeof loaded === "string") throw new Error(loaded);
  if (!maps.includes(process.env.FABRIC_NATIVE_ADDON) || !maps.includes("libasan")) throw new Error("not the sanitized addon");
'

mocha() { node_modules/.bin/mocha --no-config --exit --timeout "${SANITIZER_TIMEOUT_MS:-60000}" "$@"; }

status=0
for mode in event spin hybrid; do
  echo "== sanitized: conformance over ${FABRIC_TRANSPORT:-every usable transport}, poll mode $mode"
  FABRIC_POLL=$mode mocha 'out/test/conformance/*.test.js' || status=1
done
echo "== sanitized: worker_threads over ${FABRIC_TRANSPORT:-every usable transport}"
mocha out/test/workers.test.js || status=1
echo "== sanitized: the shared-memory part of the addon"; mocha out/test/transports/shm/native.test.js || status=1
if [[ ${FABRIC_TRANSPORT:-tcp} == tcp ]]; then
  echo "== sanitized: hostile peers and the fuzzers"
  mocha out/test/transports/tcp/hostile-peers.test.js out/test/transports/shm/hostile-peers.test.js \
    out/test/protocol/fuzz-decoders.test.js || status=1
  echo "== sanitized: a chaos run"
  node out/test/chaos/driver.js "${SANITIZED_CHAOS_SECONDS:-60}" || status=1
fi

shopt -s nullglob
found=("$reports"/*)
if ((${#found[@]})); then
  echo "sanitizers: ${#found[@]} report(s):" >&2
  for report in "${found[@]}"; do
    echo "--- $report" >&2
    cat "$report" >&2
  done
  status=1
else
  echo "sanitizers: no report"
fi
exit "$status"
