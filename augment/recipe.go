package augment

import (
	"errors"
	"fmt"
	"math"

	"fairage/internal/spec"
)

// Range is a closed interval [Min, Max] that a parameter is drawn from
// uniformly.
type Range struct {
	Min, Max float64
}

// FromConfig reads [min, max].
func (r *Range) FromConfig(raw any) error {
	lo, hi, err := spec.Pair(raw)
	r.Min, r.Max = lo, hi
	return err
}

// ToConfig writes [min, max].
func (r Range) ToConfig() any { return []any{r.Min, r.Max} }

// ConfigType names the setting's form in the config reference.
func (Range) ConfigType() string { return "[min, max]" }

// Toggle is an operation without a parameter, applied with probability P.
type Toggle struct {
	P float64 `yaml:"p" range:"[0,1]" doc:"Probability (0 turns it off)."`
}

// Jitter is an operation applied with probability P, its strength drawn
// from Range.
type Jitter struct {
	P     float64 `yaml:"p" range:"[0,1]" doc:"Probability (0 turns it off)."`
	Range Range   `yaml:"range" doc:"[min, max] the strength is drawn from uniformly."`
}

// Rotate turns the image by an angle drawn from [-Degrees, Degrees]
// (counter-clockwise positive), filling uncovered corners with black.
type Rotate struct {
	P       float64 `yaml:"p" range:"[0,1]" doc:"Probability of a rotation."`
	Degrees float64 `yaml:"degrees" range:"[0,180]" doc:"Rotation angle drawn from ±degrees."`
}

// Crop is a random resized crop (Szegedy et al. 2015, as in torchvision):
// a region covering a Scale fraction of the image area, with width/height
// ratio drawn log-uniformly from Ratio, resized to the output size.
type Crop struct {
	P     float64 `yaml:"p" range:"[0,1]" doc:"Probability of a random resized crop."`
	Scale Range   `yaml:"scale" doc:"Crop area as a fraction of the image, [min, max] within (0, 1]."`
	Ratio Range   `yaml:"ratio" doc:"Crop width/height ratio, [min, max] (log-uniform)."`
}

// Translate shifts the image by up to Fraction of its width and height in
// each direction, filling with black.
type Translate struct {
	P        float64 `yaml:"p" range:"[0,1]" doc:"Probability of a translation."`
	Fraction float64 `yaml:"fraction" range:"[0,1)" doc:"Largest shift as a fraction of width and height."`
}

// Recipe lists the operations and their ranges. The geometric operations
// apply first (crop, rotate, flip, translate, in one pass), then tone
// (brightness, contrast, gamma), colour (saturation, hue, grayscale), blur,
// noise and JPEG re-compression, always in that order. An operation with
// P = 0 is off.
type Recipe struct {
	Flip      Toggle    `yaml:"flip" doc:"Horizontal mirror."`
	Rotate    Rotate    `yaml:"rotate" doc:"Rotation, corners filled with black."`
	Crop      Crop      `yaml:"crop" doc:"Random resized crop (as torchvision's)."`
	Translate Translate `yaml:"translate" doc:"Shift, filled with black."`
	// Brightness adds a shift in [-1, 1] of full scale to every channel
	// (augment.brightness; gift.Brightness).
	Brightness Jitter `yaml:"brightness" doc:"Additive brightness shift, a fraction of full scale in [-1, 1]."`
	// Contrast scales distances from mid-grey; the value in [-1, 1] is the
	// change as a fraction (augment.contrast; gift.Contrast).
	Contrast Jitter `yaml:"contrast" doc:"Contrast change as a fraction in [-1, 1]."`
	// Saturation changes HSL saturation by a fraction in [-1, 5]
	// (augment.saturation; gift.Saturation).
	Saturation Jitter `yaml:"saturation" doc:"Saturation change as a fraction in [-1, 5]."`
	// Hue rotates the hue by degrees in [-180, 180] (augment.hue; gift.Hue).
	Hue Jitter `yaml:"hue" doc:"Hue rotation in degrees, in [-180, 180]."`
	// Gamma applies a gamma in (0, 10]; 1 is no change (augment.gamma;
	// gift.Gamma).
	Gamma Jitter `yaml:"gamma" doc:"Gamma in (0, 10] (1 = no change)."`
	// Blur is a Gaussian blur with sigma in pixels of the output, in
	// [0, 20] (augment.blur).
	Blur Jitter `yaml:"blur" doc:"Gaussian blur sigma in output pixels, in [0, 20]."`
	// Grayscale replaces colour by luma (augment.grayscale; gift.Grayscale).
	Grayscale Toggle `yaml:"grayscale" doc:"Replace colour by luma."`
	// Noise adds Gaussian noise with a standard deviation in [0, 255]
	// levels (augment.noise).
	Noise Jitter `yaml:"noise" doc:"Gaussian noise standard deviation in levels, in [0, 255]."`
	// JPEG re-compresses at a quality in [1, 100] (augment.jpeg).
	JPEG Jitter `yaml:"jpeg" doc:"JPEG re-compression quality, in [1, 100]."`
}

