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
passed=0 failed=0 summary=()
for s in "${scenarios[@]}"; do
  start=$SECONDS
  echo "=== molecule test -s $s (log: .lab/logs/molecule-$s.log)"
  if molecule test -s "$s" >".lab/logs/molecule-$s.log" 2>&1; then
    passed=$((passed + 1)); result=ok
  else
    failed=$((failed + 1)); result=FAILED
    tail -n 60 ".lab/logs/molecule-$s.log"
  fi
  grep -E '^(TASK|ok|changed|fatal|failed)|lvs\.cluster\.verify|balanced|InPkts' ".lab/logs/molecule-$s.log" | grep -E 'msg|balanced|InPkts' | tail -n 8 || true
  summary+=("$(printf '%-14s %-6s %5ss' "$s" "$result" $((SECONDS - start)))")
done
echo "=== molecule summary"
printf '%s\n' "${summary[@]}"
echo "molecule: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
