#!/usr/bin/env bash
# ./farm test [dotnet test options, e.g. --filter X]
# Sets up, starts one throwaway set of services for the whole run (free ports, temp dir),
# runs every test project, and ends with one line: "N passed, N failed[, N skipped]".
# Exits non-zero on any failure, on a build failure, or when no test ran.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$FARM_ROOT/scripts/setup.sh"

# One set of services for the run. The trap stops it on every exit; --owner-pid makes it
# stop by itself even if this script is killed with SIGKILL.
svc_dir=$(mktemp -d "${TMPDIR:-/tmp}/farm-test-services.XXXXXX")
cleanup() { "$FARM_ROOT/scripts/services.sh" stop --dir "$svc_dir" --quiet || true; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
step "starting test services"
"$FARM_ROOT/scripts/services.sh" start --dir "$svc_dir" --auto-ports --ephemeral --owner-pid $$ --quiet
# The C# fixture (tests/Testing/TestServices.cs) reads these; FARM_* -> FARM_TEST_*.
while IFS='=' read -r key value; do
  [[ $key == FARM_* ]] && export "FARM_TEST_${key#FARM_}=$value"
done <"$svc_dir/services.env"

results="$FARM_STATE/test-results"
rm -rf "$results"
mkdir -p "$results"
step "running tests"
# Quiet-ish: per-project summaries and failures; VSTest's per-run chatter is dropped.
noise="^(Test run for |A total of [0-9]+ test files? matched|No test is available in |Data collector 'Blame' message|Results File: |Additionally, path to test adapters|\s*$)"
set +e
dotnet test "$FARM_ROOT/Farm.sln" -c Release --no-build --nologo \
  --results-directory "$results" --logger trx --logger "console;verbosity=minimal" \
  --blame-hang-timeout 10m "$@" 2>&1 | grep -Ev --line-buffered "$noise"
rc=${PIPESTATUS[0]}
set -e

# Sum the TRX counters of every project into the one closing line.
passed=0 failed=0 skipped=0 files=0
for trx in "$results"/*.trx "$results"/*/*.trx; do
  [[ -f $trx ]] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  get() { local v; v=$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"); echo "${v:-0}"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get total) - $(get executed)))   # xunit skips are not executed
done
if ((rc != 0 && failed == 0)); then
  say "farm: dotnet test exited with code $rc (a build error, crash or hang; see above)"
fi
if ((passed + failed == 0)); then
  say "farm: no test ran"
  rc=${rc/#0/1}
fi
line="$passed passed, $failed failed"
((skipped)) && line+=", $skipped skipped"
printf '%s\n' "$line"
((failed == 0)) || rc=${rc/#0/1}
exit "$rc"
