"""Shared loading for the fairlearn cross-check and benchmark."""
import numpy as np
import pandas as pd

# fairage's default age bins ([0,20), [20,40), [40,60), [60,∞)), labelled as
# analysis.AgeLabels labels them.
AGE_EDGES = [0, 20, 40, 60, np.inf]
AGE_LABELS = ["[0,20)", "[20,40)", "[40,60)", "[60,∞)"]


def load_predictions(path):
    # round_trip: parse floats exactly as Go wrote them (the default parser
    # may be off by one ulp, which would spoil a 1e-9 comparison's margin).
    return pd.read_csv(
        path,
        float_precision="round_trip",
        dtype={"id": str, "split": str, "gender": str, "ethnicity": str, "expression": str},
        keep_default_na=False,
        na_values={"gender": [""], "ethnicity": [""], "expression": [""]},
    )


def add_age_group(df):
    df["age_group"] = pd.cut(df["y_true"], AGE_EDGES, right=False, labels=AGE_LABELS).astype(object)
    return df
