#!/usr/bin/env bash
# Distributed-training overhead on loopback: the same resnet18 (x0.25, 32x32,
# global batch 32, all layers) trained in one process, on a 1-worker cluster
# and on a 2-worker cluster whose workers are `pipeline worker` processes on
# 127.0.0.1, one after another in the same run. On a 2-core machine the
# workers share the cores, so this measures the distributed runtime's
# overhead per step, not scaling (see BENCHMARKS.md for the speed-up model).
#
# The three alternate REPEATS times (the machine is shared; compare the best
# of each).
#
#   bash bench/dist/run.sh            # N=256 EPOCHS=3 REPEATS=3
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
n=${N:-256}
epochs=${EPOCHS:-3}
repeats=${REPEATS:-3}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
(cd "$root" && go build -o "$tmp/pipeline" ./cmd/pipeline && go build -o "$tmp/dist-bench" ./bench/dist)
echo "host: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(go version | cut -d' ' -f3)"
args=(-n "$n" -epochs "$epochs")
# Free loopback ports, chosen by the kernel.
read -r p0 p1 < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')

start_workers() { # threads addr...
  local threads=$1 i=0
  shift
  printf 'worker:\n' >"$tmp/cluster.yaml"
  for a in "$@"; do printf '  - %s\n' "$a" >>"$tmp/cluster.yaml"; done
  for a in "$@"; do
    TF_CPP_MIN_LOG_LEVEL=2 "$tmp/pipeline" worker --cluster "$tmp/cluster.yaml" --task $i \
      --intra-op-threads "$threads" --inter-op-threads 1 2>>"$tmp/workers.log" &
    pids+=($!)
    i=$((i + 1))
  done
}
stop_workers() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  pids=()
}

for r in $(seq "$repeats"); do
  echo "-- repeat $r of $repeats"
  TF_CPP_MIN_LOG_LEVEL=2 "$tmp/dist-bench" "${args[@]}" -intra 2

  start_workers 2 "localhost:$p0"
  TF_CPP_MIN_LOG_LEVEL=2 "$tmp/dist-bench" "${args[@]}" -intra 2 -workers "localhost:$p0"
  stop_workers

  # Two workers on two cores: one intra-op thread each.
  start_workers 1 "localhost:$p0" "localhost:$p1"
  TF_CPP_MIN_LOG_LEVEL=2 "$tmp/dist-bench" "${args[@]}" -intra 1 -workers "localhost:$p0,localhost:$p1"
  stop_workers
done 2>&1 | grep -v '^WARNING: All log\|^I0000'
