#!/usr/bin/env bash
# Analysis benchmark: fairage's full analysis (1,000,000 predictions,
# gender, ethnicity, age_group and gender×ethnicity, 1000 stratified
# bootstrap resamples) against fairlearn's MetricFrame with n_boot on the
# same data in the same run, then the fairlearn cross-check on 100,000 rows.
# fairlearn at n_boot=1000 would take hours, so it runs at N_BOOT (default
# 3) and summarize.py extrapolates linearly (printed with the arithmetic).
#
#   bench/analysis/run.sh            # N=1000000 RESAMPLES=1000 N_BOOT=3
#   N=100000 N_BOOT=2 bench/analysis/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
N=${N:-1000000}
RESAMPLES=${RESAMPLES:-1000}
N_BOOT=${N_BOOT:-3}
py=build/venv/bin/python
out=build/bench-analysis
if ! "$py" -c "import fairlearn, pandas" 2>/dev/null; then
  echo "run.sh: $py lacks fairlearn/pandas; run scripts/venv.sh first" >&2
  exit 1
fi
mkdir -p "$out"
go build -o "$out/analysisbench" ./bench/analysis
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$out/analysisbench" gen -n "$N" -out "$out"
"$out/analysisbench" analyze -in "$out/predictions.arrow" -resamples "$RESAMPLES" | tee "$out/go.json"
(cd bench/analysis && "$root/$py" fairlearn_bench.py "$root/$out/predictions.csv" --n-boot "$N_BOOT") | tee "$out/fairlearn.json"
"$py" bench/analysis/summarize.py "$out/go.json" "$out/fairlearn.json"

check=build/fairlearn-check
mkdir -p "$check"
"$out/analysisbench" gen -n 100000 -seed 7 -out "$check"
"$out/analysisbench" analyze -in "$check/predictions.arrow" -resamples 0 >/dev/null
(cd bench/analysis && "$root/$py" fairlearn_check.py "$root/$check/predictions.csv" "$root/$check/metrics.csv")
