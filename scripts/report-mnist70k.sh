#!/usr/bin/env bash
# Acceptance checks of the report and k: auto on a finished MNIST-70k run
# (issue 15): the report's size and time, and k auto (k_range 2–20) on the
# run's final embeddings with each clusterer's criterion.
#   bash scripts/report-mnist70k.sh RUN_DIR [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:?usage: report-mnist70k.sh RUN_DIR [OUT_DIR]}
out=${2:-/tmp/report-70k-check}
mkdir -p "$out"
go build -o "$out/deepclust" ./cmd/deepclust
dc="$out/deepclust"

echo "== deepclust report $run"
start=$(date +%s.%N)
nice -n 19 "$dc" report "$run" --out "$out/report.html"
end=$(date +%s.%N)
size=$(stat -c %s "$out/report.html")
echo "report: $size bytes ($(awk "BEGIN{printf \"%.2f\", $size/1e6}") MB), $(awk "BEGIN{printf \"%.1f\", $end-$start}") s (want < 5 MB, < 10 s)"

# k auto on the run's embedding column: identity encoder, no training.
for clu in gmm kmeans spectral; do
  cfg="$out/kauto-$clu.yaml"
  extra=""
  [ "$clu" = spectral ] && extra=$'\n    knn: 15'
  cat > "$cfg" <<YAML
progress: off
train: {pretrain_epochs: 0, epochs: 0}
encoder: {plugin: identity}
losses: []
clusterer:
  plugin: $clu
  config:
    k: auto
    k_range: [2, 20]$extra
YAML
  echo "== k auto, $clu"
  nice -n 19 "$dc" run --config "$cfg" --no-cache --no-report --data "$run/assignments.parquet" \
    --set data.features=embedding --set data.scale=none --out "$out/kauto-$clu" | tail -1
  python3 - "$out/kauto-$clu/metrics.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
s = m["k_selection"]
print(f'{s["criterion"]}: chose k = {s["k"]}; curve ' + ", ".join(f'{k}:{v:.4g}' for k, v in zip(s["ks"], s["values"])))
PY
done
