#!/usr/bin/env bash
# pipeline audit on the analysis benchmark's table: N generated predictions
# (bench/analysis gen), gender, ethnicity, age_group and gender×ethnicity,
# RESAMPLES bootstrap resamples with the age-adjusted scores (on by
# default), no permutation tests (as the analysis row of BENCHMARKS.md).
# The whole command is timed: reading the table, the analysis, the
# notebook copies and the report. Then analysisbench analyze on the same
# rows in the same run, with and without the age-adjusted scores (without
# is the configuration of BENCHMARKS.md's analysis row), for the ratios.
#
#   bash bench/analysis/audit.sh                  # N=1000000 RESAMPLES=1000, CSV and Arrow input
#   N=100000 RESAMPLES=200 bash bench/analysis/audit.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
N=${N:-1000000}
RESAMPLES=${RESAMPLES:-1000}
out=build/bench-audit
mkdir -p "$out"
go build -o "$out/pipeline" ./cmd/pipeline
go build -o "$out/analysisbench" ./bench/analysis
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
if [ ! -f "$out/n-$N" ]; then
  "$out/analysisbench" gen -n "$N" -out "$out"
  touch "$out/n-$N"
fi
for input in predictions.csv predictions.arrow; do
  rm -rf "$out/runs"
  /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KiB peak RSS" -o "$out/time.txt" \
    "$out/pipeline" audit "$out/$input" --runs "$out/runs" --name audit --id id \
      --attributes gender,ethnicity,age_group --intersections 'gender*ethnicity' \
      --set analysis.bootstrap.resamples="$RESAMPLES" --set analysis.permutation.resamples=0 \
      --set analysis.age_adjust.enabled=true >"$out/audit.log" 2>&1 || { cat "$out/audit.log"; exit 1; }
  stages=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(", ".join("%s %.1f s" % (s["name"], s.get("duration_s", 0)) for s in m["stages"] if s["status"] == "ran"))' "$out/runs/audit/manifest.json")
  echo "pipeline audit $input ($N rows, $RESAMPLES resamples, age-adjusted): $(cat "$out/time.txt"); $stages"
done
/usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KiB peak RSS" -o "$out/time.txt" \
  "$out/analysisbench" analyze -in "$out/predictions.arrow" -resamples "$RESAMPLES" -age-adjust=true >"$out/analyze.json"
echo "analysisbench analyze (library call, age-adjusted): $(cat "$out/time.txt"); $(cat "$out/analyze.json")"
/usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KiB peak RSS" -o "$out/time.txt" \
  "$out/analysisbench" analyze -in "$out/predictions.arrow" -resamples "$RESAMPLES" -age-adjust=false >"$out/analyze-raw.json"
echo "analysisbench analyze (library call, raw scores only: BENCHMARKS.md's analysis row): $(cat "$out/time.txt"); $(cat "$out/analyze-raw.json")"
