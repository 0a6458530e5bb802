// Package augment alters face images so that oversampled copies are not
// pixel-identical duplicates and the model sees varied examples: flips,
// rotations, random resized crops, translations, tone and colour jitter,
// blur, grayscale, Gaussian noise and JPEG re-compression, each with a
// probability and a range (a Recipe).
//
// Every random choice follows from (augmentation seed, epoch), and the
// augmentation seed of a plan row already encodes (run seed, sample id,
// copy), so the same plan gives the same pixels. Images are raw HWC RGB
// byte slices of any size, as stored in packed-image files.
//
// Two modes: offline writes one packed-image file holding every plan row
// (copies augmented, originals augmented only on request), in plan order,
// on a worker pool with bounded memory; online returns a
// regressor.Augmenter that draws fresh parameters every epoch. A contact
// sheet shows an original beside a few augmented copies per group.
//
// How the work is split between gift and this package. Every operation
// that gift offers keeps gift's semantics and is tested against gift's
// filter. Brightness,
// contrast and gamma are per-channel curves: gift evaluates them on a
// 256-level ramp and the image goes through the resulting table, exactly
// gift's result. Grayscale runs as a gift filter. Saturation and hue use
// gift's HSL formulas in one fused pass, geometry (crop, rotate, flip,
// translate, resize) is one inverse warp, and Gaussian blur is a separable
// fixed-point kernel: gift composes transforms as separate
// full-resolution passes through generic float pixel accessors, and the
// benchmark recipe done with gift filters alone (BenchmarkGiftOnly) takes
// about 14× as long as this package (BenchmarkApply), several times slower
// than the albumentations peer. Noise and JPEG re-compression use the
// standard library.
//
// The package knows nothing of the runner, the config loader or
// TensorFlow; the augment stage adapter maps the `augment:` YAML section
// onto Options.
package augment
