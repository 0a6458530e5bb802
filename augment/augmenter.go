package augment

import (
	"fmt"

	"fairage/internal/seedmix"
)

// Augmenter applies a validated recipe. It is safe for concurrent use.
type Augmenter struct {
	opts Options
}

// New validates o and returns an Augmenter for it.
func New(o Options) (*Augmenter, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Augmenter{opts: o}, nil
}

// Options returns the options the Augmenter was built with.
func (a *Augmenter) Options() Options { return a.opts }

// redraws bounds how often Params draws again when a draw would leave the
// image unchanged.
const redraws = 8

// Params returns the parameters drawn for an sh×sw source, an augmentation
// seed and an epoch. A draw in which every operation's coin came up "off"
// would make an augmented copy a pixel-identical duplicate of its
// original, so it is drawn again (from a seed derived from the first, up
// to 8 times): augmented images differ from their source unless the recipe
// makes that very unlikely. This raises each operation's effective
// probability slightly above its P.
func (a *Augmenter) Params(seed uint64, epoch int, sh, sw int) Params {
	p := a.opts.Recipe.Sample(seed, epoch, sh, sw)
	for k := uint64(1); k <= redraws && p.IsIdentity() && !a.opts.Recipe.IsEmpty(); k++ {
		p = a.opts.Recipe.Sample(seedmix.Mix(seed+k), epoch, sh, sw)
	}
	return p
}

// Apply writes the augmentation of src (sh×sw HWC RGB) for a seed and an
// epoch into dst (dh×dw HWC RGB). The output size may differ from the
// input: the geometric step resizes.
func (a *Augmenter) Apply(dst []byte, dh, dw int, src []byte, sh, sw int, seed uint64, epoch int) error {
	return ApplyParams(dst, dh, dw, src, sh, sw, a.Params(seed, epoch, sh, sw))
}

// ApplyParams writes src (sh×sw HWC RGB) transformed by p into dst (dh×dw
// HWC RGB): geometry, tone, colour, blur, noise, JPEG, in that order.
func ApplyParams(dst []byte, dh, dw int, src []byte, sh, sw int, p Params) error {
	if sh <= 0 || sw <= 0 || dh <= 0 || dw <= 0 {
		return fmt.Errorf("augment: image sizes %dx%d -> %dx%d must be positive", sh, sw, dh, dw)
	}
	if len(src) != sh*sw*3 {
		return fmt.Errorf("augment: source has %d bytes, expected %d (%dx%dx3)", len(src), sh*sw*3, sh, sw)
	}
	if len(dst) != dh*dw*3 {
		return fmt.Errorf("augment: destination has %d bytes, expected %d (%dx%dx3)", len(dst), dh*dw*3, dh, dw)
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	img := sized(&s.a, dw, dh)
	warp(img, src, sh, sw, p, s)
	tone(img, p, s)
	img = colour(img, sized(&s.b, dw, dh), p)
	gaussianBlur(img, p.Blur, s)
	addNoise(img, p.Noise, p.NoiseSeed)
	if err := recompress(img, p.JPEG, s); err != nil {
		return fmt.Errorf("augment: %w", err)
	}
	toRGB(dst, img)
	return nil
}
