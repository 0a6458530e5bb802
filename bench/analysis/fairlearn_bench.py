"""Time fairlearn's MetricFrame with bootstrap intervals on the benchmark's
predictions (bench/analysis/run.sh): per-group MAE, RMSE, mean error and
median absolute error for gender, ethnicity, age_group and gender×ethnicity,
n_boot resamples each, 95% percentile intervals.

fairlearn has no stratified bootstrap, bias score or tests; this is the work
it shares with fairage's analysis (and fairage does more: stratified
resampling and intervals for the bias, gap and ratio scores).

Prints one JSON line: rows, n_boot, wall and CPU seconds without bootstrap
and with n_boot resamples, peak RSS. summarize.py extrapolates linearly to
the Go run's resample count: t(B) = t(0) + B·(t(n_boot) − t(0))/n_boot,
since each resample is one more full MetricFrame computation.
"""
import argparse
import json
import resource
import time

import numpy as np
from fairlearn.metrics import MetricFrame
from sklearn.metrics import mean_absolute_error, mean_squared_error, median_absolute_error

from common import add_age_group, load_predictions

METRICS = {
    "mae": mean_absolute_error,
    "rmse": lambda y, p: float(np.sqrt(mean_squared_error(y, p))),
    "mean_error": lambda y, p: float(np.mean(np.asarray(p) - np.asarray(y))),
    "median_ae": median_absolute_error,
}
GROUPINGS = [["gender"], ["ethnicity"], ["age_group"], ["gender", "ethnicity"]]


def metric_frames(df, n_boot, seed):
    frames = []
    for cols in GROUPINGS:
        # fairlearn has no notion of an unknown value: rows with one are
        # left out, as fairage leaves them out of every group.
        d = df.dropna(subset=cols)
        sf = d[cols[0]] if len(cols) == 1 else d[cols]
        kw = {}
        if n_boot:
            kw = dict(n_boot=n_boot, ci_quantiles=[0.025, 0.975], random_state=seed)
        frames.append(MetricFrame(metrics=METRICS, y_true=d["y_true"], y_pred=d["y_pred"], sensitive_features=sf, **kw))
    return frames


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--n-boot", type=int, default=10)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    t = time.perf_counter()
    df = add_age_group(load_predictions(args.csv))
    load = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    metric_frames(df, 0, args.seed)
    t0, c0 = time.perf_counter() - t, time.process_time() - c
    t, c = time.perf_counter(), time.process_time()
    metric_frames(df, args.n_boot, args.seed)
    t1, c1 = time.perf_counter() - t, time.process_time() - c
    print(json.dumps({
        "tool": "fairlearn",
        "rows": len(df),
        "n_boot": args.n_boot,
        "load_s": load,
        "no_boot_s": t0,
        "boot_s": t1,
        "no_boot_cpu_s": c0,
        "boot_cpu_s": c1,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
