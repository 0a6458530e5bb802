package tfmodel

import (
	"fmt"
	"math"

	"fairage/regressor"
)

// checkData rejects data the network cannot take, before any TensorFlow
// work: a missing image file, an image size other than the model's, an
// index out of range, or a target or weight that is not a finite number.
func (r *ResNet) checkData(what string, d regressor.Data, needTargets bool) error {
	if len(d.Examples) == 0 {
		return nil
	}
	if d.Images == nil {
		return fmt.Errorf("%s data: no packed images", what)
	}
	if h, w := d.Images.Height(), d.Images.Width(); h != r.cfg.InputSize || w != r.cfg.InputSize {
		return fmt.Errorf("%s data: packed images are %dx%d pixels but model.input_size is %d; pack the images at %dx%d or set model.input_size to match",
			what, w, h, r.cfg.InputSize, r.cfg.InputSize, r.cfg.InputSize)
	}
	n := d.Images.Len()
	for _, ex := range d.Examples {
		if ex.Index < 0 || ex.Index >= n {
			return fmt.Errorf("%s data: example %q has image index %d, but the packed file holds %d images", what, ex.ID, ex.Index, n)
		}
		if !needTargets {
			continue
		}
		if math.IsNaN(ex.Target) || math.IsInf(ex.Target, 0) {
			return fmt.Errorf("%s data: example %q has target %v", what, ex.ID, ex.Target)
		}
		if !(ex.Weight >= 0) || math.IsInf(ex.Weight, 0) {
			return fmt.Errorf("%s data: example %q has weight %v, expected a finite number >= 0", what, ex.ID, ex.Weight)
		}
	}
	return nil
}
