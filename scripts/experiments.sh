#!/usr/bin/env bash
# Runs the experiment series in experiments/ (the original study's M1-M5 and
# mitigations beyond it) on UTKFace, then writes two comparison reports:
# the study's model series, and each mitigation against M5 without
# balancing (paired tests on the same test samples).
#
#   scripts/experiments.sh            # full budget, runs/
#   PROFILE=quick scripts/experiments.sh   # reduced budget, runs/quick/
#
# Ingest and split are shared by every experiment and computed once.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=bin/pipeline
profile=${PROFILE:-full}
runs=${RUNS:-runs}
sets=()
case $profile in
full) ;;
quick)
  runs=$runs/quick
  # Only training is reduced: with fewer permutations the smallest p-value
  # (1/(permutations+1)) could not survive Holm correction across the
  # comparisons, and the analysis takes well under a second anyway.
  sets=(--set data.image_size=32 --set train.epochs=2 --set train.batch_size=64)
  ;;
*) echo "experiments: PROFILE=$profile: expected full or quick" >&2; exit 2 ;;
esac
study=(m1 m2 m3 m4 m5)
mitigations=(m5-nobalance m5 m5-reweight m5-lds m5-undersample m5-age)
for e in m1 m2 m3 m4 "${mitigations[@]}"; do
  echo "== $e ($profile)"
  "$bin" run "experiments/$e.yaml" --runs "$runs" "${sets[@]}"
done
"$bin" compare "${study[@]/#/$runs/}" --out "$runs/compare-study" --title "Study series M1-M5 on UTKFace ($profile budget)"
"$bin" compare "${mitigations[@]/#/$runs/}" --out "$runs/compare-mitigations" --title "Mitigations against M5 without balancing ($profile budget)"
echo "reports: $runs/compare-study/compare.html, $runs/compare-mitigations/compare.html"
