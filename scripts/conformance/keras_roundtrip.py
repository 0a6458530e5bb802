"""A user's own Keras age model, for fairage's Keras round trip.

Builds a small Keras CNN (float32 RGB NHWC input scaled by 1/255 outside
the model, one output unit in years), trains it briefly on the images of a
fairage pack with the ages of --ages (JSON id -> age), exports it with
model.export(OUT) (a TF2 SavedModel with a serving_default signature) and
writes Keras' own model.predict on the same images to PREDICTIONS (JSON id ->
age). fairage then audits OUT with model.kind savedmodel and must give the
same ages (savedmodel/python_test.go, TestKerasRoundTrip).

Runs in the benchmark venv (bash scripts/venv.sh: tensorflow-cpu 2.18).

    python keras_roundtrip.py --pack images.pack --ages ages.json --out DIR \
        --predictions predicted.json [--epochs 2] [--seed 1]
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from savedmodel_check import read_pack  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pack", required=True)
    ap.add_argument("--ages", required=True, help="JSON file of the training ages, id -> age")
    ap.add_argument("--out", required=True, help="SavedModel folder to export to")
    ap.add_argument("--predictions", required=True, help="JSON file of Keras' predict, id -> age")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    import tensorflow as tf
    import keras

    keras.utils.set_random_seed(args.seed)
    ids, images = read_pack(args.pack)
    with open(args.ages) as f:
        known = json.load(f)
    missing = [i for i in ids if i not in known]
    if missing:
        raise SystemExit(f"{args.ages}: no age for {len(missing)} pack ids, e.g. {missing[:3]}")
    ages = np.array([known[i] for i in ids], dtype=np.float32)
    x = images.astype(np.float32) / np.float32(255)  # the preprocessing fairage declares: × 1/255
    h, w = images.shape[1:3]
    model = keras.Sequential([
        keras.Input((h, w, 3), name="image"),
        keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
        keras.layers.Conv2D(16, 3, strides=2, activation="relu"),
        keras.layers.BatchNormalization(),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(1),
        keras.layers.Rescaling(40.0, offset=30.0, name="years"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mae")
    model.fit(x, ages, epochs=args.epochs, batch_size=16, verbose=0)
    model.export(args.out)
    pred = model.predict(x, batch_size=32, verbose=0).reshape(-1)
    with open(args.predictions, "w") as f:
        json.dump({i: float(p) for i, p in zip(ids, pred)}, f)
    print(json.dumps({"n": len(ids), "keras": keras.__version__, "tensorflow": tf.__version__,
                      "mae": float(np.mean(np.abs(pred - ages))), "spread": float(np.ptp(pred))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
