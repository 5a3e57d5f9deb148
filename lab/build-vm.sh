#!/bin/bash
# Build the lab VM: Debian bookworm cloud kernel (has IP_VS, ipip), a tiny busybox initrd that only
# mounts the virtio root disk, and an ext4 root image (docker.io, lab-init as PID 1).
# Usage: build-vm.sh <outdir>   -> outdir/{vmlinuz,initrd.gz,root.img}
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$LAB_DIR/slim-rootfs.sh"
out=$1
mkdir -p "$LAB_CACHE"
work=$(mktemp -d "$LAB_CACHE/tmp.vm.XXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mirror=$(lab_mirror)
pkgs=$(grep -v '^#' "$LAB_DIR/vm-packages.txt" | xargs | tr ' ' ,)

log "vm: debootstrap $VM_SUITE ($pkgs)"
debootstrap --variant=minbase --include="$pkgs" "$VM_SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

log "vm: kernel"
# Fetch the kernel with the new system's own apt so kernel and userland come from the same suite.
echo "deb $mirror $VM_SUITE main" >"$root/etc/apt/sources.list"
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" apt-get -q -o Acquire::Languages=none update >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; die "apt-get update"; }
kpkg=$(chroot "$root" apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
[ -n "$kpkg" ] || die "no linux-image-*-cloud-amd64 package found"
chroot "$root" sh -c "cd /tmp && apt-get -q download $kpkg" >>"$work/apt.log" 2>&1
dpkg-deb -x "$root"/tmp/"$kpkg"_*.deb "$work/kernel"
kver=${kpkg#linux-image-}
cp -a "$work/kernel/lib/modules" "$root/lib/"
chroot "$root" depmod "$kver"   # the host may lack kmod; the VM has it
mkdir -p "$out.tmp"
cp "$work/kernel/boot/vmlinuz-$kver" "$out.tmp/vmlinuz"
rm -f "$root"/tmp/*.deb "$root/etc/apt/sources.list"

log "vm: initrd"
ird=$work/initrd
mkdir -p "$ird"/{bin,proc,sys,dev,newroot,lib/modules}
cp "$root/bin/busybox" "$ird/bin/busybox"
# virtio_blk and virtio_pci are modules in this kernel; ext4 is built in.
chroot "$root" modprobe -a -S "$kver" --show-depends virtio_pci virtio_blk |
  awk '$1=="insmod"{print $2}' | sed "s|^$root||" >"$work/mods"
while read -r m; do cp "$root$m" "$ird/lib/modules/"; basename "$m"; done <"$work/mods" | awk '!seen[$0]++' >"$ird/modules.order"
cat >"$ird/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.order); do insmod /lib/modules/$m; done
i=0; while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
mount -t ext4 -o rw /dev/vda /newroot || { echo "lab initrd: cannot mount /dev/vda"; poweroff -f; }
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/lab-init
EOF
chmod +x "$ird/init"
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp/initrd.gz"

log "vm: configure rootfs"
install -m 0755 "$LAB_DIR/vm-init.sh" "$root/sbin/lab-init"
mkdir -p "$root/etc/docker"
# crun, not runc: every module run and test command is a docker exec, and under emulation runc's Go start-up costs
# half as much again of the VM's CPU per exec (lab/README.md).
cat >"$root/etc/docker/daemon.json" <<'EOF'
{
  "default-runtime": "crun",
  "runtimes": {"crun": {"path": "/usr/bin/crun"}},
  "storage-driver": "overlay2",
  "iptables": true,
  "userland-proxy": false,
  "log-driver": "json-file",
  "log-opts": {"max-size": "1m"}
}
EOF
echo lvs-lab >"$root/etc/hostname"
: >"$root/etc/resolv.conf"    # nothing outside the lab is reachable anyway
: >"$root/etc/machine-id"
slim_rootfs "$root"
rm -rf "${root:?}"/boot/* "$root"/tmp/* "$root"/var/cache/apt/archives/partial

log "vm: root image"
# One disk holds the system and /var/lib/docker; the cold build imports the images into it once.
truncate -s 16G "$out.tmp/root.img"
mkfs.ext4 -q -F -L labroot -E lazy_itable_init=0,lazy_journal_init=0 -d "$root" "$out.tmp/root.img"
echo "$kver" >"$out.tmp/kernel-version"
rm -rf "$out"; mv "$out.tmp" "$out"
log "vm: done (kernel $kver, rootfs $(du -sh --apparent-size "$root" | cut -f1))"
