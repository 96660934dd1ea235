#!/usr/bin/env bash
# The test suite: README's test command. Runs the main module's tests, the
# pure-Go (noasm) kernels, and the example plugin's own module.
set -euo pipefail
cd "$(dirname "$0")/.."
# The DuckDB interop test reads and writes Parquet with DuckDB's Node package.
# The Node.js plugin example (examples/node-loss) needs its npm packages for
# cmd/deepclust's tests, which build, check and train through it.
if command -v npm >/dev/null; then
  npm ci --no-audit --no-fund --prefix scripts/duckdb
  npm ci --no-audit --no-fund --prefix examples/node-loss
fi
go test -count=1 ./...
go test -count=1 -tags noasm ./internal/kernels/...
for mod in examples/*/go.mod; do
  [ -e "$mod" ] || continue
  (cd "$(dirname "$mod")" && go test -count=1 ./...)
done
