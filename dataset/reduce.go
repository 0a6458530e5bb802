package dataset

import (
	"image"
	"image/color"
)

// Shrinking by a large ratio with a kernel costs taps in proportion to the
// ratio, so images are first box-reduced by an integer factor (an exact
// area average, as Pillow's reducing_gap does) and the kernel does the
// rest. These reductions are the only resampling fairage writes itself.

// reduceFactor is the integer box reduction to apply before the kernel:
// enough that the kernel still shrinks by 1.5 to 3, where its cost (taps
// grow with the ratio) is low and its quality unchanged. A 200-pixel crop
// going to 64 is halved first, then scaled by 1.56.
func reduceFactor(src, dst image.Rectangle) int {
	ratio := min(float64(src.Dx())/float64(dst.Dx()), float64(src.Dy())/float64(dst.Dy()))
	return max(1, int(ratio/1.5))
}

// reduce averages k×k blocks of src (an exact area average), trimming the
// remainder rows and columns evenly from both sides.
func (r *resizer) reduce(src *image.RGBA, k int) *image.RGBA {
	b := src.Bounds()
	w, h := b.Dx()/k, b.Dy()/k
	x0, y0 := b.Min.X+(b.Dx()-w*k)/2, b.Min.Y+(b.Dy()-h*k)/2
	if cap(r.small.Pix) < 4*w*h {
		r.small.Pix = make([]uint8, 4*w*h)
	}
	r.small = image.RGBA{Pix: r.small.Pix[:4*w*h], Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	if cap(r.sums) < 4*w {
		r.sums = make([]uint32, 4*w)
	}
	sums := r.sums[:4*w]
	n, half := uint32(k*k), uint32(k*k/2)
	pix := src.Pix
	for y := range h {
		clear(sums)
		for dy := range k {
			off := src.PixOffset(x0, y0+y*k+dy)
			row := pix[off : off+4*w*k]
			for i, j := 0, 0; j < len(row); i, j = i+4, j+4*k {
				for d := j; d < j+4*k; d += 4 {
					sums[i] += uint32(row[d])
					sums[i+1] += uint32(row[d+1])
					sums[i+2] += uint32(row[d+2])
					sums[i+3] += uint32(row[d+3])
				}
			}
		}
		out := r.small.Pix[y*r.small.Stride : y*r.small.Stride+4*w]
		for i, v := range sums {
			out[i] = uint8((v + half) / n)
		}
	}
	return &r.small
}

// reduceYCbCr is reduce for JPEG's YCbCr images: it averages k×k blocks of
// luma and chroma and converts each block to RGB once, instead of
// converting every source pixel first. The conversion is affine, so the
// result equals averaging RGB up to rounding and clamping.
func (r *resizer) reduceYCbCr(src *image.YCbCr, sr image.Rectangle, k int) *image.RGBA {
	w, h := sr.Dx()/k, sr.Dy()/k
	x0, y0 := sr.Min.X+(sr.Dx()-w*k)/2, sr.Min.Y+(sr.Dy()-h*k)/2
	if cap(r.small.Pix) < 4*w*h {
		r.small.Pix = make([]uint8, 4*w*h)
	}
	r.small = image.RGBA{Pix: r.small.Pix[:4*w*h], Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	if cap(r.sums) < 3*w {
		r.sums = make([]uint32, 3*w)
	}
	if src.SubsampleRatio == image.YCbCrSubsampleRatio420 && k == 2 &&
		(x0-src.Rect.Min.X)%2 == 0 && (y0-src.Rect.Min.Y)%2 == 0 && src.Rect.Min.X%2 == 0 && src.Rect.Min.Y%2 == 0 {
		halve420(src, x0, y0, &r.small)
		return &r.small
	}
	sums := r.sums[:3*w]
	hs, vs := chromaShift(src.SubsampleRatio)
	cx0, cy0 := src.Rect.Min.X>>hs, src.Rect.Min.Y>>vs
	n, half := uint32(k*k), uint32(k*k/2)
	for y := range h {
		clear(sums)
		for dy := range k {
			sy := y0 + y*k + dy
			yrow := src.Y[(sy-src.Rect.Min.Y)*src.YStride:]
			coff := ((sy >> vs) - cy0) * src.CStride
			cb, cr := src.Cb[coff:], src.Cr[coff:]
			for x := range w {
				var sY, sCb, sCr uint32
				for sx := x0 + x*k; sx < x0+x*k+k; sx++ {
					sY += uint32(yrow[sx-src.Rect.Min.X])
					ci := (sx >> hs) - cx0
					sCb += uint32(cb[ci])
					sCr += uint32(cr[ci])
				}
				sums[3*x] += sY
				sums[3*x+1] += sCb
				sums[3*x+2] += sCr
			}
		}
		out := r.small.Pix[y*r.small.Stride : y*r.small.Stride+4*w]
		for x := range w {
			cr, cg, cb := color.YCbCrToRGB(uint8((sums[3*x]+half)/n), uint8((sums[3*x+1]+half)/n), uint8((sums[3*x+2]+half)/n))
			out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = cr, cg, cb, 255
		}
	}
	return &r.small
}

// halve420 is reduceYCbCr for the common case, a 4:2:0 JPEG halved with
// blocks aligned to its chroma samples: each 2×2 luma block has exactly one
// chroma sample.
func halve420(src *image.YCbCr, x0, y0 int, dst *image.RGBA) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	cx := (x0 - src.Rect.Min.X) / 2
	for y := range h {
		yo := (y0-src.Rect.Min.Y+2*y)*src.YStride + (x0 - src.Rect.Min.X)
		y0row := src.Y[yo : yo+2*w]
		y1row := src.Y[yo+src.YStride : yo+src.YStride+2*w]
		co := ((y0-src.Rect.Min.Y)/2+y)*src.CStride + cx
		cb, cr := src.Cb[co:co+w], src.Cr[co:co+w]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
		for x := range w {
			l := (uint32(y0row[2*x]) + uint32(y0row[2*x+1]) + uint32(y1row[2*x]) + uint32(y1row[2*x+1]) + 2) / 4
			r, g, b := color.YCbCrToRGB(uint8(l), cb[x], cr[x])
			out[4*x], out[4*x+1], out[4*x+2], out[4*x+3] = r, g, b, 255
		}
	}
}

// chromaShift gives the horizontal and vertical chroma subsampling of a
// YCbCr image as shifts.
func chromaShift(r image.YCbCrSubsampleRatio) (h, v int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 1, 0
	case image.YCbCrSubsampleRatio420:
		return 1, 1
	case image.YCbCrSubsampleRatio440:
		return 0, 1
	case image.YCbCrSubsampleRatio411:
		return 2, 0
	case image.YCbCrSubsampleRatio410:
		return 2, 1
	}
	return 0, 0
}
