#!/usr/bin/env bash
# Scripted faults against the real binary (make stress; not part of make
# test): kill -9 at a random point of every stage then rerun and compare
# with an uninterrupted run, Ctrl-C, concurrent runs, a full disk (a small
# tmpfs, where root can mount one), corrupted cache files, FIFOs in the
# dataset, an edited resume state, extreme predictions, duplicate rows.
# Every case runs under a timeout; any output with a Go panic or stack
# trace fails it. Prints a table case | expected | got | result and exits
# non-zero if any case failed.
#
#   make stress                 # or: bash scripts/stress.sh [bin/pipeline]
#   STRESS_SEED=7 make stress   # another set of kill points
#   STRESS_KEEP=1 make stress   # keep the work folder for inspection
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bin=$(realpath "${1:-bin/pipeline}")
[ -x "$bin" ] || { echo "stress: $bin missing (run make build)" >&2; exit 1; }
seed=${STRESS_SEED:-$$}
RANDOM=$seed
work=$(mktemp -d "${TMPDIR:-/tmp}/fairage-stress-XXXXXX")
cleanup() {
  for m in "$work"/mnt-*; do mountpoint -q "$m" 2>/dev/null && umount "$m"; done
  [ -n "${STRESS_KEEP:-}" ] && { echo "work folder kept: $work"; return; }
  rm -rf "$work"
}
trap cleanup EXIT
start_all=$(date +%s)

# A config small enough that every stage takes seconds on 2 cores, with
# single-threaded TensorFlow so training is deterministic.
cfg=$work/stress.yaml
cat >"$cfg" <<EOF
extends: $root/pipeline.yaml
run: {name: ref}
data: {synthetic: {count: 240}, image_size: 16}
model: {width_multiplier: 0.125, head: [8]}
train: {strategy: all_layers, epochs: 3, batch_size: 16, threads: {intra_op: 1, inter_op: 1}}
evaluate: {threads: {intra_op: 1, inter_op: 1}}
balance: {strategy: oversample}
analysis: {bootstrap: {resamples: 40}, permutation: {resamples: 40}}
EOF

results=()
failures=0
# record CASE EXPECTED GOT OK
record() {
  local mark=ok
  [ "$4" = 1 ] || { mark=FAIL; failures=$((failures + 1)); }
  results+=("$1|$2|$3|$mark")
  printf '%-34s %s\n' "$1" "$mark" >&2
}

# pl LOG TIMEOUT ARGS...: run the binary, output to LOG; returns its exit
# status (124 on timeout).
pl() {
  local log=$1 t=$2; shift 2
  timeout -k 5 "$t" "$bin" "$@" >"$log" 2>&1
}

panicked() { grep -qE '^panic:|^goroutine [0-9]+ \[|runtime\.gopanic|fatal error:' "$1"; }

# digest RUNDIR STAGE: one line per output file (path and sha256), without
# what records time by design (report, training history and train.json's
# resumed flag).
digest() {
  local d
  d=$(readlink -f "$1/$2") || { echo missing; return; }
  [ -d "$d" ] || { echo missing; return; }
  (cd "$d" && find . -type f ! -name '.fairage-entry.json' ! -name 'history.arrow' ! -name 'train.json' -print0 |
    sort -z | xargs -0 -r sha256sum) | sha256sum | cut -c1-16
}

stages=(ingest split balance augment train evaluate analyze)

# --- the uninterrupted reference run ---------------------------------------
ref=$work/ref
if pl "$work/ref.log" 600 run "$cfg" --runs "$ref"; then
  record "reference run" "completes" "completed" 1
else
  record "reference run" "completes" "exit $? (see $work/ref.log)" 0
  cat "$work/ref.log" >&2
  exit 1
fi
declare -A want dur
for s in "${stages[@]}"; do want[$s]=$(digest "$ref/ref" "$s"); done
# Stage durations from the manifest, to kill at a random point inside each.
while read -r name secs; do dur[$name]=$secs; done < <(python3 - "$ref/ref/manifest.json" <<'PY'
import json, sys
for s in json.load(open(sys.argv[1]))["stages"]:
    print(s["name"], s.get("duration_s") or 0.5)
PY
)

