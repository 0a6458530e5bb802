#!/usr/bin/env bash
# Ingest benchmark: dataset.Ingest on the 19,000 shared UTKFace images at
# 64×64 (decode, sha256, resize, pack). Prints images/s (wall and per
# CPU-second), peak RSS and the load average, since other work may share
# the CPUs. Target: >= 1,000 images/s on 2 cores, peak RSS < 1 GiB.
#
#   bench/ingest/run.sh                      # defaults
#   bench/ingest/run.sh -workers 1 -resample bilinear
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
mkdir -p build
go build -o build/bench-ingest ./bench/ingest
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f "time: %e s wall, %U s user, %S s sys, max RSS %M KiB" build/bench-ingest "$@"
else
  build/bench-ingest "$@"
fi
