#!/usr/bin/env bash
# The test command: installs what the tests need, builds, runs every test, and ends with one
# "N passed, N failed, N skipped" line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
dotnet test CudaNn.sln -c Release "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

summary=$(grep -E '(Passed|Failed)! +- Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" | tail -n 1 || true)
if [ -z "$summary" ]; then
  echo "test.sh: dotnet test printed no summary (exit code $status)" >&2
  exit $(( status == 0 ? 1 : status ))
fi
failed=$(sed -E 's/.*Failed: +([0-9]+).*/\1/' <<<"$summary")
passed=$(sed -E 's/.*Passed: +([0-9]+).*/\1/' <<<"$summary")
skipped=$(sed -E 's/.*Skipped: +([0-9]+).*/\1/' <<<"$summary")
echo
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$passed" -eq 0 ]; then echo "test.sh: no test ran" >&2; exit 1; fi
exit "$status"
