#!/usr/bin/env bash
# Inference throughput of a SavedModel imported through fairage/savedmodel
# (TensorFlow 2.18 C library through the Go bindings) against
# tf.saved_model.load in Python (tensorflow-cpu 2.18 from PyPI, build/venv),
# same machine, same run, same N UTKFace crops (every 9th row of
# metadata.csv) resized once to 64x64 by the pipeline (a pack both sides
# read), same threads (intra-op / inter-op, default 1 / 1), batch 32. Two
# SavedModels:
#   keras     a small Keras CNN trained for one epoch on the crops in
#             Python and model.export()ed (a TF2 SavedModel: functions,
#             object graph); float32 input × 1/255, as a user declares it
#   resnet18  a fairage resnet18 (width 0.5, fresh weights) written by
#             pipeline export's code (a graph SavedModel; uint8 input,
#             normalisation in the graph)
# Each side times preprocessing + inference + copying the ages out, one
# warm-up pass then the best of PASSES; the sides alternate REPEATS times
# and the best of each counts (the machine is shared). Rates are wall-clock
# images/s and images per CPU-second of each process.
#
#   bash bench/savedmodel/run.sh                  # N=2000 REPEATS=3 PASSES=3
#   N=500 REPEATS=1 INTRA=2 bash bench/savedmodel/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-2000}
repeats=${REPEATS:-3}
passes=${PASSES:-3}
intra=${INTRA:-1}
inter=${INTER:-1}
py=$root/build/venv/bin/python
shared=${FAIRAGE_SHARED:-$root/../shared}
utk=$shared/datasets/utkface

bash "$root/scripts/venv.sh"
[ -f "$utk/metadata.csv" ] || { echo "savedmodel bench: UTKFace not found at $utk (set FAIRAGE_SHARED)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -F, -v dir="$utk/images" -v n="$n" 'NR > 1 && (NR - 2) % 9 == 0 && c < n { print dir "/" $1; c++ }' "$utk/metadata.csv" >"$tmp/list.txt"
[ "$(wc -l <"$tmp/list.txt")" -eq "$n" ] || { echo "savedmodel bench: fewer than $n crops at stride 9" >&2; exit 1; }
(cd "$root" && go build -o "$tmp/savedmodel-bench" ./bench/savedmodel)
"$tmp/savedmodel-bench" -list "$tmp/list.txt" -metadata "$utk/metadata.csv" -pack-out "$tmp/crops.pack" -ages-out "$tmp/ages.json"
"$py" "$root/scripts/conformance/keras_roundtrip.py" --pack "$tmp/crops.pack" --ages "$tmp/ages.json" \
  --out "$tmp/keras" --predictions "$tmp/keras.json" --epochs 1 --seed 1 2>/dev/null | tail -1
"$tmp/savedmodel-bench" -make-resnet "$tmp/resnet18" -width 0.5 2>/dev/null

echo "SavedModel inference, $n UTKFace crops at 64x64, batch 32, intra-op $intra / inter-op $inter threads"
echo "host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), $("$py" -c 'import tensorflow as tf, keras; print(f"tensorflow {tf.__version__}, keras {keras.__version__}")' 2>/dev/null)"
quiet() { "$@" 2>/dev/null; }
for _ in $(seq "$repeats"); do
  quiet "$tmp/savedmodel-bench" -saved "$tmp/keras" -pack "$tmp/crops.pack" -scale 0.00392156862745098 -label keras \
    -passes "$passes" -intra "$intra" -inter "$inter" | tee -a "$tmp/go.log"
  quiet "$py" "$root/bench/savedmodel/peer.py" --saved "$tmp/keras" --pack "$tmp/crops.pack" --scale 0.00392156862745098 --label keras \
    --passes "$passes" --intra "$intra" --inter "$inter" | tee -a "$tmp/py.log"
  quiet "$tmp/savedmodel-bench" -saved "$tmp/resnet18" -pack "$tmp/crops.pack" -label resnet18 \
    -passes "$passes" -intra "$intra" -inter "$inter" | tee -a "$tmp/go.log"
  quiet "$py" "$root/bench/savedmodel/peer.py" --saved "$tmp/resnet18" --pack "$tmp/crops.pack" --label resnet18 \
    --passes "$passes" --intra "$intra" --inter "$inter" | tee -a "$tmp/py.log"
done

best() { sed -n "s/^$1 $2:.* $4=\([0-9.]*\).*/\1/p" "$3" | sort -g | tail -1; }
printf '\n%-34s %10s %10s %8s %10s %10s %8s\n' "" "go img/s" "py img/s" "go/py" "go /cpu-s" "py /cpu-s" "go/py"
row() { # label model
  local g p gc pc
  g=$(best go "$2" "$tmp/go.log" images_per_s)
  p=$(best python "$2" "$tmp/py.log" images_per_s)
  gc=$(best go "$2" "$tmp/go.log" images_per_cpu_s)
  pc=$(best python "$2" "$tmp/py.log" images_per_cpu_s)
  printf '%-34s %10.1f %10.1f %7.2fx %10.1f %10.1f %7.2fx\n' "$1" "$g" "$p" "$(awk -v g="$g" -v p="$p" 'BEGIN { print g / p }')" \
    "$gc" "$pc" "$(awk -v g="$gc" -v p="$pc" 'BEGIN { print g / p }')"
}
row "Keras model.export() (float32)" keras
row "fairage export resnet18 (uint8)" resnet18
