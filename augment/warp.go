package augment

import (
	"image"
	"math"
)

// affine maps an output pixel (u, v) to the source point it samples, in
// pixel-index coordinates (pixel i spans [i-0.5, i+0.5]):
// x = ax·u + bx·v + cx, y = ay·u + by·v + cy.
type affine struct {
	ax, bx, cx, ay, by, cy float64
}

func (m affine) at(u, v float64) (x, y float64) {
	return m.ax*u + m.bx*v + m.cx, m.ay*u + m.by*v + m.cy
}

// inverseMap composes the geometric parameters into one map from the
// dw×dh output back to the sh×sw source: undo the translation, the flip,
// the resize of the crop to the output, and the rotation about the crop's
// centre.
func inverseMap(p Params, sh, sw, dh, dw int) affine {
	cx, cy, cw, ch := p.CropX, p.CropY, p.CropW, p.CropH
	if cw <= 0 || ch <= 0 {
		cx, cy, cw, ch = 0, 0, float64(sw), float64(sh)
	}
	sx, sy := cw/float64(dw), ch/float64(dh)
	sin, cos := math.Sincos(p.Rotate * math.Pi / 180)
	f := func(u, v float64) (float64, float64) {
		// Pixel centres, so that a plain resize samples symmetrically.
		U := u + 0.5 - p.TranslateX*float64(dw)
		V := v + 0.5 - p.TranslateY*float64(dh)
		if p.Flip {
			U = float64(dw) - U
		}
		// Offsets from the crop centre, in source pixels.
		P := (U - float64(dw)/2) * sx
		Q := (V - float64(dh)/2) * sy
		// The source content turns counter-clockwise by Rotate, as gift.Rotate.
		X := P*cos - Q*sin
		Y := P*sin + Q*cos
		return cx + cw/2 + X - 0.5, cy + ch/2 + Y - 0.5
	}
	x0, y0 := f(0, 0)
	x1, y1 := f(1, 0)
	x2, y2 := f(0, 1)
	return affine{ax: x1 - x0, bx: x2 - x0, cx: x0, ay: y1 - y0, by: y2 - y0, cy: y0}
}

// warp writes the geometric part of p, applied to src (sh×sw HWC RGB), into
// dst at dst's size. Downscaling by k ≥ 2 first averages k×k blocks of the
// needed source region, so that bilinear sampling does not alias (as
// cv2.INTER_AREA would); the rest is one bilinear pass with black outside
// the source.
func warp(dst *image.NRGBA, src []byte, sh, sw int, p Params, s *scratch) {
	dh, dw := dst.Rect.Dy(), dst.Rect.Dx()
	if p.Rotate == 0 && p.TranslateX == 0 && p.TranslateY == 0 && p.CropW <= 0 && dh == sh && dw == sw {
		copyOrMirror(dst, src, p.Flip)
		return
	}
	m := inverseMap(p, sh, sw, dh, dw)
	kx := max(1, int(math.Hypot(m.ax, m.ay)))
	ky := max(1, int(math.Hypot(m.bx, m.by)))
	if kx == 1 && ky == 1 {
		bilinear(dst, src, sh, sw, m)
		return
	}
	// Bounding box of the source area the output covers, plus a pixel for
	// interpolation, within the image.
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range [4][2]float64{{-0.5, -0.5}, {float64(dw) - 0.5, -0.5}, {-0.5, float64(dh) - 0.5}, {float64(dw) - 0.5, float64(dh) - 0.5}} {
		x, y := m.at(c[0], c[1])
		minX, maxX = math.Min(minX, x), math.Max(maxX, x)
		minY, maxY = math.Min(minY, y), math.Max(maxY, y)
	}
	x0 := clamp(int(math.Floor(minX))-kx, 0, sw)
	y0 := clamp(int(math.Floor(minY))-ky, 0, sh)
	x1 := clamp(int(math.Ceil(maxX))+kx+1, 0, sw)
	y1 := clamp(int(math.Ceil(maxY))+ky+1, 0, sh)
	if x1 <= x0 || y1 <= y0 {
		clear(dst.Pix) // the output lies wholly outside the source
		fillAlpha(dst)
		return
	}
	rw, rh := (x1-x0+kx-1)/kx, (y1-y0+ky-1)/ky
	s.reduced = grow(s.reduced, rw*rh*3)
	s.acc = grow(s.acc, rw*3)
	boxReduce(s.reduced, src, s.acc, sw, x0, y0, x1, y1, kx, ky)
	// Re-express the map in reduced pixels: block j is centred on source
	// x0 + (j+0.5)·kx.
	r := affine{
		ax: m.ax / float64(kx), bx: m.bx / float64(kx), cx: (m.cx+0.5-float64(x0))/float64(kx) - 0.5,
		ay: m.ay / float64(ky), by: m.by / float64(ky), cy: (m.cy+0.5-float64(y0))/float64(ky) - 0.5,
	}
	bilinear(dst, s.reduced, rh, rw, r)
}

