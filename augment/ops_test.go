package augment

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/disintegration/gift"
)

const h, w = 48, 64

func TestFlipIsAnExactMirror(t *testing.T) {
	src := testImage(h, w)
	tests := []struct {
		name string
		p    Params
	}{
		{"copy path", Params{Flip: true}},
		{"warp path", Params{Flip: true, CropW: w, CropH: h}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := apply(t, src, h, w, h, w, tc.p)
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					i, j := (y*w+x)*3, (y*w+w-1-x)*3
					if !bytes.Equal(got[i:i+3], src[j:j+3]) {
						t.Fatalf("pixel (%d,%d) is %v, mirror source is %v", x, y, got[i:i+3], src[j:j+3])
					}
				}
			}
		})
	}
}

func TestIdentityParamsChangeNothing(t *testing.T) {
	src := testImage(h, w)
	tests := []struct {
		name string
		p    Params
	}{
		{"zero params", Params{}},
		{"rotate by 0", Params{Rotate: 0}},
		{"rotate by 0 through the warp", Params{Rotate: 0, CropW: w, CropH: h}},
		{"gamma 1, hue 0", Params{Gamma: 1, Hue: 0}},
		{"rotate by 360", Params{Rotate: 360, CropW: w, CropH: h}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := apply(t, src, h, w, h, w, tc.p); !bytes.Equal(got, src) {
				t.Fatalf("changed %d levels at most", maxAbsDiff(got, src))
			}
		})
	}
}

func TestRotationMatchesGift(t *testing.T) {
	src := testImage(w, w) // square, so a quarter turn keeps the frame
	t.Run("quarter turn is exact", func(t *testing.T) {
		want := image.NewNRGBA(image.Rect(0, 0, w, w))
		gift.Rotate90().Draw(want, nrgba(src, w, w), nil)
		if got := apply(t, src, w, w, w, w, Params{Rotate: 90}); !bytes.Equal(got, rgbOf(want)) {
			t.Fatalf("differs from gift.Rotate90 by up to %d levels", maxAbsDiff(got, rgbOf(want)))
		}
	})
	for _, deg := range []float64{-10, 7.5, 33} {
		t.Run("small angle", func(t *testing.T) {
			// gift.Rotate enlarges the frame; cropping it back is only
			// centred when the growth is even, so pick such a size.
			rot := gift.Rotate(float32(deg), color.Black, gift.LinearInterpolation)
			n := w
			for (rot.Bounds(image.Rect(0, 0, n, n)).Dx()-n)%2 != 0 {
				n++
			}
			src := testImage(n, n)
			g := gift.New(rot, gift.CropToSize(n, n, gift.CenterAnchor))
			want := image.NewNRGBA(image.Rect(0, 0, n, n))
			g.Draw(want, nrgba(src, n, n))
			got := apply(t, src, n, n, n, n, Params{Rotate: deg})
			// Both are bilinear about the centre and differ only in weight
			// precision: tolerance 0.05 levels on average, 1 at most.
			if d, m := meanAbsDiff(got, rgbOf(want)), maxAbsDiff(got, rgbOf(want)); d > 0.05 || m > 1 {
				t.Fatalf("rotation by %v differs from gift by %.3f levels on average, %d at most", deg, d, m)
			}
		})
	}
}

func TestResizeMatchesGift(t *testing.T) {
	src, sh, sw := face(t)
	for _, out := range []int{64, 100, 150} {
		want := image.NewNRGBA(image.Rect(0, 0, out, out))
		gift.Resize(out, out, gift.LinearResampling).Draw(want, nrgba(src, sh, sw), nil)
		got := apply(t, src, sh, sw, out, out, Params{})
		// Box pre-reduction plus bilinear against gift's tent filter:
		// tolerance 1 level on average (measured 0.25-0.65).
		if d := meanAbsDiff(got, rgbOf(want)); d > 1 {
			t.Errorf("200→%d differs from gift.Resize by %.2f levels on average", out, d)
		}
	}
}