// DefaultRecipe is a mild recipe for faces: flips, small rotations and
// crops, light colour jitter. Faces are not flipped upside down and keep
// most of the frame, since age cues (wrinkles, hairline) are easy to crop
// away.
func DefaultRecipe() Recipe {
	return Recipe{
		Flip:       Toggle{P: 0.5},
		Rotate:     Rotate{P: 0.5, Degrees: 10},
		Crop:       Crop{P: 0.5, Scale: Range{0.8, 1}, Ratio: Range{0.9, 1.1}},
		Brightness: Jitter{P: 0.5, Range: Range{-0.1, 0.1}},
		Contrast:   Jitter{P: 0.5, Range: Range{-0.1, 0.1}},
		Saturation: Jitter{P: 0.3, Range: Range{-0.2, 0.2}},
	}
}

// IsEmpty reports whether every operation is off (P = 0).
func (r Recipe) IsEmpty() bool {
	return r.Flip.P == 0 && r.Rotate.P == 0 && r.Crop.P == 0 && r.Translate.P == 0 &&
		r.Brightness.P == 0 && r.Contrast.P == 0 && r.Saturation.P == 0 && r.Hue.P == 0 &&
		r.Gamma.P == 0 && r.Blur.P == 0 && r.Grayscale.P == 0 && r.Noise.P == 0 && r.JPEG.P == 0
}

// Validate checks probabilities and ranges. Errors name the YAML key.
func (r Recipe) Validate() error {
	errs := []error{spec.Check("augment", &r)}
	check := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if r.Crop.P > 0 {
		check(span("augment.crop.scale", r.Crop.Scale, 0, 1, true))
		check(span("augment.crop.ratio", r.Crop.Ratio, 0, math.Inf(1), true))
	} else {
		for _, c := range []struct {
			key string
			r   Range
		}{{"augment.crop.scale", r.Crop.Scale}, {"augment.crop.ratio", r.Crop.Ratio}} {
			if c.r.Min > c.r.Max {
				check(fmt.Errorf("%s: min %v is above max %v", c.key, c.r.Min, c.r.Max))
			}
		}
	}
	// A jitter's bounds depend on the operation, so they live here rather
	// than on the shared Jitter type; an operation that is off keeps its
	// range unchecked against them.
	jitters := []struct {
		key    string
		j      Jitter
		lo, hi float64
		openLo bool
	}{
		{"augment.brightness", r.Brightness, -1, 1, false},
		{"augment.contrast", r.Contrast, -1, 1, false},
		{"augment.saturation", r.Saturation, -1, 5, false},
		{"augment.hue", r.Hue, -180, 180, false},
		{"augment.gamma", r.Gamma, 0, 10, true},
		{"augment.blur", r.Blur, 0, 20, false},
		{"augment.noise", r.Noise, 0, 255, false},
		{"augment.jpeg", r.JPEG, 1, 100, false},
	}
	for _, j := range jitters {
		if j.j.P > 0 {
			check(span(j.key+".range", j.j.Range, j.lo, j.hi, j.openLo))
		} else if j.j.Range.Min > j.j.Range.Max {
			// An inverted range is a mistake even when the operation is off.
			check(fmt.Errorf("%s.range: min %v is above max %v", j.key, j.j.Range.Min, j.j.Range.Max))
		}
	}
	return errors.Join(errs...)
}

// span checks that r is ordered and lies within [lo, hi] (or (lo, hi] when
// openLo).
func span(key string, r Range, lo, hi float64, openLo bool) error {
	if math.IsNaN(r.Min) || math.IsNaN(r.Max) {
		return fmt.Errorf("%s: [%v, %v] is not a number range", key, r.Min, r.Max)
	}
	if r.Min > r.Max {
		return fmt.Errorf("%s: min %v is above max %v", key, r.Min, r.Max)
	}
	below := r.Min < lo || (openLo && r.Min <= lo)
	if below || r.Max > hi {
		open := "["
		if openLo {
			open = "("
		}
		return fmt.Errorf("%s: [%v, %v] is outside %s%v, %v]", key, r.Min, r.Max, open, lo, hi)
	}
	return nil
}
