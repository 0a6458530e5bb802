#!/usr/bin/env bash
# Runs the experiment series (the original study's M1-M5 and mitigations
# beyond it) on UTKFace, then writes two comparison reports per series: the
# study's model series, and each mitigation against M5 without balancing
# (paired tests on the same test samples).
#
#   scripts/experiments.sh                            # both series, full budget, runs/
#   SERIES=pretrained scripts/experiments.sh          # experiments/pretrained/ only (face_resnet, face-api weights)
#   SERIES=scratch scripts/experiments.sh             # experiments/ only (ResNet-18 from scratch)
#   PROFILE=quick scripts/experiments.sh              # reduced budget, runs/quick/
#
# Within a series ingest and split are shared by every experiment and
# computed once; the two series pack images at different sizes (64 and 150
# px) and so have an ingest each.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=bin/pipeline
profile=${PROFILE:-full}
series=${SERIES:-all}
runs=${RUNS:-runs}
scratch_sets=()
pretrained_sets=()
case $profile in
full) ;;
quick)
  runs=$runs/quick
  # Only training is reduced: with fewer permutations the smallest p-value
  # (1/(permutations+1)) could not survive Holm correction across the
  # comparisons, and the analysis takes well under a second anyway.
  scratch_sets=(--set data.image_size=32 --set train.epochs=2 --set train.batch_size=64)
  # 112 px is the smallest round size face_resnet's valid convolutions take
  # comfortably (at least 103); the weights were trained at 150. M1 still
  # trains its head on cached features; M2-M5 skip the head phase (its
  # feature cache costs 25-50 s a run) and fine-tune only the last stage
  # for one epoch, so the ten runs fit in about 10 minutes on 2 cores
  # (12 min 48 s with the from-scratch series, measured).
  pretrained_sets=(--set data.image_size=112 --set train.epochs=3 --set train.head_phase.epochs=0 --set train.all_phase.epochs=1 --set train.freeze_stages=4)
  ;;
*) echo "experiments: PROFILE=$profile: expected full or quick" >&2; exit 2 ;;
esac
case $series in all | scratch | pretrained) ;; *) echo "experiments: SERIES=$series: expected all, scratch or pretrained" >&2; exit 2 ;; esac

study=(m1 m2 m3 m4 m5)
mitigations=(m5-nobalance m5 m5-reweight m5-lds m5-undersample m5-age)

# run_series DIR PREFIX SETS...: runs every experiment of DIR (run names
# PREFIX + name), then the two comparisons.
run_series() {
  local dir=$1 prefix=$2 label=$3
  shift 3
  for e in m1 m2 m3 m4 "${mitigations[@]}"; do
    echo "== $dir/$e ($profile)"
    "$bin" run "$dir/$e.yaml" --runs "$runs" "$@"
  done
  "$bin" compare "${study[@]/#/$runs/$prefix}" --out "$runs/compare-${prefix}study" --title "Study series M1-M5 on UTKFace, $label ($profile budget)"
  "$bin" compare "${mitigations[@]/#/$runs/$prefix}" --out "$runs/compare-${prefix}mitigations" --title "Mitigations against M5 without balancing, $label ($profile budget)"
  echo "reports: $runs/compare-${prefix}study/compare.html, $runs/compare-${prefix}mitigations/compare.html"
}

if [ "$series" != pretrained ]; then
  run_series experiments "" "ResNet-18 from scratch" "${scratch_sets[@]}"
fi
if [ "$series" != scratch ]; then
  run_series experiments/pretrained p- "pretrained face_resnet" "${pretrained_sets[@]}"
fi
