package dataset

import (
	"bytes"
	"image"
	"image/color"
	stddraw "image/draw"
	"image/jpeg"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/draw"
)

// noisyImage is a w×h image of smooth gradients plus noise, so averaging
// errors would show.
func noisyImage(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := img.PixOffset(x, y)
			img.Pix[i] = uint8(x*255/w) ^ uint8(rng.IntN(32))
			img.Pix[i+1] = uint8(y*255/h) ^ uint8(rng.IntN(32))
			img.Pix[i+2] = uint8((x+y)*127/(w+h)) + uint8(rng.IntN(32))
			img.Pix[i+3] = 255
		}
	}
	return img
}

// The YCbCr shortcuts must match converting every pixel to RGB and then
// averaging, up to rounding.
func TestReduceYCbCrMatchesRGBAverage(t *testing.T) {
	tests := []struct {
		name   string
		w, h   int
		sr     image.Rectangle
		k      int
		is420  bool
		subRat image.YCbCrSubsampleRatio
	}{
		{"4:2:0 halved (fast path)", 200, 200, image.Rect(0, 0, 200, 200), 2, true, image.YCbCrSubsampleRatio420},
		{"4:2:0 by 3", 200, 200, image.Rect(0, 0, 200, 200), 3, true, image.YCbCrSubsampleRatio420},
		{"4:2:0 odd crop halved", 201, 150, image.Rect(26, 0, 176, 150), 2, true, image.YCbCrSubsampleRatio420},
		{"4:4:4 halved", 64, 64, image.Rect(0, 0, 64, 64), 2, false, image.YCbCrSubsampleRatio444},
		{"4:2:2 by 4", 97, 80, image.Rect(8, 0, 88, 80), 4, false, image.YCbCrSubsampleRatio422},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ycc *image.YCbCr
			if tc.is420 {
				var b bytes.Buffer
				if err := jpeg.Encode(&b, noisyImage(tc.w, tc.h, 3), &jpeg.Options{Quality: 90}); err != nil {
					t.Fatal(err)
				}
				img, err := jpeg.Decode(&b)
				if err != nil {
					t.Fatal(err)
				}
				ycc = img.(*image.YCbCr)
			} else {
				// Convert an RGB picture, so colours stay in gamut as in
				// real photographs (random YCbCr would clamp everywhere).
				src := noisyImage(tc.w, tc.h, 5)
				ycc = image.NewYCbCr(image.Rect(0, 0, tc.w, tc.h), tc.subRat)
				for y := range tc.h {
					for x := range tc.w {
						i := src.PixOffset(x, y)
						yy, cb, cr := color.RGBToYCbCr(src.Pix[i], src.Pix[i+1], src.Pix[i+2])
						ycc.Y[ycc.YOffset(x, y)] = yy
						ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = cb, cr
					}
				}
			}
			if ycc.SubsampleRatio != tc.subRat {
				t.Fatalf("fixture has ratio %v, want %v", ycc.SubsampleRatio, tc.subRat)
			}
			fast := newResizer(16, FitCrop, draw.CatmullRom)
			got := fast.reduceYCbCr(ycc, tc.sr, tc.k)
			slow := newResizer(16, FitCrop, draw.CatmullRom)
			rgba := image.NewRGBA(image.Rect(0, 0, tc.sr.Dx(), tc.sr.Dy()))
			stddraw.Draw(rgba, rgba.Rect, ycc, tc.sr.Min, stddraw.Src)
			want := slow.reduce(rgba, tc.k)
			if got.Rect != want.Rect {
				t.Fatalf("size %v, want %v", got.Rect, want.Rect)
			}
			worst := 0
			for i := range got.Pix {
				d := int(got.Pix[i]) - int(want.Pix[i])
				worst = max(worst, d, -d)
			}
			// Rounding the averaged YCbCr before conversion, and clamping
			// converted pixels before averaging, differ by a few levels.
			if worst > 4 {
				t.Errorf("largest difference %d levels, want <= 4", worst)
			}
		})
	}
}

func TestReduceFactor(t *testing.T) {
	tests := []struct {
		src, dst int
		want     int
	}{
		{200, 64, 2}, {64, 64, 1}, {100, 64, 1}, {1000, 64, 10}, {32, 64, 1},
	}
	for _, tc := range tests {
		if got := reduceFactor(image.Rect(0, 0, tc.src, tc.src), image.Rect(0, 0, tc.dst, tc.dst)); got != tc.want {
			t.Errorf("%d→%d: k=%d, want %d", tc.src, tc.dst, got, tc.want)
		}
	}
}
