#!/usr/bin/env bash
# `make demo`: a demo LVS-DR cluster (molecule/demo) in the lab, deployed by playbooks/site.yml, then the
# answers per real server through the VIP and the director's IPVS counters.
#   scripts/demo.sh        create + converge + show (the cluster stays up)
#   scripts/demo.sh down   remove it
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. .lab/env
if [ "${1:-}" = down ]; then
  exec molecule destroy -s demo
fi
molecule create -s demo
molecule converge -s demo
molecule verify -s demo
echo "demo cluster is up (DOCKER_HOST=$DOCKER_HOST); try: docker exec demo-client curl -s http://192.0.2.232/"
echo "remove it with: make demo-down"
