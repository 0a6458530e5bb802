"""Python peer of the Go augmentation benchmark (main.go).

Decodes the same UTKFace JPEGs with Pillow (not timed), then applies the
same recipe with albumentations (OpenCV underneath): horizontal flip p=0.5,
rotate +-10 deg (black border), random resized crop to 64x64 (scale 0.8-1,
ratio 0.9-1.1), colour jitter (brightness, contrast, saturation 0.2, hue
10 deg), Gaussian blur sigma 0.1-1. Work is split into contiguous shares
over worker processes (each OpenCV limited to one thread); throughput is
images / the slowest worker's time, as in main.go.
"""

import argparse
import glob
import multiprocessing as mp
import os
import time

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import albumentations as A  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def recipe(size):
    return A.Compose([
        A.HorizontalFlip(p=0.5),
        A.Rotate(limit=10, border_mode=cv2.BORDER_CONSTANT, p=1.0),
        A.RandomResizedCrop(size=(size, size), scale=(0.8, 1.0), ratio=(0.9, 1.1), p=1.0),
        A.ColorJitter(brightness=0.2, contrast=0.2, saturation=0.2, hue=10 / 360, p=1.0),
        A.GaussianBlur(blur_limit=0, sigma_limit=(0.1, 1.0), p=1.0),
    ])


IMAGES = []  # filled before forking, shared copy-on-write with workers


def work(args):
    lo, hi, size, barrier = args
    cv2.setNumThreads(1)
    t = recipe(size)
    for im in IMAGES[:min(100, len(IMAGES))]:  # warm up outside the timing
        t(image=im)
    barrier.wait()
    start = time.perf_counter()
    for im in IMAGES[lo:hi]:
        t(image=im)["image"]
    return time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="../shared/datasets/utkface/images")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--size", type=int, default=64)
    a = ap.parse_args()

    names = sorted(glob.glob(os.path.join(a.dir, "*.jpg")))[: a.n]
    if len(names) < a.n:
        raise SystemExit(f"{a.dir} holds {len(names)} JPEGs, need {a.n}")
    IMAGES.extend(np.asarray(Image.open(p).convert("RGB")) for p in names)
    h, w = IMAGES[0].shape[:2]

    ctx = mp.get_context("fork")
    barrier = ctx.Manager().Barrier(a.workers)
    share = (a.n + a.workers - 1) // a.workers
    jobs = [(k * share, min((k + 1) * share, a.n), a.size, barrier) for k in range(a.workers)]
    with ctx.Pool(a.workers) as pool:
        times = pool.map(work, jobs)
    slowest = max(times)
    print(f"python workers={a.workers} images={a.n} size={w}x{h}->{a.size}x{a.size} "
          f"seconds={slowest:.3f} images_per_s={a.n / slowest:.1f}")


if __name__ == "__main__":
    main()
