#!/usr/bin/env bash
# Run Molecule scenarios against the lab engine (lab/lab.sh up wrote its DOCKER_HOST to .lab/env).
# Every scenario runs even when one fails; prints each one's wall time and a closing count.
#   scripts/molecule.sh [scenario ...]   (default: every scenario under molecule/ but shared)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
# shellcheck disable=SC1091
[ -f .lab/env ] && . .lab/env
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  for d in molecule/*/molecule.yml; do scenarios+=("$(basename "$(dirname "$d")")"); done
fi
mkdir -p .lab/logs
# A slow emulated VM answers the Docker API slowly; the docker modules' default is 60 s.
export DOCKER_TIMEOUT=${DOCKER_TIMEOUT:-300}

engine_ok() { timeout 30 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# run_scenario <name> <log>: molecule test, logged
run_scenario() { molecule test -s "$1" >"$2" 2>&1; }

passed=0 failed=0 summary=()
for s in "${scenarios[@]}"; do
  start=$SECONDS log=".lab/logs/molecule-$s.log" note="" result=ok
  echo "=== molecule test -s $s (log: $log)"
  if ! run_scenario "$s" "$log"; then
    result=FAILED
    if ! engine_ok; then
      # The engine itself stopped answering (the emulated VM's kernel can lock up): that is the lab
      # failing, not the scenario. Restart the lab and run the scenario once more, and say so.
      echo "!!! $s: the lab engine stopped answering; restarting the lab and retrying $s once"
      tail -n 20 .lab/vm/console.log 2>/dev/null || true
      mv "$log" "$log.hung"
      lab/lab.sh down && eval "$(lab/lab.sh up)"
      note=" (retried after a lab hang)"
      run_scenario "$s" "$log" && result=ok
    fi
  fi
  if [ "$result" = ok ]; then passed=$((passed + 1)); else failed=$((failed + 1)); tail -n 80 "$log"; fi
  # What the scenario measured: the distribution tables and the director's counters.
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^ *│ +"(  dr|  nat|  tun|  dra|web )|(InPkts|balanced as declared)|"(failover|client|keep-alive connection|web (down|up) on|answers while)|(sorry server in|preempt (True|False|true|false))' || true
  summary+=("$(printf '%-14s %-6s %5ss%s' "$s" "$result" $((SECONDS - start)) "$note")")
done
echo "=== molecule summary"
printf '%s\n' "${summary[@]}"
echo "molecule: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
