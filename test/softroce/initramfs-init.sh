#!/bin/busybox sh
# /init of the guest's initramfs (busybox-static only). Builds the guest root
# from the host's / (9p, read-only) under a tmpfs overlay, mounts the run
# directory at /run/softroce, and hands over to the guest-init.sh found there.
/bin/busybox --install -s /bin
export PATH=/bin

# isa-debug-exit (port 0xf4) makes qemu exit at once; sysrq is the fallback.
halt() {
  printf '\021' | dd of=/dev/port bs=1 seek=244 count=1 conv=notrunc 2>/dev/null
  echo o >/proc/sysrq-trigger
  sleep 60
}
die() {
  echo "softroce-initramfs: $*"
  halt
}
mounted() { grep -q " $1 " /proc/mounts; } # busybox has no mountpoint applet

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

# virtio, 9p and overlay are modules in Debian's kernel.
while read -r ko; do
  insmod "/modules/$ko" || die "insmod $ko failed"
done </modules/order

mkdir -p /lower /rw /newroot
# The 9p device can show up a moment after its driver loads.
for _ in 1 2 3 4 5 6 7 8 9 10; do
  mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /lower 2>/dev/null && break
  sleep 0.5
done
mounted /lower || die "cannot mount the host root (9p tag hostroot)"

mount -t tmpfs -o mode=755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot ||
  die "cannot mount the overlay root"

mount -t tmpfs -o mode=755 tmpfs /newroot/run
mkdir -p /newroot/run/softroce
mount -t 9p -o trans=virtio,version=9p2000.L,cache=none,msize=512000 softroce-run /newroot/run/softroce ||
  die "cannot mount the run directory (9p tag softroce-run)"
[ -x /newroot/run/softroce/guest-init.sh ] || die "guest-init.sh missing from the run directory"

for d in proc sys dev; do mount --move "/$d" "/newroot/$d"; done
exec switch_root /newroot /run/softroce/guest-init.sh
