#!/usr/bin/env bash
# Soft-RoCE test host: runs COMMAND in a throw-away qemu guest (Debian's stock
# kernel under TCG) that has a Soft-RoCE device, rxe0, for machines whose own
# kernel has no RDMA. See README.md beside this file.
#
#   test/softroce/run.sh [COMMAND...]   as root; default: ibv_devinfo -d rxe0
#
# COMMAND's words are joined with spaces and run by bash in the checkout, which
# the guest sees read-write at the same path. Exit status: COMMAND's; 124 when
# SOFTROCE_TIMEOUT ran out; 125 when the guest or rxe0 could not be set up.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
readonly HERE ROOT

SOFTROCE_DIR=${SOFTROCE_DIR:-/var/cache/fabric-softroce}
SOFTROCE_TIMEOUT=${SOFTROCE_TIMEOUT:-1500}
SOFTROCE_MEM=${SOFTROCE_MEM:-3072}
SOFTROCE_SMP=${SOFTROCE_SMP:-2}
SOFTROCE_PASS_ENV=${SOFTROCE_PASS_ENV:-}
SOFTROCE_KEEP=${SOFTROCE_KEEP:-0}

readonly PACKAGES=(qemu-system-x86 rdma-core ibverbs-utils ibverbs-providers rdmacm-utils perftest
  busybox-static iproute2 kmod cpio xz-utils libibverbs-dev librdmacm-dev)
readonly INITRAMFS_MODULES=(virtio_pci 9pnet_virtio 9p overlay)
# Under TCG the default clocksource (HPET) makes every clock read an emulated
# MMIO access, which slows boot and node by a third; TCG's TSC is coherent
# across vCPUs. Mitigations only cost time in a throw-away guest.
readonly KERNEL_ARGS="tsc=reliable clocksource=tsc mitigations=off"
readonly EXIT_TIMEOUT=124 EXIT_INFRA=125

START=$EPOCHREALTIME
RUN='' QEMU_PID='' TAIL_PID='' KEEP_RUN=0

log() { echo "softroce: $*" >&2; }

die() {
  log "error: $*"
  exit "$EXIT_INFRA"
}

usage() {
  sed -n '2,10s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
  exit 0
}

since() { awk -v a="$1" -v b="${2:-$EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }'; }

apt_get() { apt-get -q -o DPkg::Lock::Timeout=300 -o APT::Sandbox::User=root "$@" >&2; }

install_packages() {
  local missing=() pkg
  for pkg in "${PACKAGES[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null) == installed ]] || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  apt_get update
  DEBIAN_FRONTEND=noninteractive apt_get install -y --no-install-recommends "${missing[@]}"
}

# linux-image-amd64 is a metapackage; the kernel is its linux-image-<ver> dependency.
kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ && !n++ { print $2 }'
}