func TestToneOperations(t *testing.T) {
	src := testImage(h, w) // all levels in [56, 189]: no clipping below
	tests := []struct {
		name  string
		p     Params
		check func(t *testing.T, got []byte)
	}{
		{"brightness +0.1 adds 25.5 levels", Params{Brightness: 0.1}, func(t *testing.T, got []byte) {
			// Tolerance: half a level of rounding.
			if d := luma(got) - luma(src); math.Abs(d-25.5) > 0.5 {
				t.Fatalf("mean luma moved by %.2f, want 25.5 ± 0.5", d)
			}
		}},
		{"brightness -0.2 removes 51 levels", Params{Brightness: -0.2}, func(t *testing.T, got []byte) {
			if d := luma(got) - luma(src); math.Abs(d+51) > 0.5 {
				t.Fatalf("mean luma moved by %.2f, want -51 ± 0.5", d)
			}
		}},
		{"contrast +0.3 spreads levels", Params{Contrast: 0.3}, func(t *testing.T, got []byte) {
			if stddev(got) <= 1.2*stddev(src) {
				t.Fatalf("std %.1f, source %.1f", stddev(got), stddev(src))
			}
		}},
		{"gamma 1.5 brightens", Params{Gamma: 1.5}, func(t *testing.T, got []byte) {
			if luma(got) <= luma(src)+5 {
				t.Fatalf("mean luma %.1f, source %.1f", luma(got), luma(src))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := apply(t, src, h, w, h, w, tc.p)
			tc.check(t, got)
			// The lookup table must give what gift gives on the image.
			want := image.NewNRGBA(image.Rect(0, 0, w, h))
			gift.New(toneFilters(tc.p)...).Draw(want, nrgba(src, h, w))
			if d := maxAbsDiff(got, rgbOf(want)); d > 1 {
				t.Fatalf("differs from gift by %d levels", d)
			}
		})
	}
}

func TestColourOperations(t *testing.T) {
	src := testImage(h, w)
	gray := func(t *testing.T, got []byte) {
		for i := 0; i < len(got); i += 3 {
			if got[i] != got[i+1] || got[i+1] != got[i+2] {
				t.Fatalf("pixel %d is %v, not gray", i/3, got[i:i+3])
			}
		}
	}
	tests := []struct {
		name  string
		p     Params
		check func(t *testing.T, got []byte)
	}{
		{"grayscale", Params{Grayscale: true}, gray},
		{"saturation -1 is gray", Params{Saturation: -1}, func(t *testing.T, got []byte) {
			for i := 0; i < len(got); i += 3 {
				if maxAbsDiff(got[i:i+1], got[i+1:i+2]) > 1 || maxAbsDiff(got[i+1:i+2], got[i+2:i+3]) > 1 {
					t.Fatalf("pixel %d is %v, not gray", i/3, got[i:i+3])
				}
			}
		}},
		{"hue 120 cycles the channels", Params{Hue: 120}, func(t *testing.T, got []byte) {
			// A third of the way round the wheel maps red to green, green
			// to blue and blue to red, exactly up to rounding.
			for i := 0; i < len(got); i += 3 {
				if d := maxAbsDiff([]byte{got[i+1], got[i+2], got[i]}, src[i:i+3]); d > 2 {
					t.Fatalf("pixel %d: %v from %v", i/3, got[i:i+3], src[i:i+3])
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, apply(t, src, h, w, h, w, tc.p))
		})
	}
}

func TestBlurMatchesGift(t *testing.T) {
	src := testImage(h, w)
	for _, sigma := range []float64{0.5, 1, 2.5} {
		want := image.NewNRGBA(image.Rect(0, 0, w, h))
		gift.GaussianBlur(float32(sigma)).Draw(want, nrgba(src, h, w), nil)
		got := apply(t, src, h, w, h, w, Params{Blur: sigma})
		if d := maxAbsDiff(got, rgbOf(want)); d > 1 {
			t.Errorf("sigma %v: differs from gift.GaussianBlur by %d levels (tolerance 1)", sigma, d)
		}
		if stddev(got) >= stddev(src) {
			t.Errorf("sigma %v: blur did not smooth (std %.1f → %.1f)", sigma, stddev(src), stddev(got))
		}
	}
}

func TestNoiseAndJPEG(t *testing.T) {
	src := testImage(h, w)
	t.Run("noise has the drawn spread", func(t *testing.T) {
		got := apply(t, src, h, w, h, w, Params{Noise: 10, NoiseSeed: 9})
		var sum, sq float64
		for i := range got {
			d := float64(got[i]) - float64(src[i])
			sum, sq = sum+d, sq+d*d
		}
		n := float64(len(got))
		mean, sd := sum/n, math.Sqrt(sq/n-(sum/n)*(sum/n))
		// 9216 draws: the mean is within 0.5 and the sd within 0.5 of 10.
		if math.Abs(mean) > 0.5 || math.Abs(sd-10) > 0.5 {
			t.Fatalf("noise mean %.2f sd %.2f, want 0 and 10", mean, sd)
		}
		if again := apply(t, src, h, w, h, w, Params{Noise: 10, NoiseSeed: 9}); !bytes.Equal(got, again) {
			t.Fatal("same noise seed gave different pixels")
		}
	})
	t.Run("jpeg alters but keeps the picture", func(t *testing.T) {
		got := apply(t, src, h, w, h, w, Params{JPEG: 70})
		d := meanAbsDiff(got, src)
		if d == 0 || d > 6 {
			t.Fatalf("quality 70 changed pixels by %.2f levels on average, want (0, 6]", d)
		}
	})
}

func TestApplyRejectsBadBuffers(t *testing.T) {
	src := testImage(h, w)
	tests := []struct {
		name           string
		dst            []byte
		dh, dw, sh, sw int
	}{
		{"short source", make([]byte, h*w*3), h, w, h + 1, w},
		{"short destination", make([]byte, 10), h, w, h, w},
		{"zero size", make([]byte, 0), 0, w, h, w},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := ApplyParams(tc.dst, tc.dh, tc.dw, src, tc.sh, tc.sw, Params{}); err == nil {
				t.Fatal("accepted mismatched buffers")
			}
		})
	}
}

