#!/usr/bin/env bash
# Bounded fuzzing, run by scripts/test.sh (issue 14): every fuzz target of
# the main module for FUZZTIME each (default 1s; go test replays their
# seed corpora in the normal suite), then the mutation harness
# (scripts/mutate) on MUTATIONS mutations per format (default 10) through
# `deepclust run` and `deepclust predict`. A failing fuzz input is saved
# under the package's testdata/fuzz/ by go test. Minimising each new
# input is capped (-fuzzminimizetime): by default it takes up to 60 s,
# which would spend the whole budget on the first interesting input.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-1s}"
mutations="${MUTATIONS:-10}"
start=$SECONDS
# "package FuzzName" for each target of the main module's packages.
targets=$(go list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r pkg dir; do
  grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed "s#^func #$pkg #" || true
done | sort -u)
n=0
while read -r pkg name; do
  [ -n "$pkg" ] || continue
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" -fuzzminimizetime 100x -parallel 2 "$pkg" >/tmp/fuzz.$$.log 2>&1 || {
    # go test's fuzzing coordinator reports "context deadline exceeded" when
    # -fuzztime ends while it is still handling a new interesting input; that
    # is no failing input (none is written), so it does not fail the run.
    if grep -q 'context deadline exceeded' /tmp/fuzz.$$.log && ! grep -q 'Failing input written' /tmp/fuzz.$$.log; then
      echo "note: $pkg $name: the fuzz time ended during a new input (context deadline exceeded), no failing input"
      n=$((n + 1))
      continue
    fi
    cat /tmp/fuzz.$$.log
    rm -f /tmp/fuzz.$$.log
    echo "fuzzing $pkg $name failed"
    exit 1
  }
  n=$((n + 1))
done <<<"$targets"
rm -f /tmp/fuzz.$$.log
echo "fuzzed $n targets for $fuzztime each ($((SECONDS - start)) s)"
log=$(mktemp)
if ! DEEPCLUST_MUTATIONS="$mutations" go test -count=1 -run '^TestMutations$' -v ./scripts/mutate/ >"$log" 2>&1; then
  cat "$log"
  rm -f "$log"
  echo "mutation harness failed"
  exit 1
fi
awk '/mutations per format/ {on = 1} /refused:|^--- / {on = 0} on && NF' "$log" | sed 's/^ *//'
rm -f "$log"
echo "fuzzing and mutations: $((SECONDS - start)) s"
