#!/usr/bin/env bash
# `make bench`: the ipvs module benchmark (bench/ipvs_bench.py) against a throwaway privileged container
# in the lab. The container has no network at all: it only needs its own IPVS table.
#   scripts/bench.sh [bench/ipvs_bench.py options, e.g. --services 100]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
. .lab/env
name=lvs-bench
work=$(mktemp -d)
trap 'docker rm -f "$name" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
docker rm -f "$name" >/dev/null 2>&1 || true
docker run -d --name "$name" --privileged --network none "lvs-lab/debian:${LVS_LAB_DEBIAN:-12}" sleep infinity >/dev/null
printf '%s ansible_connection=community.docker.docker ansible_python_interpreter=/usr/bin/python3\n' "$name" >"$work/hosts"
bench/ipvs_bench.py -i "$work/hosts" -H "$name" "$@"