func TestGeometryMovesPixelsWhereExpected(t *testing.T) {
	src := testImage(h, w)
	t.Run("translate shifts by whole pixels and fills black", func(t *testing.T) {
		got := apply(t, src, h, w, h, w, Params{TranslateX: 0.25, TranslateY: -0.125}) // +16, -6 pixels
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := (y*w + x) * 3
				sx, sy := x-16, y+6
				want := []byte{0, 0, 0}
				if sx >= 0 && sy < h {
					j := (sy*w + sx) * 3
					want = src[j : j+3]
				}
				if !bytes.Equal(got[i:i+3], want) {
					t.Fatalf("pixel (%d,%d) is %v, want %v", x, y, got[i:i+3], want)
				}
			}
		}
	})
	t.Run("crop at its own size is the exact region", func(t *testing.T) {
		const cx, cy, cw, ch = 10, 5, 32, 24
		got := apply(t, src, h, w, ch, cw, Params{CropX: cx, CropY: cy, CropW: cw, CropH: ch})
		for y := 0; y < ch; y++ {
			i, j := y*cw*3, ((cy+y)*w+cx)*3
			if !bytes.Equal(got[i:i+cw*3], src[j:j+cw*3]) {
				t.Fatalf("row %d differs from the source region", y)
			}
		}
	})
	t.Run("crop resized up covers the same content", func(t *testing.T) {
		// The top-left quarter at double size: every output 2×2 block
		// averages to roughly its source pixel.
		got := apply(t, src, h, w, h, w, Params{CropW: w / 2, CropH: h / 2})
		small := apply(t, got, h, w, h/2, w/2, Params{})
		want := make([]byte, 0, len(small))
		for y := 0; y < h/2; y++ {
			want = append(want, src[y*w*3:(y*w+w/2)*3]...)
		}
		if d := meanAbsDiff(small, want); d > 3 {
			t.Fatalf("upscaled crop scaled back differs by %.2f levels on average", d)
		}
	})
}

func TestColourMatchesGift(t *testing.T) {
	src := testImage(h, w)
	tests := []Params{
		{Saturation: 0.3}, {Saturation: -0.5}, {Saturation: 4}, {Hue: 10}, {Hue: -170},
		{Saturation: 0.2, Hue: -8}, {Saturation: -0.2, Hue: 25, Grayscale: true},
	}
	for _, p := range tests {
		var fs []gift.Filter
		if p.Saturation != 0 {
			fs = append(fs, gift.Saturation(float32(100*p.Saturation)))
		}
		if p.Hue != 0 {
			fs = append(fs, gift.Hue(float32(p.Hue)))
		}
		if p.Grayscale {
			fs = append(fs, gift.Grayscale())
		}
		want := image.NewNRGBA(image.Rect(0, 0, w, h))
		gift.New(fs...).Draw(want, nrgba(src, h, w))
		// gift rounds to 16 bits between its filters, the fused pass not
		// at all: tolerance one level.
		if d := maxAbsDiff(apply(t, src, h, w, h, w, p), rgbOf(want)); d > 1 {
			t.Errorf("%+v: differs from gift by %d levels", p, d)
		}
	}
}
