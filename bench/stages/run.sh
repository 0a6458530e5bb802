#!/usr/bin/env bash
# Wall time and peak memory per stage of one run: each stage runs in its own
# process (`pipeline run CONFIG --until STAGE`; the stages before it are
# found in the cache), so the process's peak RSS is that stage's peak.
#
#   bash bench/run.sh stages                             # experiments/m5.yaml
#   CONFIG=configs/utkface.yaml bash bench/stages/run.sh
#
# Stages already in the cache are reported as cached, not timed: use a fresh
# RUNS folder (default build/bench/stages-runs) for a cold measurement, or
# FORCE_FROM=STAGE to rerun that stage and the ones after it (each alone,
# `--only STAGE --force`) on top of a cache. The cache it leaves is reused
# by `make experiments RUNS=...` with the same RUNS.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
config=${CONFIG:-experiments/m5.yaml}
runs=${RUNS:-build/bench/stages-runs}
bin=bin/pipeline
[ -x "$bin" ] || { echo "bench/stages: $bin missing (run make build)" >&2; exit 1; }
stages=$("$bin" validate "$config" --print >/dev/null && "$bin" status "$config" --runs "$runs" 2>/dev/null | awk '/^STAGE/{f=1;next} f && NF {print $1}')
[ -n "$stages" ] || { echo "bench/stages: no stages from pipeline status $config" >&2; exit 1; }
force=${FORCE_FROM:-}
[ -z "$force" ] || grep -qx "$force" <<<"$stages" || { echo "bench/stages: FORCE_FROM=$force is not a stage of $config" >&2; exit 2; }
echo "config: $config  runs: $runs  machine: $(nproc) cores${force:+  forced from: $force}"
printf '%-10s %10s %12s %s\n' stage process_s peak_rss_MiB note
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for s in $stages; do
  [ "$s" = "$force" ] && forcing=1
  select=(--until "$s")
  [ -n "${forcing:-}" ] && select=(--only "$s" --force)
  before=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$log.rss" "$bin" run "$config" --runs "$runs" "${select[@]}" >"$log" 2>&1 || {
    cat "$log" >&2; rm -f "$log.rss"; exit 1; }
  wall=$(echo "$(date +%s.%N) - $before" | bc)
  rss_kib=$(tail -n1 "$log.rss"); rm -f "$log.rss"
  note=$(sed -n "s/^$s *done in \([^ ]*\).*/stage itself: \1/p" "$log")
  grep -q "^$s *skipped" "$log" && note="(found in the cache: not timed)"
  printf '%-10s %10.1f %12.0f %s\n' "$s" "$wall" "$(echo "$rss_kib / 1024" | bc -l)" "$note"
done