# --- kill -9 at a random point of each stage, rerun, compare ---------------
# One runs folder: earlier stages are in its cache, so each kill lands
# inside the stage under test.
kr=$work/killed
pl "$work/k0.log" 300 run "$cfg" --runs "$kr" --until ingest >/dev/null 2>&1 || true
kills=${STRESS_KILLS:-3}
for s in "${stages[@]}"; do
  for k in $(seq "$kills"); do
    log=$work/kill-$s-$k.log
    # --force the stage so it really runs (its output may be cached).
    if [ "$s" = ingest ]; then sel=(--until ingest --force); else sel=(--from "$s" --until "$s"); fi
    "$bin" run "$cfg" --runs "$kr" "${sel[@]}" >"$log" 2>&1 &
    pid=$!
    # Wait until the stage starts, then a random part of its usual duration.
    for _ in $(seq 200); do grep -q "^$s *running" "$log" && break; sleep 0.05; done
    ms=$(python3 -c "import random; random.seed($seed*31+$k*7+${#s}); print(int(1000*float('${dur[$s]:-1}')*random.uniform(0.05,0.95)))")
    sleep "$(printf '0.%03d' $((ms % 1000)))"; sleep $((ms / 1000))
    kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    # Training reruns once from its last checkpoint (--resume), once from
    # the start; both must give the uninterrupted weights.
    extra=(); note=""
    if [ "$s" = train ] && [ "$k" != 2 ]; then extra=(--resume); note=" (--resume)"; fi
    if pl "$log.rerun" 300 run "$cfg" --runs "$kr" --until "$s" "${extra[@]}"; then
      got=$(digest "$kr/ref" "$s")
      ok=0; [ "$got" = "${want[$s]}" ] && ! panicked "$log.rerun" && ok=1
      record "kill -9 in $s at ${ms} ms" "rerun$note = uninterrupted" "$([ $ok = 1 ] && echo equal || echo "differs: $got vs ${want[$s]}")" $ok
    else
      record "kill -9 in $s at ${ms} ms" "rerun$note = uninterrupted" "rerun exit $?" 0
    fi
  done
done
# No temporary folders survive the reruns.
left=$(find "$kr/.cache" -maxdepth 2 -name '.tmp-*' | wc -l)
record "temp folders after kills" "0 left" "$left left" $([ "$left" = 0 ] && echo 1 || echo 0)

# --- Ctrl-C (SIGINT) and SIGTERM stop a stage promptly ----------------------
for sig in INT TERM; do
  log=$work/sig-$sig.log
  "$bin" run "$cfg" --runs "$kr" --from train --until train >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do grep -q "^train *running" "$log" && break; sleep 0.05; done
  sleep 0.5
  t0=$(date +%s.%N)
  kill -s "$sig" "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"; wait "$pid" 2>/dev/null
    record "SIG$sig during train" "exit 130 within 10 s" "still running after 10 s" 0
  else
    wait "$pid"; rc=$?
    took=$(python3 -c "print(f'{$(date +%s.%N)-$t0:.1f}')")
    ok=0; [ "$rc" = 130 ] && ! panicked "$log" && ok=1
    record "SIG$sig during train" "exit 130, no partial output" "exit $rc after ${took}s" $ok
  fi
done

# --- concurrent runs --------------------------------------------------------
cr=$work/concurrent
# Both need every stage up to train; the second, started a moment later,
# finds the first computing (train takes seconds) and must wait and reuse.
pl "$work/c1.log" 300 run "$cfg" --runs "$cr" --set run.name=one --until train & p1=$!
sleep 0.3
pl "$work/c2.log" 300 run "$cfg" --runs "$cr" --set run.name=two --until train & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
waited=$(cat "$work/c1.log" "$work/c2.log" | grep -c "waiting: another run (pid [0-9]*, run ")
reused=$(cat "$work/c1.log" "$work/c2.log" | grep -c "computed by another run")
ran=$(cat "$work/c1.log" "$work/c2.log" | grep -c "^train *done in")
same=1
for s in ingest split balance augment train; do
  [ "$(digest "$cr/one" $s)" = "$(digest "$cr/two" $s)" ] && [ "$(digest "$cr/one" $s)" = "${want[$s]}" ] || same=0
