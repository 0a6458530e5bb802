#!/usr/bin/env bash
# Inference throughput of the tfjs presets: fairage/tfjsmodel (each
# model.json converted and imported into libtensorflow 2.18 through the Go
# binding) against TensorFlow.js 4.22 running the same model.json in Node
# (scripts/conformance/tfjs_graph.mjs), same machine, same run, same
# UTKFace crops (every 9th row of metadata.csv) resized once to the preset's
# input size, so both sides time normalisation + the graph + reading the
# output. One thread each: TF.js's backends in Node are single-threaded, so
# TensorFlow runs with intra-op 1 / inter-op 1. Batch: N images per call on
# both sides (N ≤ 32). TF.js is timed on two backends: cpu (pure JavaScript,
# the conformance reference) on the first N_CPU crops, one pass (it takes
# seconds per face); wasm (@tensorflow/tfjs-backend-wasm, SIMD) on all N,
# the fastest of 3 passes after a warm-up. fairage: best of 3 after a warm-up.
# Rates are images per wall-clock second.
#
#   bash bench/tfjs/run.sh                          # N=32 N_CPU=4, all presets
#   PRESETS=ssrnet-age N=32 N_CPU=32 bash bench/tfjs/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-32}
ncpu=${N_CPU:-4}
presets=${PRESETS:-faceres-age gear-age ssrnet-age}
shared=${FAIRAGE_SHARED:-$root/../shared}
utk=$shared/datasets/utkface
node_dir=$root/build/node

bash "$root/scripts/setup-models.sh" >/dev/null
command -v node >/dev/null || { echo "tfjs bench: node not found" >&2; exit 1; }
[ -d "$node_dir/node_modules/@tensorflow/tfjs" ] || { echo "tfjs bench: no Node environment in $node_dir (make setup-models)" >&2; exit 1; }
[ -f "$utk/metadata.csv" ] || { echo "tfjs bench: UTKFace not found at $utk (set FAIRAGE_SHARED)" >&2; exit 1; }
[ "$ncpu" -le "$n" ] || { echo "tfjs bench: N_CPU ($ncpu) must not exceed N ($n)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -F, -v dir="$utk/images" -v n="$n" 'NR > 1 && (NR - 2) % 9 == 0 && c < n { print dir "/" $1; c++ }' "$utk/metadata.csv" >"$tmp/list.txt"
[ "$(wc -l <"$tmp/list.txt")" -eq "$n" ] || { echo "tfjs bench: fewer than $n crops at stride 9" >&2; exit 1; }
(cd "$root" && go build -o "$tmp/tfjs-bench" ./bench/tfjs)

echo "tfjs presets, $n UTKFace crops (200x200 JPEG, resized once), one thread per side, batch $n"
echo "host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3), node $(node --version)"
printf '%-12s %12s %12s %12s %10s %10s\n' preset "fairage/s" "tfjs-wasm/s" "tfjs-cpu/s" "vs wasm" "vs cpu"
for p in $presets; do
  IFS=$'\t' read -r model size prep output < <("$tmp/tfjs-bench" -preset "$p" -list "$tmp/list.txt" -chips-out "$tmp/chips.u8")
  go_rate=$("$tmp/tfjs-bench" -preset "$p" -list "$tmp/list.txt" -batch "$n" -passes 3 | sed -n 's/.* images_per_s=\([0-9.]*\).*/\1/p')
  node "$root/scripts/conformance/tfjs_graph.mjs" "$node_dir" "$model" "$tmp/chips.u8" "$n" "$size" "$prep" "$output" "$tmp/wasm.json" 3 wasm
  wasm_rate=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log((r.n/r.seconds).toFixed(3))' "$tmp/wasm.json")
  head -c $((ncpu * size * size * 3)) "$tmp/chips.u8" >"$tmp/chips-cpu.u8"
  node "$root/scripts/conformance/tfjs_graph.mjs" "$node_dir" "$model" "$tmp/chips-cpu.u8" "$ncpu" "$size" "$prep" "$output" "$tmp/cpu.json" 1 cpu
  cpu_rate=$(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1]));console.log((r.n/r.seconds).toFixed(3))' "$tmp/cpu.json")
  printf '%-12s %12.2f %12.2f %12.3f %9.1fx %9.1fx\n' "$p" "$go_rate" "$wasm_rate" "$cpu_rate" \
    "$(awk -v g="$go_rate" -v w="$wasm_rate" 'BEGIN { print g / w }')" "$(awk -v g="$go_rate" -v c="$cpu_rate" 'BEGIN { print g / c }')"
done
