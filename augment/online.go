package augment

import (
	"fairage/regressor"
)

// Online returns the training loop's augmenter: every epoch draws new
// parameters from (example's AugSeed, epoch). Copies are always augmented;
// originals only when Options.Originals is set, and are otherwise copied
// through unchanged.
func (a *Augmenter) Online() regressor.Augmenter {
	return func(dst, src []byte, h, w int, ex regressor.Example, epoch int) {
		if ex.Copy == 0 && !a.opts.Originals {
			copy(dst, src)
			return
		}
		if err := a.Apply(dst, h, w, src, h, w, ex.AugSeed, epoch); err != nil {
			// Only mismatched buffer sizes fail, a bug in the caller;
			// the interface has no error, so train on the original
			// rather than on garbage.
			copy(dst, src)
		}
	}
}