done
ok=0; [ $r1 = 0 ] && [ $r2 = 0 ] && [ "$ran" = 1 ] && [ "$waited" -ge 1 ] && [ "$reused" -ge 1 ] && [ $same = 1 ] && ok=1
record "two runs share the cache" "one computes, other waits+reuses" "exit $r1/$r2, train computed $ran×, waited $waited, reused $reused, equal $same" $ok
# The same run folder twice at once: the second is refused.
"$bin" run "$cfg" --runs "$cr" --set run.name=one --from train --until train >"$work/c3.log" 2>&1 & p3=$!
for _ in $(seq 200); do grep -q "^train *running" "$work/c3.log" && break; sleep 0.05; done
pl "$work/c4.log" 60 run "$cfg" --runs "$cr" --set run.name=one --until split; r4=$?
kill -9 $p3 2>/dev/null; wait $p3 2>/dev/null
ok=0; [ $r4 = 1 ] && grep -q "is busy" "$work/c4.log" && grep -q "pid " "$work/c4.log" && ok=1
record "same run folder twice" "second refused (busy, pid)" "exit $r4: $(grep -o 'is busy[^:]*' "$work/c4.log" | head -1)" $ok

# --- corrupted cache files ---------------------------------------------------
corrupt_case() { # NAME STAGE FILE HOW
  local name=$1 stage=$2 file=$3 how=$4 r=$work/corrupt-$1
  mkdir -p "$r"; cp -a "$ref/." "$r/"
  local f; f=$(readlink -f "$r/ref/$stage")/$file
  case $how in
    random) python3 - "$f" <<'PY'
import os, sys
p = sys.argv[1]; n = os.path.getsize(p)
with open(p, "r+b") as f:
    f.seek(n // 3); f.write(os.urandom(min(4096, n // 3)))
PY
    ;;
    truncate) truncate -s $(( $(stat -c %s "$f") / 2 )) "$f" ;;
    strings) python3 - "$f" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
# Overwrite the first run of id-like text (string data) with 0xff bytes.
i = b.find(b"syn_")
b[i:i + 64] = b"\xff" * 64
open(p, "wb").write(bytes(b))
PY
    ;;
  esac
  pl "$r/status.log" 60 status "$cfg" --runs "$r"; local rs=$?
  local st; st=$(awk -v s="$stage" '$1==s {print $2}' "$r/status.log")
  pl "$r/verify.log" 60 verify "$r/ref"; local rv=$?
  pl "$r/rerun.log" 300 run "$cfg" --runs "$r"; local rr=$?
  pl "$r/verify2.log" 60 verify "$r/ref"; local rv2=$?
  local ok=0
  [ $rs = 0 ] && [ "$st" = stale ] && [ $rv = 1 ] && grep -q "$file" "$r/verify.log" && [ $rr = 0 ] && [ $rv2 = 0 ] &&
    [ "$(digest "$r/ref" evaluate)" = "${want[evaluate]}" ] && [ "$(digest "$r/ref" "$stage")" = "${want[$stage]}" ] &&
    ! panicked "$r/rerun.log" && ok=1
  record "corrupt $stage/$file ($how)" "stale, verify exit 1, rerun = ref" "status $st, verify $rv, rerun $rr, verify $rv2" $ok
}
corrupt_case pack ingest images.pack random
corrupt_case ages split samples.arrow random
corrupt_case trunc split samples.arrow truncate
corrupt_case garble ingest samples.arrow strings
corrupt_case model train model/variables.index random

# --- an edited resume state is refused ------------------------------------
er=$work/state
pl "$work/s0.log" 300 run "$cfg" --runs "$er" --until augment
"$bin" run "$cfg" --runs "$er" --until train >"$work/s1.log" 2>&1 & p=$!
for _ in $(seq 400); do ls "$er"/.cache/train/.scratch-*/last/state.json >/dev/null 2>&1 && break; sleep 0.05; done
kill -9 $p 2>/dev/null; wait $p 2>/dev/null
state=$(ls "$er"/.cache/train/.scratch-*/last/state.json 2>/dev/null | head -1)
if [ -n "$state" ]; then
  python3 - "$state" <<'PY'
import json, sys
p = sys.argv[1]; s = json.load(open(p)); s["epoch"] = 99
json.dump(s, open(p, "w"))
PY
  pl "$work/s2.log" 300 run "$cfg" --runs "$er" --until train --resume; rc=$?
  ok=0; [ $rc = 1 ] && grep -q "state.json was changed" "$work/s2.log" && ! panicked "$work/s2.log" && ok=1
  record "edited state.json + --resume" "refused with a reason" "exit $rc: $(grep -o 'state.json was changed[^(]*' "$work/s2.log" | head -1)" $ok
else
  record "edited state.json + --resume" "refused with a reason" "no checkpoint was written before the kill" 0
fi

