#!/usr/bin/env bash
# The test suite: README's test command. Runs the main module's tests, the
# pure-Go (noasm) kernels, and the nested modules (examples, deepclust-beam).
set -euo pipefail
cd "$(dirname "$0")/.."
# The DuckDB interop test reads and writes Parquet with DuckDB's Node package.
# The Node.js plugin example (examples/node-loss) needs its npm packages for
# cmd/deepclust's tests, which build, check and train through it.
if command -v npm >/dev/null; then
  npm ci --no-audit --no-fund --prefix scripts/duckdb
  npm ci --no-audit --no-fund --prefix examples/node-loss
fi
# internal/app renders report.html in headless Chromium (Debian's chromium
# package). Under CI (root on a fresh machine) it is installed when missing;
# elsewhere the test skips, saying so, when there is no Chromium.
if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null && ! command -v google-chrome >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium package for the report test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) ||
      echo "could not install chromium: the report test will skip (or fail under CI=true)"
  else
    echo "no Chromium and no root to install it: the report test will skip (or fail under CI=true)"
  fi
fi
go test -count=1 ./...
go test -count=1 -tags noasm ./internal/kernels/...
# Nested modules: the examples, and cmd/deepclust-beam (Apache Beam on
# Prism; its own module so that Beam stays out of deepclust's dependencies;
# its first compile takes several minutes on 2 cores).
for mod in examples/*/go.mod cmd/deepclust-beam/go.mod; do
  [ -e "$mod" ] || continue
  (cd "$(dirname "$mod")" && go test -count=1 ./...)
done
(cd cmd/deepclust-beam && go vet ./...)
# Each fuzz target for a second, and the mutation harness on a few
# mutations of each input format (scripts/fuzz.sh; under two minutes).
bash scripts/fuzz.sh
