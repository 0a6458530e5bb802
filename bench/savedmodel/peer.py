"""Python peer of the SavedModel benchmark (main.go): tf.saved_model.load.

Loads the SavedModel with tf.saved_model.load, with TensorFlow's intra-op and
inter-op pools set as main.go sets fairage's, and runs its serving_default
signature over the images of the same fairage pack in batches of --batch:
per batch the preprocessing (float32 × --scale, or the uint8 bytes as they
are for a fairage export), the signature call and the copy of the ages back
to numpy, as main.go times them. Prints main.go's result line: the best of
--passes after a warm-up pass, wall-clock images/s and images per CPU-second
of the process. That both sides compute the same ages is the conformance
tests' job (savedmodel/python_test.go).
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "conformance"))
from savedmodel_check import read_pack  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--saved", required=True)
    ap.add_argument("--pack", required=True)
    ap.add_argument("--label", default="model")
    ap.add_argument("--scale", type=float, default=0.0, help="float32 input × scale (0: uint8 bytes)")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--intra", type=int, default=1)
    ap.add_argument("--inter", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    args = ap.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.intra)
    tf.config.threading.set_inter_op_parallelism_threads(args.inter)
    _, images = read_pack(args.pack)
    sig = tf.saved_model.load(args.saved).signatures["serving_default"]
    (in_key,) = sig.structured_input_signature[1].keys()
    out_key = sorted(sig.structured_outputs.keys())[0]
    scale = np.float32(args.scale)

    def one_pass():
        out = []
        for lo in range(0, len(images), args.batch):
            x = images[lo: lo + args.batch]
            if args.scale:
                x = x.astype(np.float32) * scale
            out.append(sig(**{in_key: tf.constant(x)})[out_key].numpy().reshape(-1))
        return np.concatenate(out)

    best = best_cpu = 0.0
    for i in range(args.passes + 1):
        start, cpu0 = time.perf_counter(), time.process_time()
        one_pass()
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        if i > 0:
            best, best_cpu = max(best, len(images) / wall), max(best_cpu, len(images) / cpu)
    print(
        f"python {args.label}: images_per_s={best:.1f} images_per_cpu_s={best_cpu:.1f} (best of {args.passes} passes of {len(images)} images "
        f"after 1 warm-up; intra {args.intra} / inter {args.inter} threads, batch {args.batch}; tensorflow {tf.__version__})",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