# --- a full disk --------------------------------------------------------------
mnt=$work/mnt-small
mkdir -p "$mnt"
if mount -t tmpfs -o size=1m tmpfs "$mnt" 2>/dev/null; then
  # 64-pixel images: the packed file alone is 2.9 MB.
  pl "$work/full.log" 120 run "$cfg" --runs "$mnt/runs" --until split --set data.image_size=64; rc=$?
  committed_ok=1
  [ -d "$mnt/runs/ref" ] && { pl "$work/full-verify.log" 60 verify "$mnt/runs/ref" || committed_ok=0; }
  tmps=$(find "$mnt/runs/.cache" -maxdepth 2 -name '.tmp-*' 2>/dev/null | wc -l)
  ok=0; [ $rc = 1 ] && grep -qi "no space left" "$work/full.log" && ! panicked "$work/full.log" && [ $committed_ok = 1 ] && [ "$tmps" = 0 ] && ok=1
  record "disk full (1 MB tmpfs)" "exit 1 'no space', nothing half-written" "exit $rc, temp folders $tmps, committed verify $committed_ok" $ok
  umount "$mnt"
else
  results+=("disk full (1 MB tmpfs)|exit 1, nothing half-written|skipped: cannot mount a tmpfs here (needs root)|skip")
fi

# --- FIFOs in the dataset -------------------------------------------------------
fd=$work/fifo-data
mkdir -p "$fd/images"
python3 - "$fd" <<'PY'
import struct, sys, zlib
root = sys.argv[1]
def png(path, r, g, b, size=24):
    raw = b"".join(b"\x00" + bytes([r, g, b]) * size for _ in range(size))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(path, "wb").write(data)
with open(root + "/metadata.csv", "w") as m:
    m.write("file,age,gender,ethnicity\n")
    for i in range(40):
        png(f"{root}/images/f{i:02d}.png", 5 * i, 100, 255 - 5 * i)
        m.write(f"f{i:02d}.png,{20 + i},{'male' if i % 2 else 'female'},white\n")
    m.write("listed.png,30,male,white\n")
