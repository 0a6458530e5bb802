"""Keras peer of the Go training benchmark (main.go).

Builds the same network as tfmodel in Keras 3 on TensorFlow 2.18 (CPU):
uint8 input normalised in the model with ImageNet mean/std, ResNet stem
(7x7/2 conv without bias, batch norm, ReLU, 3x3/2 max pool), basic blocks
(resnet18/34) with 1x1 projection shortcuts, global average pooling, the
study's head (dense 512-256-128-64-32 + ReLU + dropout 0.2), one sigmoid
unit; MAE loss on targets scaled by 100, Adam. Same input size, width,
batch and thread pools as the Go side. --precision bf16 sets Keras's
mixed_bfloat16 policy (bfloat16 compute, float32 variables), the peer of
the Go side's -precision bf16. Data comes from tf.data with
prefetch, as a Keras user would feed it. Prints images/s lines in the Go
side's format: the median of the timed epochs after one warm-up epoch, and
the best of several model.predict passes after a warm-up pass.

--arch face_resnet builds dlib's face-recognition ResNet as tfmodel's
faceresnet.go does (face-api's graph): input minus mean RGB then /255,
convolutions with bias followed by a per-channel affine "scale" layer
(trainable), 'valid' strided convolutions and pooling, residualDown blocks
whose shortcut is a 2x2 average pool zero-padded to the new width, global
average pooling (the 256-d pooled features the head reads), same head.
The Keras side is written as a Keras user would (a Scale layer after each
Conv2D); the Go side folds the scale into the filters, the same function
with fewer passes over the activations (see tfmodel/faceresnet.go).
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def conv_bn(x, filters, kernel, stride, name):
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                      kernel_initializer="he_normal", name=name)(x)
    return layers.BatchNormalization(epsilon=1.001e-5, momentum=0.99, name=name + "_bn")(x)


def basic_block(x, width, stride, name):
    shortcut = x
    if stride != 1 or x.shape[-1] != width:
        shortcut = conv_bn(x, width, 1, stride, name + "_shortcut")
    y = layers.ReLU()(conv_bn(x, width, 3, stride, name + "_conv1"))
    y = conv_bn(y, width, 3, 1, name + "_conv2")
    return layers.ReLU()(layers.Add()([y, shortcut]))


def build(arch, size, width, head=(512, 256, 128, 64, 32), dropout=0.2):
    blocks = {"resnet18": [2, 2, 2, 2], "resnet34": [3, 4, 6, 3]}[arch]
    scaled = lambda base: max(1, round(base * width))  # noqa: E731
    inputs = keras.Input((size, size, 3), dtype="uint8")
    x = layers.Normalization(mean=MEAN, variance=[s * s for s in STD])(inputs)
    x = layers.ReLU()(conv_bn(x, scaled(64), 7, 2, "stem"))
    x = layers.MaxPooling2D(3, 2, padding="same")(x)
    for stage, n in enumerate(blocks):
        for i in range(n):
            stride = 2 if stage > 0 and i == 0 else 1
            x = basic_block(x, scaled(64 << stage), stride, f"stage{stage + 1}_block{i + 1}")
    x = layers.GlobalAveragePooling2D()(x)
    for units in head:
        x = layers.Dense(units, activation="relu", kernel_initializer="he_normal")(x)
        x = layers.Dropout(dropout)(x)
    out = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, out)


FACE_MEAN = [122.782, 117.001, 104.298]


class Scale(layers.Layer):
    """Per-channel affine x * weights + biases (dlib's folded batch norm)."""

    def build(self, input_shape):
        c = input_shape[-1]
        self.w = self.add_weight(shape=(c,), initializer="ones", name="weights")
        self.b = self.add_weight(shape=(c,), initializer="zeros", name="biases")

    def call(self, x):
        return x * self.w + self.b


def affine_conv(x, filters, kernel, stride, relu, name):
    pad = "same" if stride == 1 else "valid"
    x = layers.Conv2D(filters, kernel, strides=stride, padding=pad, use_bias=True,
                      kernel_initializer="he_normal", name=name + "_conv")(x)
    x = Scale(name=name + "_scale")(x)
    return layers.ReLU()(x) if relu else x


def face_residual(x, name):
    c = x.shape[-1]
    y = affine_conv(x, c, 3, 1, True, name + "_1")
    y = affine_conv(y, c, 3, 1, False, name + "_2")
    return layers.ReLU()(layers.Add()([y, x]))


def face_residual_down(x, width, name):
    y = affine_conv(x, width, 3, 2, True, name + "_1")
    y = affine_conv(y, width, 3, 1, False, name + "_2")
    pooled = layers.AveragePooling2D(2, 2, padding="valid")(x)
    if pooled.shape[1] != y.shape[1]:
        y = layers.ZeroPadding2D(((0, 1), (0, 1)))(y)
    extra = width - pooled.shape[-1]
    if extra > 0:
        pooled = layers.Lambda(lambda t: keras.ops.pad(t, [[0, 0], [0, 0], [0, 0], [0, extra]]))(pooled)
    return layers.ReLU()(layers.Add()([y, pooled]))


def build_face(size, head=(512, 256, 128, 64, 32), dropout=0.2):
    inputs = keras.Input((size, size, 3), dtype="uint8")
    x = layers.Normalization(mean=FACE_MEAN, variance=[255.0 ** 2] * 3)(inputs)
    x = affine_conv(x, 32, 7, 2, True, "conv32_down")
    x = layers.MaxPooling2D(3, 2, padding="valid")(x)
    for i in range(3):
        x = face_residual(x, f"conv32_{i + 1}")
    x = face_residual_down(x, 64, "conv64_down")
    for i in range(3):
        x = face_residual(x, f"conv64_{i + 1}")
    x = face_residual_down(x, 128, "conv128_down")
    for i in range(2):
        x = face_residual(x, f"conv128_{i + 1}")
    x = face_residual_down(x, 256, "conv256_down")
    for i in range(2):
        x = face_residual(x, f"conv256_{i + 1}")
    x = face_residual_down(x, 256, "conv256_down_out")
    x = layers.GlobalAveragePooling2D()(x)
    for units in head:
        x = layers.Dense(units, activation="relu", kernel_initializer="he_normal")(x)
        x = layers.Dropout(dropout)(x)
    out = layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(inputs, out)


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.times = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(time.perf_counter() - self.start)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--arch", default="resnet18")
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--predicts", type=int, default=3)
    p.add_argument("--intra", type=int, default=2)
    p.add_argument("--inter", type=int, default=1)
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                   help="bf16: keras.mixed_precision policy mixed_bfloat16 (variables float32)")
    a = p.parse_args()
    if a.precision == "bf16":
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    tf.config.threading.set_intra_op_parallelism_threads(a.intra)
    tf.config.threading.set_inter_op_parallelism_threads(a.inter)
    keras.utils.set_random_seed(1)

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(a.n, a.size, a.size, 3), dtype=np.uint8)
    ages = (1 + 89 * rng.random(a.n)).astype(np.float32)
    train = (tf.data.Dataset.from_tensor_slices((images, ages / 100.0))
             .shuffle(a.n, seed=1).batch(a.batch).prefetch(tf.data.AUTOTUNE))
    infer = tf.data.Dataset.from_tensor_slices(images).batch(a.batch).prefetch(tf.data.AUTOTUNE)

    model = build_face(a.size) if a.arch == "face_resnet" else build(a.arch, a.size, a.width)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mae", metrics=["mae"])
    timer = EpochTimer()
    model.fit(train, epochs=a.epochs, verbose=0, callbacks=[timer])
    rates = sorted(a.n / t for t in timer.times[1:])
    print(f"keras train {a.arch} {a.size}x{a.size} width {a.width:g} batch {a.batch} precision {a.precision}: "
          f"images_per_s={rates[len(rates) // 2]:.1f} (median of {len(rates)} epochs of {a.n} images after 1 warm-up)")

    model.predict(infer, verbose=0)  # warm-up
    best = 0.0
    for _ in range(a.predicts):
        start = time.perf_counter()
        model.predict(infer, verbose=0)
        best = max(best, a.n / (time.perf_counter() - start))
    print(f"keras predict {a.arch} {a.size}x{a.size} width {a.width:g} batch {a.batch} precision {a.precision}: "
          f"images_per_s={best:.1f} (best of {a.predicts} passes)")


if __name__ == "__main__":
    main()
