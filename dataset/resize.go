package dataset

import (
	"fmt"
	"image"
	stddraw "image/draw"

	"golang.org/x/image/draw"
)

// Fit says how a non-square image becomes a square one.
type Fit string

// Fit modes.
const (
	// FitCrop cuts the central square, then scales it (no borders; the
	// edges of wide or tall images are lost).
	FitCrop Fit = "crop"
	// FitPad scales the longer side to the target and pads the rest with
	// black, keeping the whole image.
	FitPad Fit = "pad"
)

// Values lists the fit modes (config: data.fit).
func (Fit) Values() []string { return []string{string(FitCrop), string(FitPad)} }

// Resample names an interpolation kernel of golang.org/x/image/draw.
type Resample string

// Resampling kernels, best quality first. Large reductions are first
// box-averaged to within 1.5-3× of the target (see reduceFactor), so every
// kernel sees a small ratio; CatmullRom and BiLinear also widen with the
// ratio and so anti-alias the rest, ApproxBiLinear and Nearest do not.
const (
	ResampleCatmullRom     Resample = "catmullrom"
	ResampleBiLinear       Resample = "bilinear"
	ResampleApproxBiLinear Resample = "approxbilinear"
	ResampleNearest        Resample = "nearest"
)

// Values lists the kernels (config: data.resample).
func (Resample) Values() []string {
	return []string{string(ResampleBiLinear), string(ResampleCatmullRom), string(ResampleApproxBiLinear), string(ResampleNearest)}
}

func (r Resample) interpolator() (draw.Interpolator, error) {
	switch r {
	case ResampleCatmullRom:
		return draw.CatmullRom, nil
	case ResampleBiLinear:
		return draw.BiLinear, nil
	case ResampleApproxBiLinear:
		return draw.ApproxBiLinear, nil
	case ResampleNearest:
		return draw.NearestNeighbor, nil
	}
	return nil, fmt.Errorf("resample %q is not one of catmullrom, bilinear, approxbilinear, nearest", string(r))
}

// resizer turns decoded images into height×width HWC RGB bytes (square for
// the pack, any shape for a model's input, see Resizer). One resizer
// belongs to one worker: it caches a scaler per source size (kernel scalers
// precompute weights and a scratch buffer, which is most of their cost)
// and reuses its RGBA canvas.
type resizer struct {
	w, h    int
	fit     Fit
	interp  draw.Interpolator
	canvas  *image.RGBA
	conv    image.RGBA // reused conversion buffer, see rgba
	small   image.RGBA // reused box-reduction buffer, see reduce
	sums    []uint32
	scalers map[scalerKey]draw.Scaler
}

func newResizer(size int, fit Fit, interp draw.Interpolator) *resizer {
	return newRectResizer(size, size, fit, interp)
}

func newRectResizer(height, width int, fit Fit, interp draw.Interpolator) *resizer {
	return &resizer{w: width, h: height, fit: fit, interp: interp,
		canvas: image.NewRGBA(image.Rect(0, 0, width, height)), scalers: map[scalerKey]draw.Scaler{}}
}

type scalerKey struct{ dw, dh, sw, sh int }

// maxCachedScalers bounds the per-worker cache: a folder of images of many
// different sizes must not grow it without limit.
const maxCachedScalers = 16

func (r *resizer) scaler(dw, dh, sw, sh int) draw.Scaler {
	k, ok := r.interp.(*draw.Kernel)
	if !ok {
		return r.interp // the non-kernel interpolators keep no state
	}
	key := scalerKey{dw, dh, sw, sh}
	if s, ok := r.scalers[key]; ok {
		return s
	}
	if len(r.scalers) >= maxCachedScalers {
		clear(r.scalers)
	}
	s := k.NewScaler(dw, dh, sw, sh)
	r.scalers[key] = s
	return s
}

