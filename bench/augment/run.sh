#!/usr/bin/env bash
# Augmentation throughput: fairage/augment (Go, gift) against Pillow +
# albumentations (Python, OpenCV) on the same UTKFace images, same machine,
# same run. JPEG decoding is excluded from the timing on both sides; each
# side warms up on 100 images first. Both sides run with 1 worker and with
# WORKERS workers (goroutines / processes, OpenCV at one thread each),
# alternating, REPEATS times; the best run of each counts.
#
#   bash bench/augment/run.sh            # N=2000 WORKERS=2 REPEATS=3
#   N=500 REPEATS=1 bash bench/augment/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-2000}
workers=${WORKERS:-2}
repeats=${REPEATS:-3}
shared=${FAIRAGE_SHARED:-$root/../shared}
images=${UTKFACE_IMAGES:-$shared/datasets/utkface/images}
py=$root/build/venv/bin/python

if [ ! -d "$images" ]; then
  echo "augment bench: UTKFace images not found at $images (set FAIRAGE_SHARED or UTKFACE_IMAGES)" >&2
  exit 1
fi
if ! "$py" -c "import albumentations, PIL, cv2" 2>/dev/null; then
  echo "augment bench: $py lacks albumentations/Pillow/OpenCV; run scripts/venv.sh" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/augment-bench" ./bench/augment)

# best RATE_LINE: highest images_per_s among lines of a log.
best() { sed -n 's/.*images_per_s=\([0-9.]*\).*/\1/p' "$1" | sort -g | tail -1; }

echo "augmentation throughput: $n UTKFace images 200x200 -> 64x64, decode not timed"
echo "recipe: flip p.5, rotate ±10°, resized crop (scale .8-1, ratio .9-1.1), brightness/contrast/saturation ±.2, hue ±10°, blur sigma .1-1"
echo "host: $(nproc) CPUs, $(go version | cut -d' ' -f3), $("$py" -c 'import albumentations, cv2, PIL; print(f"albumentations {albumentations.__version__}, opencv {cv2.__version__}, pillow {PIL.__version__}")' 2>/dev/null)"
for w in 1 "$workers"; do
  for _ in $(seq "$repeats"); do
    "$tmp/augment-bench" -dir "$images" -n "$n" -workers "$w" | tee -a "$tmp/go-$w.log"
    "$py" "$root/bench/augment/peer.py" --dir "$images" --n "$n" --workers "$w" 2>/dev/null | tee -a "$tmp/py-$w.log"
  done
done
printf '\n%-8s %14s %14s %8s\n' workers "go img/s" "python img/s" "go/py"
for w in 1 "$workers"; do
  g=$(best "$tmp/go-$w.log")
  p=$(best "$tmp/py-$w.log")
  printf '%-8s %14.1f %14.1f %7.2fx\n' "$w" "$g" "$p" "$(awk -v g="$g" -v p="$p" 'BEGIN { print g / p }')"
done
