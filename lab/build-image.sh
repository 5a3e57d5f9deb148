#!/bin/bash
# Build the rootfs tar of one lvs-lab/debian:<release> container image: debootstrap minbase plus
# image-packages.txt, systemd as PID 1, slimmed. Usage: build-image.sh <11|12|13> <out.tar>
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$LAB_DIR/slim-rootfs.sh"
rel=$1 out=$2
suite=$(suite_name "$rel")
work=$(mktemp -d "$LAB_CACHE/tmp.image-$rel.XXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
pkgs=$(grep -v '^#' "$LAB_DIR/image-packages.txt" | xargs | tr ' ' ,)

log "image $rel: debootstrap $suite"
debootstrap --variant=minbase --include="$pkgs" "$suite" "$root" "$(lab_mirror)" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap $suite failed"; }

log "image $rel: configure"
# Services the roles must enable themselves: present but off.
chroot "$root" systemctl disable keepalived.service >/dev/null 2>&1 || true
chroot "$root" systemctl disable ipvsadm.service >/dev/null 2>&1 || true
chroot "$root" systemctl disable bird.service >/dev/null 2>&1 || true
# Units that fail or make no sense in a container (no udev, ttys, kernel mounts, timers).
chroot "$root" systemctl mask \
  getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
  systemd-modules-load.service systemd-remount-fs.service systemd-firstboot.service \
  sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
  sys-fs-fuse-connections.mount proc-sys-fs-binfmt_misc.automount systemd-binfmt.service \
  systemd-journald-audit.socket apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
  e2scrub_reap.service fstrim.timer >/dev/null 2>&1
chroot "$root" systemctl set-default multi-user.target >/dev/null 2>&1
# A non-root login with sudo, as on most fleets: scenarios connect as it to prove that become works.
chroot "$root" useradd --create-home --shell /bin/bash lvsadmin
printf 'lvsadmin ALL=(ALL) NOPASSWD: ALL\n' >"$root/etc/sudoers.d/lvsadmin"
chmod 0440 "$root/etc/sudoers.d/lvsadmin"
# Docker bind-mounts /etc/hostname, /etc/hosts and /etc/resolv.conf; ship neutral files, not the build host's.
rm -f "$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
: >"$root/etc/resolv.conf"
# Ansible's module runs keep their compiled module_utils (lvs_lab_pyc.py: compiling them again took about 1 s
# of each module run under the lab's emulated CPU).
for site in "$root"/usr/lib/python3.[0-9]*/; do
  v=$(basename "$site")
  mkdir -p "$root/usr/local/lib/$v/dist-packages"
  install -m 0644 "$LAB_DIR/lvs_lab_pyc.py" "$root/usr/local/lib/$v/dist-packages/lvs_lab_pyc.py"
  echo 'import lvs_lab_pyc' >"$root/usr/local/lib/$v/dist-packages/lvs_lab_pyc.pth"
done
# Empty machine-id: each container gets its own at boot instead of sharing one.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
slim_rootfs "$root"
rm -rf "${root:?}"/dev/* "$root"/tmp/* "$root"/run/* 2>/dev/null || true

log "image $rel: tar"
tar --numeric-owner --xattrs -C "$root" -cf "$work/out.tar" .
mv "$work/out.tar" "$out"
log "image $rel: done ($(du -h "$out" | cut -f1))"