// toRGB resizes img into dst (height*width*3 bytes, HWC RGB). Transparent
// pixels come out as black: the canvas holds premultiplied colour. Crop
// keeps the central part of the target's aspect ratio; pad scales the
// image to fit inside the target and centres it.
func (r *resizer) toRGB(img image.Image, dst []byte) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	var sr, dr image.Rectangle
	switch r.fit {
	case FitPad:
		sr = b
		dw, dh := r.w, r.h
		if w*r.h > h*r.w { // relatively wider than the target
			dh = max(1, (h*r.w+w/2)/w)
		} else if w*r.h < h*r.w {
			dw = max(1, (w*r.h+h/2)/h)
		}
		x0, y0 := (r.w-dw)/2, (r.h-dh)/2
		dr = image.Rect(x0, y0, x0+dw, y0+dh)
		if dr != r.canvas.Bounds() {
			clear(r.canvas.Pix)
		}
	default: // FitCrop
		cw, ch := w, h
		if w*r.h > h*r.w {
			cw = max(1, (h*r.w+r.h/2)/r.h)
		} else if w*r.h < h*r.w {
			ch = max(1, (w*r.h+r.w/2)/r.w)
		}
		x0, y0 := b.Min.X+(w-cw)/2, b.Min.Y+(h-ch)/2
		sr = image.Rect(x0, y0, x0+cw, y0+ch)
		dr = r.canvas.Bounds()
	}
	var src *image.RGBA
	k := reduceFactor(sr, dr)
	if ycc, ok := img.(*image.YCbCr); ok && k > 1 {
		src = r.reduceYCbCr(ycc, sr, k)
	} else {
		src = r.rgba(img, sr)
		if k > 1 {
			src = r.reduce(src, k)
		}
	}
	sr = src.Bounds()
	if sr.Dx() == dr.Dx() && sr.Dy() == dr.Dy() {
		draw.Copy(r.canvas, dr.Min, src, sr, draw.Src, nil)
	} else {
		r.scaler(dr.Dx(), dr.Dy(), sr.Dx(), sr.Dy()).Scale(r.canvas, dr, src, sr, draw.Src, nil)
	}
	pix := r.canvas.Pix
	for i, j := 0, 0; j+2 < len(dst); i, j = i+4, j+3 {
		dst[j], dst[j+1], dst[j+2] = pix[i], pix[i+1], pix[i+2]
	}
}

// maxKeptConversion bounds the conversion buffer a worker keeps between
// images (16 MiB: a 2000×2000 image).
const maxKeptConversion = 16 << 20

// rgba returns the sr part of img as RGBA. The kernel scalers convert
// YCbCr (every JPEG) to RGB once per filter tap, which made resizing cost
// four times the JPEG decode; converting each pixel once first, with the
// standard library's fast YCbCr path, removes that.
func (r *resizer) rgba(img image.Image, sr image.Rectangle) *image.RGBA {
	if src, ok := img.(*image.RGBA); ok {
		return src.SubImage(sr).(*image.RGBA)
	}
	// An opaque NRGBA image (what PNG's decoder returns for RGBA files
	// without transparency) has the same bytes as RGBA: no copy, which
	// halves the memory of a large PNG.
	if src, ok := img.(*image.NRGBA); ok && src.Opaque() {
		return (&image.RGBA{Pix: src.Pix, Stride: src.Stride, Rect: src.Rect}).SubImage(sr).(*image.RGBA)
	}
	w, h := sr.Dx(), sr.Dy()
	if 4*w*h > maxKeptConversion {
		// A rare huge image: its buffer is not kept for the rest of the
		// ingest (memory is bounded by the pixels in flight).
		big := image.NewRGBA(image.Rect(0, 0, w, h))
		stddraw.Draw(big, big.Rect, img, sr.Min, stddraw.Src)
		return big
	}
	if cap(r.conv.Pix) < 4*w*h {
		r.conv.Pix = make([]uint8, 4*w*h)
	}
	r.conv = image.RGBA{Pix: r.conv.Pix[:4*w*h], Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
	stddraw.Draw(&r.conv, r.conv.Rect, img, sr.Min, stddraw.Src)
	return &r.conv
}
