#!/usr/bin/env bash
# Mixed precision: fairage bf16 (train.precision bf16: TensorFlow's oneDNN
# bfloat16 graph rewrite) against fairage fp32 and against Keras 3 with the
# mixed_bfloat16 policy (and Keras fp32 for Keras's own gain), training and
# inference, same run, same settings as run.sh: resnet18 with the study's
# head, 64x64, batch 32, intra-op 2 / inter-op 1 threads, synthetic images.
# The four sides alternate REPEATS times and the best run of each counts
# (the machine is shared, so single runs are noisy).
#
#   bash bench/train/precision.sh                    # N=256 EPOCHS=3 REPEATS=2 PREDICTS=3
#   ARCH=face_resnet N=64 bash bench/train/precision.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-256}
epochs=${EPOCHS:-3}
repeats=${REPEATS:-2}
predicts=${PREDICTS:-3}
width=${WIDTH:-1}
arch=${ARCH:-resnet18}
size=${SIZE:-64}
if [ "$arch" = face_resnet ]; then size=${SIZE:-150}; fi
py=$root/build/venv/bin/python
args=(--arch "$arch" --n "$n" --size "$size" --width "$width" --batch 32 --epochs "$epochs" --predicts "$predicts" --intra 2 --inter 1)

if ! "$py" -c "import tensorflow, keras" 2>/dev/null; then
  echo "precision bench: $py lacks tensorflow/keras; run scripts/venv.sh" >&2
  exit 1
fi
flags=$(grep -o 'avx512_bf16\|amx_bf16\|amx_fp16' /proc/cpuinfo | sort -u | tr '\n' ' ')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/train-bench" ./bench/train)

# best SIDE PHASE PRECISION: highest images_per_s of those lines.
best() { sed -n "s/^$1 $2 .* precision $3: images_per_s=\([0-9.]*\).*/\1/p" "$tmp/log" | sort -g | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

echo "$arch ${size}x$size width $width batch 32, $n synthetic images, $epochs epochs (1 warm-up), intra 2 / inter 1 threads"
echo "host: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p'); bf16 flags: ${flags:-none}), load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), $("$py" -c 'import tensorflow as tf, keras; print(f"tensorflow {tf.__version__}, keras {keras.__version__}")' 2>/dev/null)"
for _ in $(seq "$repeats"); do
  for p in fp32 bf16; do
    TF_CPP_MIN_LOG_LEVEL=2 "$tmp/train-bench" "${args[@]}" -precision "$p" 2>/dev/null | tee -a "$tmp/log"
    "$py" "$root/bench/train/peer.py" "${args[@]}" --precision "$p" 2>/dev/null | tee -a "$tmp/log"
  done
done
printf '\n%-8s %9s %9s %9s %9s  %14s %14s %15s\n' "img/s" "go fp32" "go bf16" "keras fp32" "keras bf16" "go bf16/fp32" "go/keras bf16" "keras bf16/fp32"
for phase in train predict; do
  g32=$(best go "$phase" fp32) g16=$(best go "$phase" bf16)
  k32=$(best keras "$phase" fp32) k16=$(best keras "$phase" bf16)
  printf '%-8s %9.1f %9.1f %9.1f %9.1f  %14s %14s %15s\n' "$phase" "$g32" "$g16" "$k32" "$k16" \
    "$(ratio "$g16" "$g32")" "$(ratio "$g16" "$k16")" "$(ratio "$k16" "$k32")"
done
