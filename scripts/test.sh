#!/usr/bin/env bash
# The whole test suite, step by step: every step runs, each one's time is printed, and the run fails
# when any step failed. Called by `make test` (which sets PATH and the collection tree up first).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
read -r -a steps <<<"${TEST_STEPS:-lint unit sanity build-check molecule}"
passed=0 failed=0 summary=()
for step in "${steps[@]}"; do
  echo "=== $step"
  start=$SECONDS
  if make --no-print-directory "$step"; then
    passed=$((passed + 1)); result=ok
  else
    failed=$((failed + 1)); result=FAILED
  fi
  summary+=("$(printf '%-12s %-6s %5ss' "$step" "$result" $((SECONDS - start)))")
done
echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "steps: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
