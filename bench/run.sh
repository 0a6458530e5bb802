#!/usr/bin/env bash
# Runs every benchmark one after another (never in parallel: they compare
# throughput on a 2-core machine, so they must not share it), each side by
# side with its Python peer. Results go to build/bench/*.txt and stdout;
# BENCHMARKS.md quotes them with this command.
#
#   bash bench/run.sh [ingest] [augment] [train] [analysis]   (default: all four)
#   bash bench/run.sh stages   # wall time and peak memory per stage of M5 (no peer)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/bench
mkdir -p "$out"
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(ingest augment train analysis)
{
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -m), $(lscpu | sed -n 's/^Model name: *//p')"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$out/machine.txt"
for b in "${which[@]}"; do
  [ -x "$root/bench/$b/run.sh" ] || [ -f "$root/bench/$b/run.sh" ] || { echo "bench/$b/run.sh missing" >&2; exit 1; }
  echo "== $b"
  bash "$root/bench/$b/run.sh" 2>&1 | tee "$out/$b.txt"
done
