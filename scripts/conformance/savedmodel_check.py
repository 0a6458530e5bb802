"""A SavedModel written by `pipeline export`, loaded by TensorFlow in Python.

Loads DIR with tf.saved_model.load, runs its serving_default signature on the
images of a fairage pack (the exact uint8 bytes fairage fed the model) and
compares the ages with fairage's: a run's predictions.arrow (--predictions)
or a JSON object of id -> age (--expect). Prints a JSON summary and exits 1
when any age differs by more than --tol, or an id is missing.

Runs in the benchmark venv (bash scripts/venv.sh: tensorflow-cpu 2.18).

    python savedmodel_check.py --saved DIR --pack images.pack \
        (--predictions predictions.arrow | --expect ages.json) [--tol 1e-4]
"""

import argparse
import json
import struct
import sys

import numpy as np


def read_pack(path):
    """Reads a fairage packed-image file (dataset/packed.go): ids and a
    uint8 array [n, h, w, 3]."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"FAIRPACK":
        raise SystemExit(f"{path}: not a fairage pack (bad magic)")
    version, h, w, c = struct.unpack_from("<IIII", data, 8)
    n, index = struct.unpack_from("<QQ", data, 24)
    if version != 1 or c != 3:
        raise SystemExit(f"{path}: pack version {version} with {c} channels; this script reads version 1 RGB")
    images = np.frombuffer(data, dtype=np.uint8, count=n * h * w * c, offset=64).reshape(n, h, w, c)
    ids, off = [], index
    for _ in range(n):
        (length,) = struct.unpack_from("<I", data, off)
        ids.append(data[off + 4: off + 4 + length].decode())
        off += 4 + length
    return ids, images


def expected(args):
    if args.expect:
        with open(args.expect) as f:
            return {k: float(v) for k, v in json.load(f).items()}
    import pyarrow.ipc as ipc

    with ipc.open_file(args.predictions) as r:
        t = r.read_all()
    return dict(zip(t.column("id").to_pylist(), (float(v) for v in t.column("y_pred").to_pylist())))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--saved", required=True)
    ap.add_argument("--pack", required=True)
    ap.add_argument("--predictions")
    ap.add_argument("--expect")
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    if bool(args.predictions) == bool(args.expect):
        ap.error("give one of --predictions and --expect")

    import tensorflow as tf

    want = expected(args)
    ids, images = read_pack(args.pack)
    pos = {k: i for i, k in enumerate(ids)}
    missing = [k for k in want if k not in pos]
    if missing:
        print(json.dumps({"error": f"{len(missing)} ids not in the pack", "first": missing[:5]}))
        return 1
    keys = sorted(want)
    batch = images[[pos[k] for k in keys]]

    loaded = tf.saved_model.load(args.saved)
    sig = loaded.signatures["serving_default"]
    inputs = list(sig.structured_input_signature[1].keys())
    outputs = list(sig.structured_outputs.keys())
    got = []
    for lo in range(0, len(keys), args.batch):
        out = sig(images=tf.constant(batch[lo: lo + args.batch]))["age"]
        got.extend(np.asarray(out, dtype=np.float64).reshape(-1).tolist())
    diffs = [abs(g - want[k]) for g, k in zip(got, keys)]
    worst = int(np.argmax(diffs))
    summary = {
        "n": len(keys),
        "inputs": inputs,
        "outputs": outputs,
        "max_abs_diff": max(diffs),
        "worst": {"id": keys[worst], "python": got[worst], "fairage": want[keys[worst]]},
        "spread": float(np.ptp(got)),
        "tolerance": args.tol,
        "tensorflow": tf.__version__,
    }
    print(json.dumps(summary))
    return 0 if max(diffs) <= args.tol else 1


if __name__ == "__main__":
    sys.exit(main())
