#!/bin/bash
# PID 1 of the lab VM (installed as /sbin/lab-init). No systemd: mount, load the modules that
# containers cannot load themselves, start dockerd, then wait for "poweroff" on /dev/ttyS1.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
say() { echo "lab-init: $*" >/dev/ttyS0; }

mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
hostname "$(cat /etc/hostname)"
say "mounted after $(cut -d' ' -f1 /proc/uptime)s"

# IPVS with every scheduler, ipip for TUN, arptables for DR real servers, what docker needs.
for m in virtio_net virtio_rng ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr \
         ip_vs_dh ip_vs_sh ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh ip_vs_twos ip_vs_ftp \
         ipip arp_tables arptable_filter arpt_mangle nf_tables nft_compat nf_conntrack \
         overlay br_netfilter bridge veth xt_physdev xt_conntrack xt_MASQUERADE xt_addrtype; do
  modprobe -q "$m" 2>/dev/null || say "module $m not available"
done

sysctl -q -w net.ipv4.ip_forward=1 \
  fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=524288 \
  kernel.pid_max=4194304 >/dev/null

ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0   # qemu user networking (restrict=on: only host forwards work)
ip route add default via 10.0.2.2

dockerd -H unix:///run/docker.sock -H tcp://0.0.0.0:2375 >/var/log/dockerd.log 2>&1 &
dockerd_pid=$!
for _ in $(seq 600); do [ -S /run/docker.sock ] && break; sleep 0.2; done
say "dockerd started after $(cut -d' ' -f1 /proc/uptime)s"
# Frames bridged between containers of one network skip docker's filter rules, so LVS-DR/TUN
# replies (source = VIP, possibly outside the subnet) pass; routed traffic stays isolated.
for _ in $(seq 300); do iptables -n -L DOCKER-USER >/dev/null 2>&1 && break; sleep 0.2; done
iptables -I DOCKER-USER -m physdev --physdev-is-bridged -j ACCEPT || say "DOCKER-USER rule failed"

# The host asks for a clean shutdown (needed when the disk is kept, i.e. the cold build).
stty -F /dev/ttyS1 raw -echo 2>/dev/null
while :; do
  read -r cmd </dev/ttyS1 || sleep 1
  [ "${cmd:-}" = poweroff ] && break
done
say "shutting down"
kill -TERM "$dockerd_pid"
for _ in $(seq 300); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.2; done
pkill -TERM containerd 2>/dev/null; sleep 1
sync
mount -o remount,ro / 2>/dev/null || sync
say "powering off"
echo o >/proc/sysrq-trigger
sleep 30
