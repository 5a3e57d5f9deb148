#!/bin/bash
# Proof that the lab can run LVS: hand-made LVS-DR (director, rs1, rs2, client) in systemd containers
# on an internal network, plus ipip and arptables mangle checks. Needs only `lab/lab.sh up`.
# Exits non-zero unless the client's answers alternate between rs1 and rs2.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
# The engine chosen by `lab/lab.sh up` wins over an inherited DOCKER_HOST.
if [ -f "$LAB_RUN/env" ]; then . "$LAB_RUN/env"; fi
[ -n "${DOCKER_HOST:-}" ] || die "run lab/lab.sh up first"
export DOCKER_HOST
IMAGE=${LVS_LAB_IMAGE:-lvs-lab/debian:12}
NET=lvs-selftest P=lvs-st- VIP=192.0.2.100
declare -A IP=([director]=192.0.2.10 [rs1]=192.0.2.11 [rs2]=192.0.2.12 [client]=192.0.2.20)

cleanup() {
  docker rm -f "${P}director" "${P}rs1" "${P}rs2" "${P}client" >/dev/null 2>&1 || true
  docker network rm "$NET" >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
t0=$SECONDS
docker network create --internal --subnet 192.0.2.0/24 "$NET" >/dev/null
for h in director rs1 rs2 client; do
  docker run -d --name "$P$h" --hostname "$h" --network "$NET" --ip "${IP[$h]}" \
    --privileged --cgroupns host -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /tmp \
    "$IMAGE" >/dev/null
done
log "4 containers started in $((SECONDS - t0))s"

wait_systemd() { # right after `docker run` systemd may not answer on its bus yet: retry
  local state
  for _ in $(seq 60); do
    state=$(docker exec "$1" timeout 90 systemctl is-system-running --wait 2>&1 || true)
    case $state in running|degraded) echo "$state"; return 0 ;; esac
    sleep 1
  done
  echo "$state"; return 1
}
for h in director rs1 rs2 client; do   # systemd must be up (nginx is started by it)
  state=$(wait_systemd "$P$h") || die "$h: systemd not running: $state"
  log "$h: systemd $state"
done
docker exec "${P}director" systemctl --failed --no-legend || true

log "configure LVS-DR by hand"
docker exec "${P}director" sh -ec "
  ip addr add $VIP/32 dev eth0
  ipvsadm -A -t $VIP:80 -s rr
  ipvsadm -a -t $VIP:80 -r ${IP[rs1]}:80 -g
  ipvsadm -a -t $VIP:80 -r ${IP[rs2]}:80 -g"
for h in rs1 rs2; do
  docker exec "$P$h" sh -ec "
    ip addr add $VIP/32 dev lo
    sysctl -q -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
      net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2
    echo $h >/var/www/html/index.html
    systemctl is-active --quiet nginx"
done

check_round() { # check_round <mode>: 6 requests must alternate rs1/rs2; the director must send nothing back
  local answers stats prev="" n=0 a conns inpkts outpkts
  answers=$(docker exec "${P}client" sh -c "for i in 1 2 3 4 5 6; do curl -s --max-time 5 http://$VIP/ || echo FAIL; done")
  echo "$1 answers: $(echo $answers)"
  sleep 3   # this kernel folds per-CPU IPVS counters into the totals every 2 s
  stats=$(docker exec "${P}director" ipvsadm -Ln --stats)
  echo "$stats"
  for a in $answers; do
    case $a in rs1|rs2) ;; *) die "$1: bad answer: $a" ;; esac
    [ "$a" != "$prev" ] || die "$1: answers do not alternate"
    prev=$a n=$((n + 1))
  done
  [ "$n" -eq 6 ] || die "$1: expected 6 answers, got $n"
  read -r conns inpkts outpkts < <(echo "$stats" | awk '$1=="TCP"{print $3, $4, $5}')
  [ "$conns" -ge 6 ] && [ "$inpkts" -gt 0 ] || die "$1: director saw conns=$conns inpkts=$inpkts"
  [ "$outpkts" = 0 ] || die "$1: director OutPkts=$outpkts, expected 0 (replies bypass the director)"
}
check_round DR

log "switch to LVS-TUN (ipip): same real servers, VIP stays on lo"
docker exec "${P}director" sh -ec "
  ipvsadm -Z
  ipvsadm -e -t $VIP:80 -r ${IP[rs1]}:80 -i
  ipvsadm -e -t $VIP:80 -r ${IP[rs2]}:80 -i"
for h in rs1 rs2; do
  docker exec "$P$h" sh -ec "
    ip link set tunl0 up
    sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0"
done
check_round TUN
rx=$(docker exec "${P}rs1" cat /sys/class/net/tunl0/statistics/rx_packets)
echo "rs1 tunl0 rx_packets: $rx"
[ "$rx" -gt 0 ] || die "TUN: nothing arrived on rs1's tunl0"

log "arptables mangle in a container"
docker exec "${P}rs1" sh -ec "
  arptables -A OUTPUT -s $VIP -j mangle --mangle-ip-s ${IP[rs1]}
  arptables -L OUTPUT -n"
log "selftest passed in $((SECONDS - t0))s"
