#!/usr/bin/env bash
# Head-only epoch time on a frozen backbone: with the feature cache (the
# backbone runs once per image, then every epoch trains the head on stored
# features) against recomputing the backbone every epoch, same run, same
# settings: face_resnet at 150x150, batch 32, N synthetic training images
# and N/4 validation images per epoch, TensorFlow intra-op 2 / inter-op 1.
# Prints the median epoch time after the first (which builds the cache) and
# the ratio.
#
#   bash bench/train/cache.sh            # N=1024 EPOCHS=4
#   ARCH=resnet18 SIZE=64 bash bench/train/cache.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-1024}
epochs=${EPOCHS:-4}
arch=${ARCH:-face_resnet}
size=${SIZE:-150}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/train-bench" ./bench/train)
args=(--strategy head_only --arch "$arch" --n "$n" --size "$size" --batch 32 --epochs "$epochs" --intra 2 --inter 1)
echo "head-only epochs: $arch ${size}x$size batch 32, $n train + $((n / 4)) valid synthetic images, $epochs epochs, intra 2 / inter 1 threads"
echo "host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3)"
for c in true false; do
  TF_CPP_MIN_LOG_LEVEL=2 "$tmp/train-bench" "${args[@]}" --cache=$c 2>/dev/null | tee -a "$tmp/log"
done
cached=$(sed -n 's/.*cache=true: epoch_s=\([0-9.]*\).*/\1/p' "$tmp/log")
plain=$(sed -n 's/.*cache=false: epoch_s=\([0-9.]*\).*/\1/p' "$tmp/log")
printf '\nepoch: %.3f s cached, %.3f s recomputing the backbone: %.1fx faster\n' "$cached" "$plain" \
  "$(awk -v a="$plain" -v b="$cached" 'BEGIN { print a / b }')"
