#!/bin/bash
# PID 1 of the guest, on the overlay root, started by the initramfs. Mounts the
# checkout, brings up Soft-RoCE (rxe0 on a veth pair) and runs the command.
#
# Results go to the run directory (/run/softroce, shared read-write with the
# host): `status` holds the command's exit status, `infra` the reason the
# guest could not get that far. The command's output goes to ttyS1; this
# script's own messages go to the console (ttyS0).
#
# No `set -eu`: PID 1 must not exit (the kernel would panic); every path ends
# in halt.
set -o pipefail

readonly RUN=/run/softroce
readonly DEV=rxe0 HOST_ADDR=10.0.0.1 PEER_ADDR=10.0.0.2
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb

# shellcheck source=/dev/null
. "$RUN/guest.conf" # SOFTROCE_ROOT, SOFTROCE_KMODDIR, SOFTROCE_CMD

log() { echo "softroce-guest: [$(cut -d' ' -f1 /proc/uptime)] $*"; }

halt() {
  sync
  # isa-debug-exit: qemu exits with (0x10 << 1) | 1 = 33.
  printf '\020' | dd of=/dev/port bs=1 seek=244 count=1 conv=notrunc status=none
  echo o >/proc/sysrq-trigger
  while :; do sleep 60; done
}

infra() {
  log "INFRA: $*"
  echo "$*" >"$RUN/infra"
  halt
}

mount_basics() {
  # The modules of the booted kernel live in the host's cache, which the guest
  # sees read-only through the host root. Bind them before /tmp is replaced,
  # in case the cache lives under /tmp. devtmpfs has no /dev/fd, which bash's
  # process substitution needs.
  mkdir -p "/lib/modules/$(uname -r)" &&
    mount --bind "$SOFTROCE_KMODDIR" "/lib/modules/$(uname -r)" &&
    mount -t tmpfs -o mode=1777 tmpfs /tmp &&
    ln -sfn /proc/self/fd /dev/fd &&
    mkdir -p /dev/shm /dev/pts &&
    mount -t tmpfs -o mode=1777 tmpfs /dev/shm &&
    mount -t devpts devpts /dev/pts
}

mount_checkout() {
  mkdir -p "$SOFTROCE_ROOT" &&
    mount -t 9p -o trans=virtio,version=9p2000.L,cache=loose,msize=512000 softroce-checkout "$SOFTROCE_ROOT"
}

setup_veth() {
  ip link set lo up &&
    ip link add veth0 type veth peer name veth1 &&
    ip addr add "$HOST_ADDR/24" dev veth0 &&
    ip addr add "$PEER_ADDR/24" dev veth1 &&
    ip link set veth0 up &&
    ip link set veth1 up
}

port_active() { grep -q ACTIVE "/sys/class/infiniband/$DEV/ports/1/state" 2>/dev/null; }

# Index of the RoCE v2 GID that carries HOST_ADDR (IPv4-mapped); it differs
# between kernels, so it is looked up, never assumed.
ipv4_gid_index() {
  local port=/sys/class/infiniband/$DEV/ports/1 want gid i
  # shellcheck disable=SC2086 # split the dotted quad into four numbers
  want=$(IFS=.; printf '0000:0000:0000:0000:0000:ffff:%02x%02x:%02x%02x' $HOST_ADDR)
  for gid in "$port"/gids/*; do
    i=${gid##*/}
    [[ $(cat "$gid") == "$want" ]] || continue
    [[ $(cat "$port/gid_attrs/types/$i" 2>/dev/null) == "RoCE v2" ]] || continue
    echo "$i"
    return 0
  done
  return 1
}

# wait_for SECONDS CMD...: poll CMD until it succeeds or about SECONDS pass.
wait_for() {
  local end=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS <= end)) || return 1
    sleep 0.1
  done
}

setup_rxe() {
  modprobe -a rdma_rxe ib_uverbs rdma_ucm veth || infra "modprobe rdma_rxe ib_uverbs rdma_ucm veth failed"
  log "modules loaded"
  setup_veth || infra "veth pair setup failed"
  rdma link add "$DEV" type rxe netdev veth0 || infra "rdma link add $DEV failed"
  log "$DEV added"
  wait_for 20 port_active || infra "$DEV port 1 did not become ACTIVE"
  wait_for 20 ipv4_gid_index >/dev/null || infra "$DEV has no RoCE v2 GID for $HOST_ADDR"
  GID_INDEX=$(ipv4_gid_index)
  log "$DEV ACTIVE on veth0 ($HOST_ADDR), RoCE v2 IPv4 GID index $GID_INDEX"
}

gone() { ! kill -0 "$1" 2>/dev/null; }

# Processes that COMMAND leaves running hold its output pipe open, so the
# guest would never stop: give them a moment, then end them (kill -1 from
# PID 1 reaches every process but PID 1; the output reader ignores TERM).
end_leftovers() {
  local reader=$1 signal
  for signal in TERM KILL; do
    wait_for 5 gone "$reader" && return 0
    log "ending what the command left running (SIG$signal)"
    kill "-$signal" -1 2>/dev/null
  done
  wait_for 5 gone "$reader"
}

# Through a pipe, so the command sees what it would see under CI, not a tty.
run_command() {
  local fifo=/run/softroce-output reader rc
  mkfifo "$fifo"
  (trap '' TERM && exec cat <"$fifo" >/dev/ttyS1) &
  reader=$!
  (
    # shellcheck source=/dev/null
    . "$RUN/env.sh" # variables passed through from the host
    export FABRIC_TEST_HOST=$HOST_ADDR FABRIC_TEST_DEVICE=$DEV FABRIC_TEST_GID_INDEX=$GID_INDEX
    ulimit -l unlimited
    exec bash -c "$SOFTROCE_CMD"
  ) </dev/null >"$fifo" 2>&1
  rc=$?
  end_leftovers "$reader"
  return "$rc"
}

main() {
  log "init"
  mount_basics || infra "cannot mount /lib/modules, /tmp, /dev/shm or /dev/pts"
  mount_checkout || infra "cannot mount the checkout at $SOFTROCE_ROOT (9p tag softroce-checkout)"
  hostname softroce-guest
  setup_rxe
  cd "$SOFTROCE_ROOT" || infra "cannot enter $SOFTROCE_ROOT"
  stty -F /dev/ttyS1 raw -echo 115200 || infra "cannot set up ttyS1"
  echo "ready $(cut -d' ' -f1 /proc/uptime)" >"$RUN/timing"
  log "running: $SOFTROCE_CMD"
  run_command
  local rc=$?
  echo "done $(cut -d' ' -f1 /proc/uptime)" >>"$RUN/timing"
  log "command exited with $rc"
  echo "$rc" >"$RUN/status"
  halt
}

main
