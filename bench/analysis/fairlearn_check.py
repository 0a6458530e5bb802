"""Cross-check fairage's per-group metrics against fairlearn's MetricFrame.

Reads the predictions CSV and the metrics CSV that `analysisbench analyze`
wrote for the same file, recomputes every group's MAE, RMSE, mean error and
median absolute error with MetricFrame (gender, ethnicity, age_group and
gender×ethnicity, rows with an unknown value left out as fairage does),
fairlearn's difference() against fairage's gap, min/max ratio against
fairage's ratio, and the study's mean pairwise bias from fairlearn's group
MAEs against fairage's bias. Every value must agree to 1e-9 (absolute, or
relative for values above 1). Exits 1 on any mismatch.

    python bench/analysis/fairlearn_check.py PREDICTIONS.csv METRICS.csv
"""
import itertools
import sys

import pandas as pd
from fairlearn.metrics import MetricFrame

from common import add_age_group, load_predictions
from fairlearn_bench import GROUPINGS, METRICS

TOL = 1e-9


def close(a, b):
    return abs(a - b) <= TOL * max(1.0, abs(b))


def main(pred_csv, metrics_csv):
    df = add_age_group(load_predictions(pred_csv))
    ours = pd.read_csv(metrics_csv, keep_default_na=False, dtype={"group": str})
    ours = {(r.attribute, r.group, r.metric): float(r.estimate) for r in ours.itertuples()}
    checked, worst, failures = 0, 0.0, []

    def check(key, theirs):
        nonlocal checked, worst
        mine = ours.get(key)
        if mine is None:
            failures.append(f"{key}: missing from fairage's metrics")
            return
        checked += 1
        worst = max(worst, abs(mine - theirs) / max(1.0, abs(theirs)))
        if not close(mine, theirs):
            failures.append(f"{key}: fairage {mine!r}, fairlearn {theirs!r}")

    for cols in GROUPINGS:
        d = df.dropna(subset=cols)
        sf = d[cols[0]] if len(cols) == 1 else d[cols]
        mf = MetricFrame(metrics=METRICS, y_true=d["y_true"], y_pred=d["y_pred"], sensitive_features=sf)
        attr = "×".join(cols)
        for idx, row in mf.by_group.iterrows():
            group = "×".join(idx) if isinstance(idx, tuple) else idx
            for m in METRICS:
                check((attr, group, m), float(row[m]))
        maes = mf.by_group["mae"].tolist()
        pairs = list(itertools.combinations(maes, 2))
        check((attr, "", "bias"), sum(abs(a - b) for a, b in pairs) / len(pairs))
        check((attr, "", "gap"), float(mf.difference()["mae"]))
        check((attr, "", "ratio"), float(mf.ratio()["mae"]))
        check((attr, "", "unknown"), float(len(df) - len(d)))
    overall = MetricFrame(metrics=METRICS, y_true=df["y_true"], y_pred=df["y_pred"], sensitive_features=df["gender"].fillna("?"))
    for m in METRICS:
        check(("overall", "", m), float(overall.overall[m]))

    print(f"fairlearn check: {checked} values compared, max relative difference {worst:.2e}, "
          f"{len(failures)} above {TOL:g}")
    for f in failures:
        print("  MISMATCH", f)
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