# Debian's stock kernel, unpacked under $SOFTROCE_DIR/kernel; kept until that is removed.
fetch_kernel() {
  KDIR=$SOFTROCE_DIR/kernel
  if [[ -f $KDIR/version ]]; then
    KVER=$(<"$KDIR/version")
    return
  fi
  local pkg tmp=$SOFTROCE_DIR/kernel.tmp
  pkg=$(kernel_package)
  [[ -n $pkg ]] || { apt_get update && pkg=$(kernel_package); }
  [[ -n $pkg ]] || die "cannot resolve linux-image-amd64 to a kernel package"
  KVER=${pkg#linux-image-}
  log "fetching $pkg"
  rm -rf "$tmp" && mkdir -p "$tmp/deb"
  (cd "$tmp/deb" && apt_get download "$pkg")
  dpkg -x "$tmp"/deb/*.deb "$tmp"
  rm -rf "$tmp/deb"
  # The .deb ships no modules.dep: its postinst would have made it.
  depmod -b "$tmp" "$KVER"
  extract_vmlinux "$tmp/boot/vmlinuz-$KVER" "$tmp/boot/vmlinux-$KVER" ||
    log "cannot unpack vmlinux; booting the compressed kernel (a few seconds slower)"
  echo "$KVER" >"$tmp/version"
  rm -rf "$KDIR" && mv "$tmp" "$KDIR"
}

# The uncompressed kernel boots through PVH and skips the guest-side xz
# decompression, which takes seconds under TCG. Offsets: the bzImage boot
# protocol header (setup_sects at 0x1f1, payload_offset/length at 0x248).
extract_vmlinux() {
  local setup off len
  setup=$(od -An -tu1 -j $((0x1f1)) -N1 "$1")
  off=$(od -An -tu4 -j $((0x248)) -N4 "$1")
  len=$(od -An -tu4 -j $((0x24c)) -N4 "$1")
  if dd if="$1" iflag=skip_bytes,count_bytes skip=$(((setup + 1) * 512 + off)) count="$len" bs=1M status=none |
    xz -dc --single-stream >"$2" 2>/dev/null && [[ $(head -c 4 "$2") == $'\x7fELF' ]]; then
    return 0
  fi
  rm -f "$2"
  return 1
}

# The initramfs drivers, in load order.
initramfs_modules() {
  local mod
  for mod in "${INITRAMFS_MODULES[@]}"; do
    modprobe -d "$KDIR" -S "$KVER" --show-depends "$mod"
  done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }'
}

# A busybox initramfs that only gets the guest onto the 9p root; named by a
# hash of its inputs so that a change to any of them rebuilds it.
build_initramfs() {
  local key tree=$SOFTROCE_DIR/initramfs.tmp ko
  key=$({ echo "$KVER" && cat "$HERE/initramfs-init.sh" /bin/busybox; } | sha256sum | cut -c1-16)
  INITRD=$SOFTROCE_DIR/initramfs-$key.cpio.gz
  [[ -f $INITRD ]] && return
  log "building the initramfs"
  rm -rf "$tree" && mkdir -p "$tree"/{bin,dev,modules,proc,sys}
  cp /bin/busybox "$tree/bin/busybox"
  install -m 755 "$HERE/initramfs-init.sh" "$tree/init"
  initramfs_modules | while read -r ko; do
    cp "$ko" "$tree/modules/"
    basename "$ko"
  done >"$tree/modules/order"
  (cd "$tree" && find . | cpio -o -H newc --quiet | gzip -1) >"$INITRD.tmp"
  rm -rf "$tree" "$SOFTROCE_DIR"/initramfs-*.cpio.gz
  mv "$INITRD.tmp" "$INITRD"
}

# Setup shares $SOFTROCE_DIR between concurrent runs, hence the lock.
prepare() {
  local t0=$EPOCHREALTIME lock
  mkdir -p "$SOFTROCE_DIR"
  SOFTROCE_DIR=$(cd "$SOFTROCE_DIR" && pwd -P) # the guest sees it at this path
  exec {lock}>"$SOFTROCE_DIR/.lock"
  flock "$lock"
  install_packages
  fetch_kernel
  build_initramfs
  exec {lock}>&-
  log "prepared in $(since "$t0") s (kernel $KVER)"
}

# Host variables the guest command gets: FABRIC_*, CI, PATH and SOFTROCE_PASS_ENV.
passed_env() {
  local extra=" ${SOFTROCE_PASS_ENV//,/ } " name
  for name in $(compgen -e); do
    [[ $name == FABRIC_* || $name == CI || $name == PATH || $extra == *" $name "* ]] || continue
    printf 'export %s=%q\n' "$name" "${!name}"
  done
}

# The run directory is the guest's /run/softroce: its init script and
# settings in, its exit status, logs and timings out.
prepare_run() {
  mkdir -p "$SOFTROCE_DIR/runs"
  # Logs of failed runs are kept; a week is enough.
  find "$SOFTROCE_DIR/runs" -mindepth 1 -maxdepth 1 -mtime +7 -exec rm -rf {} +
  RUN=$(mktemp -d "$SOFTROCE_DIR/runs/XXXXXXXX")
  install -m 755 "$HERE/guest-init.sh" "$RUN/guest-init.sh"
  {
    printf 'SOFTROCE_ROOT=%q\n' "$ROOT"
    printf 'SOFTROCE_KMODDIR=%q\n' "$KDIR/lib/modules/$KVER"
    printf 'SOFTROCE_CMD=%q\n' "$COMMAND"
  } >"$RUN/guest.conf"
  passed_env >"$RUN/env.sh"
  : >"$RUN/output.log"
}

kernel_image() {
  local elf=$KDIR/boot/vmlinux-$KVER
  [[ -f $elf ]] && echo "$elf" || echo "$KDIR/boot/vmlinuz-$KVER"
}

# qemu option values escape a comma by doubling it.
qarg() { echo "${1//,/,,}"; }

# 9p shares: the host root read-only (the guest's lower layer), the checkout
# and the run directory read-write. No network card at all.
qemu_args() {
  # shellcheck disable=SC2054 # qemu's own option syntax is comma-separated
  QEMU_ARGS=(
    -accel tcg,thread=multi -cpu max -smp "$SOFTROCE_SMP" -m "$SOFTROCE_MEM"
    -nodefaults -no-user-config -display none -nic none -no-reboot
    -pidfile "$RUN/qemu.pid" -kernel "$(kernel_image)" -initrd "$INITRD"
    -append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init $KERNEL_ARGS"
    -chardev "file,id=console,path=$(qarg "$RUN/console.log")" -serial chardev:console
    -chardev "file,id=output,append=on,path=$(qarg "$RUN/output.log")" -serial chardev:output
    -device isa-debug-exit,iobase=0xf4,iosize=0x04
    -fsdev local,id=hostroot,path=/,readonly=on,security_model=none,multidevs=remap
    -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot
    -fsdev "local,id=checkout,path=$(qarg "$ROOT"),security_model=none,multidevs=remap"
    -device virtio-9p-pci,fsdev=checkout,mount_tag=softroce-checkout
    -fsdev "local,id=run,path=$(qarg "$RUN"),security_model=none"
    -device virtio-9p-pci,fsdev=run,mount_tag=softroce-run
  )
}

# Boots the guest in the time left and streams COMMAND's output (ttyS1) to
# stdout. timeout(1) runs in its own process group, so it still kills qemu
# if this script is killed outright.
boot_guest() {
  local left
  left=$(awk -v s="$SOFTROCE_TIMEOUT" -v u="$(since "$START")" 'BEGIN { printf "%d", s - u }')
  ((left > 0)) || die "SOFTROCE_TIMEOUT ($SOFTROCE_TIMEOUT s) ran out before the guest booted"
  qemu_args
  log "booting the guest (TCG, $SOFTROCE_SMP vCPUs, $SOFTROCE_MEM MiB, ${left} s left): $COMMAND"
  BOOT_T0=$EPOCHREALTIME
  timeout --kill-after=10 "$left" qemu-system-x86_64 "${QEMU_ARGS[@]}" </dev/null >"$RUN/qemu.log" 2>&1 &
  QEMU_PID=$!
  tail -n +1 -s 0.2 -f --pid="$QEMU_PID" "$RUN/output.log" &
  TAIL_PID=$!
  QEMU_RC=0
  wait "$QEMU_PID" || QEMU_RC=$?
  QEMU_PID=
  wait "$TAIL_PID" || true
  TAIL_PID=
}

show_logs() {
  local f
  for f in console.log qemu.log; do
    [[ -s $RUN/$f ]] || continue
    echo "---- $RUN/$f (last 40 lines)"
    tail -n 40 "$RUN/$f" | tr -d '\r'
  done >&2
}

timings() {
  local ready finished
  ready=$(awk '$1 == "ready" { print $2 }' "$RUN/timing" 2>/dev/null)
  finished=$(awk '$1 == "done" { print $2 }' "$RUN/timing" 2>/dev/null)
  echo "guest ready ${ready:-?} s after boot, command $(awk -v a="$ready" -v b="$finished" \
    'BEGIN { printf "%.1f", b - a }') s, qemu $(since "$BOOT_T0") s, total $(since "$START") s"
}

report() {
  if ((QEMU_RC == EXIT_TIMEOUT || QEMU_RC == 137)); then
    KEEP_RUN=1
    show_logs
    log "error: timed out after SOFTROCE_TIMEOUT=$SOFTROCE_TIMEOUT s; the guest was killed"
    exit "$EXIT_TIMEOUT"
  fi
  if [[ -f $RUN/status ]]; then
    local status
    status=$(<"$RUN/status")
    [[ $status =~ ^[0-9]+$ ]] || die "the guest wrote a bad exit status: $status"
    log "command exited with $status; $(timings)"
    exit "$status"
  fi
  KEEP_RUN=1
  show_logs
  die "$(cat "$RUN/infra" 2>/dev/null || echo "the guest stopped before the command finished (qemu exit $QEMU_RC)")"
}

# Leaves no qemu behind: timeout(1) hands the TERM on to qemu; KILL if it lingers.
# shellcheck disable=SC2317 # reached through the EXIT trap
stop_guest() {
  [[ -n $QEMU_PID ]] || return 0
  kill -TERM "$QEMU_PID" 2>/dev/null || true
  local _
  for _ in {1..50}; do
    kill -0 "$QEMU_PID" 2>/dev/null || break
    sleep 0.1
  done
  local pid
  pid=$(cat "$RUN/qemu.pid" 2>/dev/null) || true
  if [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == qemu-system-* ]]; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  kill -KILL "$QEMU_PID" 2>/dev/null || true
  wait "$QEMU_PID" 2>/dev/null || true
}

# shellcheck disable=SC2317 # the EXIT trap
cleanup() {
  local rc=$?
  trap - ERR
  stop_guest
  [[ -z $TAIL_PID ]] || kill "$TAIL_PID" 2>/dev/null || true
  if [[ -n $RUN ]]; then
    if ((KEEP_RUN || SOFTROCE_KEEP)); then log "logs kept in $RUN"; else rm -rf "$RUN"; fi
  fi
  exit "$rc"
}

main() {
  [[ ${1:-} == -h || ${1:-} == --help ]] && usage
  ((EUID == 0)) || die "must run as root (it installs packages and runs qemu)"
  COMMAND=${*:-ibv_devinfo -d rxe0}
  prepare
  prepare_run
  boot_guest
  report
}

trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM
trap 'die "line $LINENO: $BASH_COMMAND failed"' ERR
main "$@"
