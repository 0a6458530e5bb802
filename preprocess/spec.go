// Package preprocess turns face images into a model's input tensor, and a
// model's output rows into ages, exactly as the model declares: input size,
// resize kernel and fit, colour order, layout, dtype, mean, std and scale
// (Spec); years, unit interval × age_max, or class probabilities with
// per-class ages (Output). Nothing is guessed: a Spec that leaves out a
// setting that changes the numbers fails Validate, naming the key.
//
// Images come from a pack made at exactly the model's input size (the
// normal path: the pipeline packs at that size), or from the original files,
// resized by the same code Ingest uses (dataset.Resizer). A pack at another
// size is refused rather than rescaled: a model must never see images
// upscaled from a smaller pack.
//
// The package owns no model runtime; backends (onnxmodel, ...) feed the
// tensors it fills to their runtime and hand the rows back to Output.
package preprocess

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"fairage/dataset"
	"fairage/internal/spec"
)

// Color is the channel order (or grayscale) a model expects.
type Color string

// Channel orders.
const (
	RGB  Color = "rgb"
	BGR  Color = "bgr"
	Gray Color = "gray" // one channel: ITU-R 601 luma, rounded as Pillow's convert("L")
)

// Values lists the accepted values.
func (Color) Values() []string { return []string{string(RGB), string(BGR), string(Gray)} }

// Layout is the order of a tensor's dimensions.
type Layout string

// Layouts.
const (
	NHWC Layout = "nhwc" // batch, height, width, channels (TensorFlow's default)
	NCHW Layout = "nchw" // batch, channels, height, width (PyTorch's, ONNX exports')
)

// Values lists the accepted values.
func (Layout) Values() []string { return []string{string(NHWC), string(NCHW)} }

// DType is the element type of the input tensor.
type DType string

// Element types.
const (
	Float32 DType = "float32"
	Uint8   DType = "uint8" // raw bytes: the model normalises inside its graph
)

// Values lists the accepted values.
func (DType) Values() []string { return []string{string(Float32), string(Uint8)} }

// Spec declares how images become a model's input. Each value of a float32
// tensor is
//
//	x = (byte − mean[c]) / std[c] × scale
//
// computed in float32 in that order, with byte the resized pixel in the
// model's channel order and mean and std listed in that order too (for
// color bgr: blue first).
type Spec struct {
	Height   int              `yaml:"height" json:"height,omitempty" doc:"input height in pixels (the model's, from its graph)" range:"[1,4096]"`
	Width    int              `yaml:"width" json:"width,omitempty" doc:"input width in pixels" range:"[1,4096]"`
	Resample dataset.Resample `yaml:"resample" json:"resample,omitempty" doc:"resize kernel from the original image to height×width (catmullrom, bilinear, approxbilinear, nearest; large reductions are box-averaged first, as for the pack)"`
	Fit      dataset.Fit      `yaml:"fit" json:"fit,omitempty" doc:"how an image of another aspect ratio fits: crop (central part) or pad (whole image, black borders)"`
	Color    Color            `yaml:"color" json:"color,omitempty" doc:"channel order the model expects: rgb, bgr, or gray (one channel)"`
	Layout   Layout           `yaml:"layout" json:"layout,omitempty" doc:"tensor layout: nhwc or nchw"`
	DType    DType            `yaml:"dtype" json:"dtype,omitempty" doc:"input element type: float32, or uint8 when the graph normalises itself (mean, std and scale must then be left out)"`
	Mean     []float64        `yaml:"mean" json:"mean,omitempty" doc:"per-channel mean subtracted from the byte value, in the model's channel order (one value for all channels; empty: 0)"`
	Std      []float64        `yaml:"std" json:"std,omitempty" doc:"per-channel divisor applied after the mean (one value for all channels; empty: 1)"`
	Scale    float64          `yaml:"scale" json:"scale,omitempty" doc:"factor applied last, e.g. 0.00390625 for /256 or 0.003921569 for /255 (1: none)" range:"(0,inf)"`
	// GrayWeights replaces the integer luma of color gray by a float sum,
	// for models trained on such a conversion (the human library's
	// emotion model uses MATLAB's rgb2gray weights on [0, 1] values).
	GrayWeights []float64 `yaml:"gray_weights" json:"gray_weights,omitempty" doc:"color gray: weights of red, green and blue summed in float32 before mean, std and scale (e.g. [0.2989, 0.587, 0.114], MATLAB's rgb2gray); empty: Pillow's integer ITU-R 601 luma"`
}

// DefaultSpec returns the settings a model declaration may leave out: the
// project's resize (bilinear, crop), float32 and no scaling. Size, colour
// order and layout have no default.
func DefaultSpec() Spec {
	return Spec{Resample: dataset.ResampleBiLinear, Fit: dataset.FitCrop, DType: Float32, Scale: 1}
}

