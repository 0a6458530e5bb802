package augment

import (
	"image"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/disintegration/gift"
	"image/jpeg"

	"fairage/internal/testdata"
)

// testImage is an h×w HWC RGB picture with smooth gradients, hard edges
// and fine texture, and no pixel at 0 or 255 so shifts are not clipped.
func testImage(h, w int) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	img := make([]byte, h*w*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y*w + x) * 3
			r := 60 + 100*float64(x)/float64(w)
			g := 60 + 100*float64(y)/float64(h)
			b := 110.0
			if dx, dy := float64(x-w/3), float64(y-h/2); dx*dx+dy*dy < float64(w*w)/36 {
				r, g, b = 180, 90, 70
			}
			if x > 2*w/3 && y > h/4 && y < h/2 {
				b = 185
			}
			n := 8 * (rng.Float64() - 0.5)
			img[i], img[i+1], img[i+2] = uint8(r+n), uint8(g+n), uint8(b+n)
		}
	}
	return img
}

// face returns one real UTKFace image (200×200) decoded to RGB, or skips.
func face(t testing.TB) ([]byte, int, int) {
	t.Helper()
	dir := testdata.UTKFace(t)
	f, err := os.Open(filepath.Join(dir, "images", "utk_000001.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	n := image.NewNRGBA(b)
	gift.New().Draw(n, img)
	out := make([]byte, b.Dx()*b.Dy()*3)
	toRGB(out, n)
	return out, b.Dy(), b.Dx()
}

func apply(t testing.TB, src []byte, sh, sw, dh, dw int, p Params) []byte {
	t.Helper()
	dst := make([]byte, dh*dw*3)
	if err := ApplyParams(dst, dh, dw, src, sh, sw, p); err != nil {
		t.Fatal(err)
	}
	return dst
}

// nrgba wraps HWC RGB bytes as an image for gift.
func nrgba(src []byte, h, w int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	fromRGB(img, src)
	return img
}

func rgbOf(img *image.NRGBA) []byte {
	out := make([]byte, img.Rect.Dx()*img.Rect.Dy()*3)
	toRGB(out, img)
	return out
}

// meanAbsDiff is the mean absolute difference per channel, in levels.
func meanAbsDiff(a, b []byte) float64 {
	s := 0.0
	for i := range a {
		s += math.Abs(float64(a[i]) - float64(b[i]))
	}
	return s / float64(len(a))
}

func maxAbsDiff(a, b []byte) int {
	m := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		m = max(m, d, -d)
	}
	return m
}

// luma is the mean Rec. 601 luma of an RGB image.
func luma(img []byte) float64 {
	s := 0.0
	for i := 0; i < len(img); i += 3 {
		s += 0.299*float64(img[i]) + 0.587*float64(img[i+1]) + 0.114*float64(img[i+2])
	}
	return s / float64(len(img)/3)
}

func stddev(img []byte) float64 {
	m := 0.0
	for _, v := range img {
		m += float64(v)
	}
	m /= float64(len(img))
	s := 0.0
	for _, v := range img {
		s += (float64(v) - m) * (float64(v) - m)
	}
	return math.Sqrt(s / float64(len(img)))
}
