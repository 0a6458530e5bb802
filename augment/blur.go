package augment

import (
	"image"
	"math"
)

// gaussianBlur blurs img in place with a separable Gaussian of the given
// sigma, radius ⌈3σ⌉ and edge pixels repeated outward, as gift.GaussianBlur
// does. It works in fixed point on the 8-bit channels: gift's float
// convolution through generic pixel accessors costs about ten times more,
// and the result differs from gift's by at most one level.
func gaussianBlur(img *image.NRGBA, sigma float64, s *scratch) {
	if sigma <= 0 {
		return
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	weights := kernel(sigma)
	r := len(weights) - 1
	n := w * 3
	s.blur = grow(s.blur, n*h)
	s.pad = grow(s.pad, n+6*r)
	s.acc = grow(s.acc, n)
	tmp, pad, acc := s.blur, s.pad, s.acc

	// Horizontal pass, 8-bit in, 16-bit out (8 extra bits kept): each row
	// is copied with r edge pixels repeated on both sides, so the taps
	// need no bounds logic.
	for y := 0; y < h; y++ {
		row := img.Pix[y*img.Stride : y*img.Stride+w*4]
		for x := -r; x < w+r; x++ {
			sx := clamp(x, 0, w-1) * 4
			p := (x + r) * 3
			pad[p], pad[p+1], pad[p+2] = uint16(row[sx]), uint16(row[sx+1]), uint16(row[sx+2])
		}
		out := tmp[y*n : (y+1)*n]
		for i := range out {
			c := i + 3*r
			a := uint32(pad[c]) * weights[0]
			for k := 1; k <= r; k++ {
				a += (uint32(pad[c-3*k]) + uint32(pad[c+3*k])) * weights[k]
			}
			out[i] = uint16((a + 1<<7) >> 8)
		}
	}
	// Vertical pass, 16-bit in, 8-bit out, a row at a time: the sums fit
	// in 32 bits because the weights add up to exactly 1<<16.
	for y := 0; y < h; y++ {
		centre := tmp[y*n : (y+1)*n]
		for i, v := range centre {
			acc[i] = uint32(v) * weights[0]
		}
		for k := 1; k <= r; k++ {
			up := tmp[max(y-k, 0)*n : max(y-k, 0)*n+n]
			dn := tmp[min(y+k, h-1)*n : min(y+k, h-1)*n+n]
			wk := weights[k]
			for i := range acc {
				acc[i] += (uint32(up[i]) + uint32(dn[i])) * wk
			}
		}
		out := img.Pix[y*img.Stride : y*img.Stride+w*4]
		for x := 0; x < w; x++ {
			out[x*4] = uint8((acc[x*3] + 1<<23) >> 24)
			out[x*4+1] = uint8((acc[x*3+1] + 1<<23) >> 24)
			out[x*4+2] = uint8((acc[x*3+2] + 1<<23) >> 24)
		}
	}
}

// kernel returns the half-kernel w[0..r] in 16-bit fixed point, summing to
// 1<<16 over the full width.
func kernel(sigma float64) []uint32 {
	r := int(math.Ceil(3 * sigma))
	f := make([]float64, r+1)
	sum := 0.0
	for k := range f {
		f[k] = math.Exp(-float64(k*k) / (2 * sigma * sigma))
		if k == 0 {
			sum += f[k]
		} else {
			sum += 2 * f[k]
		}
	}
	w := make([]uint32, r+1)
	total := uint32(0)
	for k := 1; k <= r; k++ {
		w[k] = uint32(math.Round(f[k] / sum * (1 << 16)))
		total += 2 * w[k]
	}
	w[0] = 1<<16 - total // rounding error goes to the centre so weights sum exactly
	return w
}