// Channels is the number of channels of the input: 1 for gray, else 3.
func (s Spec) Channels() int {
	if s.Color == Gray {
		return 1
	}
	return 3
}

// Shape is the tensor shape of a batch of n images.
func (s Spec) Shape(n int) []int64 {
	c, h, w := int64(s.Channels()), int64(s.Height), int64(s.Width)
	if s.Layout == NCHW {
		return []int64{int64(n), c, h, w}
	}
	return []int64{int64(n), h, w, c}
}

// PerImage is the number of tensor elements of one image.
func (s Spec) PerImage() int { return s.Height * s.Width * s.Channels() }

// Validate checks the spec; each problem names its key. Use Check to
// prefix the keys with the spec's place in a config.
func (s Spec) Validate() error { return s.Check("") }

// Check is Validate with every key prefixed by prefix (e.g.
// "model.preprocess").
func (s Spec) Check(prefix string) error {
	key := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	var errs []error
	bad := func(k, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key(k), fmt.Sprintf(format, args...)))
	}
	// Ranges and allowed values are the fields' declarations; a value the
	// model's numbers depend on is never guessed, so an empty one is an
	// error there too.
	errs = append(errs, spec.Check(prefix, &s))
	c := s.Channels()
	perChannel := func(k string, v []float64, nonzero bool) {
		if len(v) != 0 && len(v) != 1 && len(v) != c {
			bad(k, "%d values given; expected 1 or %d (one per channel of color %s)", len(v), c, s.Color)
		}
		for i, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) || (nonzero && x == 0) {
				bad(k, "item %d is %v; must be finite%s", i+1, x, map[bool]string{true: " and non-zero", false: ""}[nonzero])
			}
		}
	}
	perChannel("mean", s.Mean, false)
	perChannel("std", s.Std, true)
	if len(s.GrayWeights) > 0 {
		if s.Color != Gray || s.DType != Float32 {
			bad("gray_weights", "apply to color gray with dtype float32 only, not %s %s", s.Color, s.DType)
		}
		if len(s.GrayWeights) != 3 {
			bad("gray_weights", "%d values given; expected 3 (red, green, blue)", len(s.GrayWeights))
		}
		for i, w := range s.GrayWeights {
			if math.IsNaN(w) || math.IsInf(w, 0) {
				bad("gray_weights", "item %d is %v; must be finite", i+1, w)
			}
		}
	}
	if s.DType == Uint8 {
		for i := range c {
			if s.mean(i) != 0 || s.std(i) != 1 {
				bad("mean", "dtype uint8 passes bytes unchanged: leave mean and std out (the graph normalises)")
				break
			}
		}
		if s.Scale != 1 {
			bad("scale", "dtype uint8 passes bytes unchanged: leave scale at 1")
		}
	}
	return errors.Join(errs...)
}

func (s Spec) mean(c int) float64 { return pick(s.Mean, c, 0) }
func (s Spec) std(c int) float64  { return pick(s.Std, c, 1) }

func pick(v []float64, c int, def float64) float64 {
	switch len(v) {
	case 0:
		return def
	case 1:
		return v[0]
	}
	return v[c]
}

// String describes the spec on one line, for the run manifest and report,
// e.g. "64x64 bilinear crop, rgb nchw float32, (x − [122.782 117.001
// 104.298]) × 0.00390625".
func (s Spec) String() string {
	var b strings.Builder
	color := string(s.Color)
	if len(s.GrayWeights) > 0 {
		color += " " + list(s.GrayWeights)
	}
	fmt.Fprintf(&b, "%dx%d %s %s, %s %s %s", s.Height, s.Width, s.Resample, s.Fit, color, s.Layout, s.DType)
	if s.DType == Uint8 {
		b.WriteString(" bytes")
		return b.String()
	}
	expr := "x"
	if len(s.Mean) > 0 {
		expr = "(x − " + list(s.Mean) + ")"
	}
	if len(s.Std) > 0 {
		expr += " / " + list(s.Std)
	}
	if s.Scale != 1 {
		expr += " × " + strconv.FormatFloat(s.Scale, 'g', -1, 64)
	}
	b.WriteString(", " + expr)
	return b.String()
}

func list(v []float64) string {
	if len(v) == 1 {
		return strconv.FormatFloat(v[0], 'g', 6, 64)
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatFloat(x, 'g', 6, 64)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Feeds reports whether the tensors s makes fit a model input of the given
// shape (a dimension below 0 takes any size), and the batch size the input
// fixes (0 when it takes any).
func (s Spec) Feeds(shape []int64) (fixedBatch int, ok bool) {
	want := s.Shape(-1)
	if len(shape) != len(want) {
		return 0, false
	}
	for i := 1; i < len(want); i++ {
		if shape[i] >= 0 && shape[i] != want[i] {
			return 0, false
		}
	}
	if shape[0] > 0 {
		fixedBatch = int(shape[0])
	}
	return fixedBatch, true
}