// copyOrMirror copies src into the same-sized dst, mirrored left to right
// when flip is set.
func copyOrMirror(dst *image.NRGBA, src []byte, flip bool) {
	w, h := dst.Rect.Dx(), dst.Rect.Dy()
	if !flip {
		fromRGB(dst, src)
		return
	}
	for y := 0; y < h; y++ {
		in := src[y*w*3 : (y+1)*w*3]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+w*4]
		for x := 0; x < w; x++ {
			i, o := (w-1-x)*3, x*4
			out[o], out[o+1], out[o+2], out[o+3] = in[i], in[i+1], in[i+2], 0xff
		}
	}
}

// boxReduce averages kx×ky blocks of the source region [x0,x1)×[y0,y1)
// into dst (RGB); blocks cut by the region's edge average what they hold.
// Rows of blocks are summed into acc, one source row at a time, so the
// inner loops walk memory in order.
func boxReduce(dst, src []byte, acc []uint32, sw, x0, y0, x1, y1, kx, ky int) {
	rw := (x1 - x0 + kx - 1) / kx
	acc = acc[:rw*3]
	full := (x1 - x0) / kx // blocks not cut by the right edge
	o := 0
	for by := y0; by < y1; by += ky {
		clear(acc)
		ey := min(by+ky, y1)
		for y := by; y < ey; y++ {
			row := src[(y*sw+x0)*3 : (y*sw+x1)*3]
			if kx == 2 {
				for j := 0; j < full; j++ {
					p, a := row[j*6:j*6+6:j*6+6], acc[j*3:j*3+3:j*3+3]
					a[0] += uint32(p[0]) + uint32(p[3])
					a[1] += uint32(p[1]) + uint32(p[4])
					a[2] += uint32(p[2]) + uint32(p[5])
				}
			} else {
				for j := 0; j < full; j++ {
					p, a := row[j*kx*3:(j+1)*kx*3], acc[j*3:j*3+3:j*3+3]
					for i := 0; i+2 < len(p); i += 3 {
						a[0] += uint32(p[i])
						a[1] += uint32(p[i+1])
						a[2] += uint32(p[i+2])
					}
				}
			}
			if full < rw { // the cut block at the right edge
				p, a := row[full*kx*3:], acc[full*3:full*3+3]
				for i := 0; i+2 < len(p); i += 3 {
					a[0] += uint32(p[i])
					a[1] += uint32(p[i+1])
					a[2] += uint32(p[i+2])
				}
			}
		}
		rows := uint32(ey - by)
		for j := 0; j < rw; j++ {
			n := rows * uint32(min(kx, x1-x0-j*kx))
			a := acc[j*3 : j*3+3 : j*3+3]
			dst[o], dst[o+1], dst[o+2] = uint8((a[0]+n/2)/n), uint8((a[1]+n/2)/n), uint8((a[2]+n/2)/n)
			o += 3
		}
	}
}

// bilinear samples src (h×w RGB) along m into every pixel of dst, with
// 8-bit fixed-point weights; points outside src blend towards black.
// Integer sample positions reproduce source pixels exactly.
func bilinear(dst *image.NRGBA, src []byte, h, w int, m affine) {
	dw, dh := dst.Rect.Dx(), dst.Rect.Dy()
	// floor via an offset so that int() truncation is floor for every
	// coordinate an image can reach.
	const off = 1 << 20
	stride := w * 3
	for v := 0; v < dh; v++ {
		x := m.bx*float64(v) + m.cx
		y := m.by*float64(v) + m.cy
		out := dst.Pix[v*dst.Stride : v*dst.Stride+dw*4]
		for u := 0; u < dw; u, x, y = u+1, x+m.ax, y+m.ay {
			xi, yi := int(x+off)-off, int(y+off)-off
			fx := int((x-float64(xi))*256 + 0.5)
			fy := int((y-float64(yi))*256 + 0.5)
			if fx == 256 {
				xi, fx = xi+1, 0
			}
			if fy == 256 {
				yi, fy = yi+1, 0
			}
			o := u * 4
			if xi >= 0 && yi >= 0 && xi+1 < w && yi+1 < h {
				i := yi*stride + xi*3
				top, bot := src[i:i+6:i+6], src[i+stride:i+stride+6:i+stride+6]
				for c := 0; c < 3; c++ {
					t := int(top[c])*(256-fx) + int(top[c+3])*fx
					b := int(bot[c])*(256-fx) + int(bot[c+3])*fx
					out[o+c] = uint8((t*(256-fy) + b*fy + 1<<15) >> 16)
				}
				out[o+3] = 0xff
				continue
			}
			for c := 0; c < 3; c++ {
				t := at(src, w, h, xi, yi, c)*(256-fx) + at(src, w, h, xi+1, yi, c)*fx
				b := at(src, w, h, xi, yi+1, c)*(256-fx) + at(src, w, h, xi+1, yi+1, c)*fx
				out[o+c] = uint8((t*(256-fy) + b*fy + 1<<15) >> 16)
			}
			out[o+3] = 0xff
		}
	}
}

// at is channel c of pixel (x, y), or black outside the image.
func at(src []byte, w, h, x, y, c int) int {
	if x < 0 || y < 0 || x >= w || y >= h {
		return 0
	}
	return int(src[(y*w+x)*3+c])
}

func fillAlpha(img *image.NRGBA) {
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
