#!/usr/bin/env bash
# Training and inference throughput: fairage/tfmodel (graph built in Go,
# TensorFlow C API) against Keras 3 on the same TensorFlow 2.18 CPU build,
# same machine, same run: resnet18 with the study's head, 64x64 inputs,
# batch 32, TensorFlow intra-op 2 / inter-op 1 threads, synthetic images.
# ARCH=face_resnet runs dlib's face-recognition ResNet at 150x150 instead
# (all layers trained, as when fine-tuning the pretrained backbone).
# Training: median images/s of the epochs after a warm-up epoch. Inference:
# best of several passes after a warm-up pass. The two sides alternate
# REPEATS times and the best run of each counts (the machine is shared, so
# single runs are noisy).
#
#   bash bench/train/run.sh                 # N=256 EPOCHS=3 REPEATS=3 WIDTH=1
#   WIDTH=0.5 REPEATS=1 bash bench/train/run.sh
#   ARCH=face_resnet N=128 bash bench/train/run.sh   # SIZE defaults to 150
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-256}
epochs=${EPOCHS:-3}
repeats=${REPEATS:-3}
width=${WIDTH:-1}
arch=${ARCH:-resnet18}
size=${SIZE:-64}
if [ "$arch" = face_resnet ]; then size=${SIZE:-150}; fi
py=$root/build/venv/bin/python
args=(--arch "$arch" --n "$n" --size "$size" --width "$width" --batch 32 --epochs "$epochs" --intra 2 --inter 1)

if ! "$py" -c "import tensorflow, keras" 2>/dev/null; then
  echo "train bench: $py lacks tensorflow/keras; run scripts/venv.sh" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/train-bench" ./bench/train)

# best PHASE LOG: highest images_per_s among the PHASE lines of a log.
best() { sed -n "s/.* $1 .*images_per_s=\([0-9.]*\).*/\1/p" "$2" | sort -g | tail -1; }

echo "$arch ${size}x$size width $width batch 32, $n synthetic images, $epochs epochs (1 warm-up), intra 2 / inter 1 threads"
echo "host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), $("$py" -c 'import tensorflow as tf, keras; print(f"tensorflow {tf.__version__}, keras {keras.__version__}")' 2>/dev/null)"
for _ in $(seq "$repeats"); do
  TF_CPP_MIN_LOG_LEVEL=2 "$tmp/train-bench" "${args[@]}" 2>/dev/null | tee -a "$tmp/go.log"
  "$py" "$root/bench/train/peer.py" "${args[@]}" 2>/dev/null | tee -a "$tmp/keras.log"
done
printf '\n%-10s %12s %12s %8s\n' "" "go img/s" "keras img/s" "go/keras"
for phase in train predict; do
  g=$(best "$phase" "$tmp/go.log")
  k=$(best "$phase" "$tmp/keras.log")
  printf '%-10s %12.1f %12.1f %7.2fx\n' "$phase" "$g" "$k" "$(awk -v g="$g" -v k="$k" 'BEGIN { print g / k }')"
done
