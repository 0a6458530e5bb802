package augment

import (
	"image"

	"github.com/disintegration/gift"
)

// noParallel keeps gift on the calling goroutine: images are augmented in
// parallel already, and gift's per-filter goroutines would only add
// overhead at these sizes.
var noParallel = &gift.Options{Parallelization: false}

// toneFilters are gift's per-channel tone curves for p, in recipe order.
func toneFilters(p Params) []gift.Filter {
	var fs []gift.Filter
	if p.Brightness != 0 {
		fs = append(fs, gift.Brightness(float32(100*p.Brightness)))
	}
	if p.Contrast != 0 {
		fs = append(fs, gift.Contrast(float32(100*p.Contrast)))
	}
	if p.Gamma != 0 && p.Gamma != 1 {
		fs = append(fs, gift.Gamma(float32(p.Gamma)))
	}
	return fs
}

// tone applies brightness, contrast and gamma in place. They are
// per-channel curves, so gift evaluates them once on a 256-level ramp (at
// 16-bit precision between steps, as gift.GIFT chains them) and the image
// is mapped through the resulting table: gift's exact curves for the cost
// of one lookup per channel.
func tone(img *image.NRGBA, p Params, s *scratch) {
	fs := toneFilters(p)
	if len(fs) == 0 {
		return
	}
	lut := toneTable(fs, s)
	pix := img.Pix
	for i := 0; i+3 < len(pix); i += 4 {
		pix[i], pix[i+1], pix[i+2] = lut[pix[i]], lut[pix[i+1]], lut[pix[i+2]]
	}
}

// toneTable runs the filters over the ramp 0..255 and reads the curve off.
func toneTable(fs []gift.Filter, s *scratch) *[256]uint8 {
	in := &s.ramp[0]
	if in.Rect.Dx() != 256 {
		*in = *image.NewNRGBA64(image.Rect(0, 0, 256, 1))
		s.ramp[1] = *image.NewNRGBA64(image.Rect(0, 0, 256, 1))
		s.rampOut = *image.NewNRGBA(image.Rect(0, 0, 256, 1))
	}
	for v := 0; v < 256; v++ {
		c := uint8(v)
		in.Pix[8*v], in.Pix[8*v+1] = c, c // 16-bit big endian v·257
		in.Pix[8*v+2], in.Pix[8*v+3] = c, c
		in.Pix[8*v+4], in.Pix[8*v+5] = c, c
		in.Pix[8*v+6], in.Pix[8*v+7] = 0xff, 0xff
	}
	cur, next := &s.ramp[0], &s.ramp[1]
	for i, f := range fs {
		if i == len(fs)-1 {
			f.Draw(&s.rampOut, cur, noParallel)
			break
		}
		f.Draw(next, cur, noParallel)
		cur, next = next, cur
	}
	var lut [256]uint8
	for v := range lut {
		lut[v] = s.rampOut.Pix[4*v]
	}
	return &lut
}