PY
mkfifo "$fd/images/listed.png" "$fd/images/unlisted.png" "$fd/stray"
cat >"$work/fifo.yaml" <<EOF
extends: $cfg
run: {name: fifo}
data: {adapter: utkface, root: $fd, max_reject_fraction: 0.1}
EOF
pl "$work/fifo-status.log" 30 status "$work/fifo.yaml" --runs "$work/fifo-runs"; r1=$?
pl "$work/fifo-run.log" 60 run "$work/fifo.yaml" --runs "$work/fifo-runs" --until ingest; r2=$?
rej=$(python3 -c "
import json; r = json.load(open('$work/fifo-runs/fifo/ingest/ingest.json'))
assert r['rows_in'] == r['samples'] + r['rejected'] == 41
print({c['Reason']: c['Count'] for c in r['rejected_by_reason']})" 2>/dev/null)
ok=0; [ $r1 = 0 ] && [ $r2 = 0 ] && grep -q "unreadable_file': 1" <<<"$rej" && ok=1
record "FIFOs in the image folder" "status+run finish, listed FIFO rejected" "status $r1, run $r2, rejected $rej" $ok

# --- extreme predictions --------------------------------------------------------
pr=$work/preds
mkdir -p "$pr"
# Ids of the synthetic set are syn_000001...; predictions for all of them.
python3 - "$pr" 240 <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
bad = ["1e300", "Inf", "-Inf", "-1e308", "NaN", "400"]
with open(d + "/mixed.csv", "w") as f:
    f.write("id,prediction\n")
    for i in range(1, n + 1):
        f.write(f"syn_{i:06d},{bad[i - 1] if i <= len(bad) else 30 + i % 20}\n")
with open(d + "/absurd.csv", "w") as f:
    f.write("id,prediction\n")
    for i in range(1, n + 1):
        f.write(f"syn_{i:06d},1e300\n")
PY
pl "$pr/mixed.log" 120 analyze "$cfg" --runs "$ref" --predictions "$pr/mixed.csv" --name mixed; r1=$?
pl "$pr/absurd.log" 120 analyze "$cfg" --runs "$ref" --predictions "$pr/absurd.csv" --name absurd; r2=$?
ok=0; [ $r1 = 0 ] && [ -f "$ref/mixed/report/report.html" ] && python3 -c "import json; json.load(open('$ref/mixed/analyze/summary.json'))" 2>/dev/null &&
  [ $r2 = 1 ] && grep -q "no predictions to analyse" "$pr/absurd.log" && ! panicked "$pr/mixed.log" && ! panicked "$pr/absurd.log" && ok=1
record "predictions 1e300/Inf/NaN" "rejected+report; all absurd: exit 1" "mixed exit $r1, all-1e300 exit $r2" $ok

# --- a csv dataset: duplicates, path escapes, injection in labels -----------
dd=$work/dup-data
mkdir -p "$dd/sub"
cp "$fd/images/f01.png" "$dd/a.png"; cp "$fd/images/f02.png" "$dd/b.png"; cp "$fd/images/f02.png" "$dd/b-copy.png"
for i in $(seq 10 39); do cp "$fd/images/f$i.png" "$dd/x$i.png"; done
evil='<script>alert(1)</script>'
{
  echo "file,age,gender,ethnicity"
  echo "a.png,30,male,white"; echo "sub/../a.png,35,male,white"; echo "b.png,40,female,white"; echo "./b.png,40,female,white"; echo "b-copy.png,40,female,white"
  echo "../../etc/passwd,30,male,white"; echo "/etc/hostname,30,male,white"
  for i in $(seq 10 39); do
    eth='a|b*_c_'; [ $((i % 3)) = 0 ] && eth="\"$evil\""
    echo "x$i.png,$i,$([ $((i % 2)) = 0 ] && echo female || echo male),$eth"
  done
} >"$dd/labels.csv"
cat >"$work/dup.yaml" <<EOF
extends: $cfg
run: {name: dup}
data: {adapter: csv, root: $dd, csv: {path: $dd/labels.csv}, max_reject_fraction: 0.3}
EOF
pl "$work/dup.log" 60 run "$work/dup.yaml" --runs "$work/dup-runs" --until split; rc=$?
got=$(python3 -c "
import json; r = json.load(open('$work/dup-runs/dup/ingest/ingest.json'))
assert r['rows_in'] == r['samples'] + r['rejected'] == 37
print(r['samples'], {c['Reason']: c['Count'] for c in r['rejected_by_reason']})" 2>/dev/null)
ok=0; [ $rc = 0 ] && grep -q "conflicting_duplicate': 2" <<<"$got" && grep -q "duplicate_file': 2" <<<"$got" &&
  grep -q "path_outside_root': 2" <<<"$got" && ok=1
record "csv: same image twice, ../ paths" "conflicts rejected, a copy kept, escapes rejected" "exit $rc: samples $got" $ok
# Labels with HTML and Markdown in them reach the report escaped.
{ echo "id,prediction"; for i in $(seq 10 39); do echo "x$i,$((i + i % 5 - 2))"; done; } >"$work/dup-preds.csv"
pl "$work/dup-report.log" 120 analyze "$work/dup.yaml" --runs "$work/dup-runs" --predictions "$work/dup-preds.csv" --name dup-audit; rc=$?
html=$work/dup-runs/dup-audit/report/report.html
raw=$(grep -cF "$evil" "$html" 2>/dev/null)
ok=0; [ $rc = 0 ] && [ -f "$html" ] && [ "$raw" = 0 ] && grep -qF "&lt;script&gt;" "$html" && ! panicked "$work/dup-report.log" && ok=1
record "HTML in labels" "escaped in report.html" "exit $rc, raw script tags: ${raw:-none}" $ok

# --- leftovers of killed runs are swept ---------------------------------------
mkdir -p "$kr/.cache/ingest/.tmp-000000000000000000000000-1"
pl "$work/sweep.log" 60 run "$cfg" --runs "$kr" --until ingest; rc=$?
ok=0; [ $rc = 0 ] && [ ! -e "$kr/.cache/ingest/.tmp-000000000000000000000000-1" ] && grep -qE "removed [1-9][0-9]* folders" "$work/sweep.log" && ok=1
record "leftover temp folder" "removed on the next start" "exit $rc: $(grep -o 'removed [0-9]* folders' "$work/sweep.log")" $ok

wall=$(( $(date +%s) - start_all ))
echo
echo "fairage stress: seed $seed, $(nproc) cores, ${wall}s"
{
  echo "case|expected|got|result"
  printf '%s\n' "${results[@]}"
} | column -t -s '|'
n=${#results[@]}
echo
echo "$n cases, $failures failed, wall ${wall}s"
[ "$failures" = 0 ]
