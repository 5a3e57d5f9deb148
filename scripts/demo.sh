#!/usr/bin/env bash
# `make demo`: a demo LVS-DR cluster (molecule/demo) in the lab, deployed by playbooks/site.yml, then a short
# summary: answers per real server through the VIP, the director's IPVS table, how to reach and remove it.
# Molecule's full output goes to .lab/logs/demo.log.
#   scripts/demo.sh        create + converge + verify + summary (the cluster stays up)
#   scripts/demo.sh status the status view of it (lvs.cluster.status)
#   scripts/demo.sh down   remove it
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. .lab/env
log=.lab/logs/demo.log
vip=192.0.2.232
mkdir -p .lab/logs
if [ "${1:-}" = status ]; then
  exec molecule side-effect -s demo
fi
if [ "${1:-}" = down ]; then
  molecule destroy -s demo >"$log" 2>&1 || { tail -n 30 "$log"; echo "demo-down failed; full log: $log"; exit 1; }
  echo "demo cluster removed"
  exit 0
fi

: >"$log"
step() {  # step <what> <molecule action>
  local start=$SECONDS
  printf '%-44s' "$1 ..."
  if molecule "$2" -s demo >>"$log" 2>&1; then
    echo " done ($((SECONDS - start)) s)"
  else
    echo " FAILED"
    tail -n 40 "$log"
    echo "the demo failed at '$2'; full log: $log"
    exit 1
  fi
}
step "starting the containers" create
step "building the cluster with lvs.cluster.site" converge
step "checking it (table, host state, traffic)" verify

# 60 requests through the VIP, counted per answering real server, next to the weights in the director's table.
answers=$(docker exec demo-client sh -c "for i in \$(seq 60); do curl -s --max-time 2 http://$vip/ || echo '(no answer)'; echo; done" \
          | { grep -v '^$' || true; } | sort | uniq -c)
table=$(docker exec demo-director ipvsadm -L -n)
cat <<SUMMARY

lvs.cluster demo: LVS-DR, 1 director (demo-director), 2 real servers running nginx (demo-rs1, demo-rs2), 1 client.
Full Molecule output: $log

60 requests to http://$vip/ from demo-client, answers per real server (weights 1 and 2):
$(echo "$answers" | awk '{ n = $1; $1 = ""; printf "  %-14s %3d answers\n", substr($0, 2), n }')

The director's IPVS table (ipvsadm -L -n on demo-director):
$(echo "$table" | sed 's/^/  /')

Try it:      DOCKER_HOST=$DOCKER_HOST docker exec demo-client curl -s http://$vip/
The table:   DOCKER_HOST=$DOCKER_HOST docker exec demo-director ipvsadm -L -n --stats
Status:      make demo-status   (lvs.cluster.status: directors, services, real servers, problems)
Remove it:   make demo-down
SUMMARY
