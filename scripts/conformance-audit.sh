#!/usr/bin/env bash
# Notebook conformance of the audit outputs: two audits of generated
# predictions (bench/analysis gen: gender, ethnicity with unknowns), then
# DuckDB reads every run's metrics.parquet with one query (one row per
# run for the ethnicity bias) and pandas reads predictions.parquet with
# age_group as an ordered categorical in the analysis's order. Uses the
# Python peers' venv (scripts/venv.sh: duckdb, pandas, pyarrow).
#
#   bash scripts/conformance-audit.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/venv.sh
py=build/venv/bin/python
out=build/conformance-audit
rm -rf "$out"
mkdir -p "$out"
go build -o "$out/pipeline" ./cmd/pipeline
go build -o "$out/analysisbench" ./bench/analysis
for seed in 1 2; do
  "$out/analysisbench" gen -n 20000 -seed "$seed" -out "$out/data-$seed" >/dev/null
  "$out/pipeline" audit "$out/data-$seed/predictions.csv" --runs "$out/runs" --name "audit-$seed" --id id \
    --attributes gender,ethnicity,age_group --intersections 'gender*ethnicity' \
    --set analysis.bootstrap.resamples=100 --set analysis.permutation.resamples=100 2>"$out/audit-$seed.log" >/dev/null
done
cd "$out"
"$root/$py" - <<'PY'
import duckdb, pandas as pd, pyarrow.parquet as pq, json, sys
problems = []
rows = duckdb.sql("select run, estimate from 'runs/*/analyze/metrics.parquet' "
                  "where attribute='ethnicity' and metric='bias' order by run").fetchall()
print("duckdb:", rows)
if [r[0] for r in rows] != ["audit-1", "audit-2"] or any(r[1] is None or r[1] <= 0 for r in rows):
    problems.append(f"expected one positive ethnicity bias per run, got {rows}")
inter = duckdb.sql("select count(*) from 'runs/*/analyze/metrics.parquet' where attribute='gender_x_ethnicity' and metric='mae'").fetchone()[0]
if inter != 2 * 10:
    problems.append(f"gender_x_ethnicity: {inter} group MAE rows, expected 20 (2 runs x 10 groups)")
for run in ("audit-1", "audit-2"):
    df = pd.read_parquet(f"runs/{run}/analyze/predictions.parquet")
    ag = df["age_group"]
    if not isinstance(ag.dtype, pd.CategoricalDtype) or not ag.dtype.ordered:
        problems.append(f"{run}: age_group is {ag.dtype}, expected an ordered categorical")
    elif list(ag.cat.categories) != ["0-19", "20-39", "40-59", "60+"]:
        problems.append(f"{run}: age_group categories {list(ag.cat.categories)}")
    if set(df["run"].unique()) != {run}:
        problems.append(f"{run}: run column {df['run'].unique()}")
    m = pd.read_json(f"runs/{run}/analyze/metrics.json")
    t = pq.read_table(f"runs/{run}/analyze/metrics.parquet").to_pandas()
    if len(m) != len(t) or list(m.columns) != [c for c in t.columns if c != "run"]:
        problems.append(f"{run}: metrics.json ({len(m)} rows, {list(m.columns)}) differs from metrics.parquet ({len(t)} rows)")
    print(f"pandas {run}: {len(df)} predictions, age_group {ag.dtype} {list(ag.cat.categories)}; metrics.json {len(m)} rows")
for p in problems:
    print("PROBLEM:", p)
print("conformance-audit:", "FAILED" if problems else "ok")
sys.exit(1 if problems else 0)
PY
