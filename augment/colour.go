package augment

import (
	"image"

	"github.com/disintegration/gift"
)

// colour applies saturation and hue, then grayscale, and returns the image
// that holds the result (img or spare, both of one size).
//
// Saturation and hue are gift's operations (gift.Saturation, gift.Hue:
// scale the HSL saturation, rotate the HSL hue) done in one HSL round trip
// per pixel with gift's own formulas: run as two gift filters they cost
// about 60% of a whole augmentation, mostly in gift's generic pixel
// accessors. Tests hold the result to gift's within one level.
func colour(img, spare *image.NRGBA, p Params) *image.NRGBA {
	if p.Saturation != 0 || p.Hue != 0 {
		shiftHSL(img, float32(1+max(-1, min(5, p.Saturation))), normalizeHue(float32(p.Hue/360)))
	}
	if p.Grayscale {
		gift.Grayscale().Draw(spare, img, noParallel)
		return spare
	}
	return img
}

// shiftHSL multiplies the HSL saturation by sat (capped at 1) and adds hue
// (in turns) to the hue, in place.
func shiftHSL(img *image.NRGBA, sat, hue float32) {
	const q = 1.0 / 255
	pix := img.Pix
	for i := 0; i+3 < len(pix); i += 4 {
		h, s, l := rgbToHSL(float32(pix[i])*q, float32(pix[i+1])*q, float32(pix[i+2])*q)
		s = min(s*sat, 1)
		h = normalizeHue(h + hue)
		r, g, b := hslToRGB(h, s, l)
		pix[i], pix[i+1], pix[i+2] = unit8(r), unit8(g), unit8(b)
	}
}

// rgbToHSL is gift's convertRGBToHSL (unexported there).
func rgbToHSL(r, g, b float32) (h, s, l float32) {
	hi, lo := max(r, g, b), min(r, g, b)
	l = (hi + lo) / 2
	if hi == lo {
		return 0, 0, l
	}
	d := hi - lo
	if l > 0.5 {
		s = d / (2 - hi - lo)
	} else {
		s = d / (hi + lo)
	}
	switch hi {
	case r:
		h = (g - b) / d
		if g < b {
			h += 6
		}
	case g:
		h = (b-r)/d + 2
	default:
		h = (r-g)/d + 4
	}
	return h / 6, s, l
}

// hslToRGB is gift's convertHSLToRGB (unexported there).
func hslToRGB(h, s, l float32) (r, g, b float32) {
	if s == 0 {
		return l, l, l
	}
	var q float32
	if l < 0.5 {
		q = l * (1 + s)
	} else {
		q = l + s - l*s
	}
	p := 2*l - q
	return hueToRGB(p, q, h+1/3.0), hueToRGB(p, q, h), hueToRGB(p, q, h-1/3.0)
}

func hueToRGB(p, q, t float32) float32 {
	if t < 0 {
		t++
	}
	if t > 1 {
		t--
	}
	switch {
	case t < 1/6.0:
		return p + (q-p)*6*t
	case t < 1/2.0:
		return q
	case t < 2/3.0:
		return p + (q-p)*(2/3.0-t)*6
	}
	return p
}

// normalizeHue wraps a hue in turns into [0, 1), as gift does.
func normalizeHue(h float32) float32 {
	h -= float32(int(h))
	if h < 0 {
		h++
	}
	return h
}

// unit8 converts a channel in [0, 1] to a level, rounding and clamping as
// gift does.
func unit8(v float32) uint8 {
	x := int64(v*255 + 0.5)
	return uint8(max(0, min(255, x)))
}
