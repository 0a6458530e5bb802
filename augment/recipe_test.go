package augment

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestValidateRejectsBadRecipes(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"probability above 1", func(o *Options) { o.Recipe.Flip.P = 1.5 }, "augment.flip.p: 1.5 is outside [0, 1]"},
		{"negative probability", func(o *Options) { o.Recipe.Hue.P = -0.1 }, "augment.hue.p: -0.1 is outside [0, 1]"},
		{"NaN probability", func(o *Options) { o.Recipe.Blur.P = math.NaN() }, "augment.blur.p: NaN is outside [0, 1]"},
		{"rotation beyond 180", func(o *Options) { o.Recipe.Rotate.Degrees = 200 }, "augment.rotate.degrees: 200 is outside [0, 180]"},
		{"negative rotation", func(o *Options) { o.Recipe.Rotate.Degrees = -5 }, "augment.rotate.degrees: -5 is outside [0, 180]"},
		{"range min above max", func(o *Options) { o.Recipe.Brightness = Jitter{P: 1, Range: Range{0.3, 0.1}} }, "augment.brightness.range: min 0.3 is above max 0.1"},
		{"crop scale reversed", func(o *Options) { o.Recipe.Crop.Scale = Range{1, 0.5} }, "augment.crop.scale: min 1 is above max 0.5"},
		{"crop scale zero", func(o *Options) { o.Recipe.Crop.Scale = Range{0, 1} }, "augment.crop.scale: [0, 1] is outside (0, 1]"},
		{"crop ratio reversed", func(o *Options) { o.Recipe.Crop.Ratio = Range{1.2, 0.8} }, "augment.crop.ratio: min 1.2 is above max 0.8"},
		{"gamma zero", func(o *Options) { o.Recipe.Gamma = Jitter{P: 1, Range: Range{0, 2}} }, "augment.gamma.range: [0, 2] is outside (0, 10]"},
		{"jpeg quality", func(o *Options) { o.Recipe.JPEG = Jitter{P: 1, Range: Range{50, 120}} }, "augment.jpeg.range: [50, 120] is outside [1, 100]"},
		{"hue beyond half turn", func(o *Options) { o.Recipe.Hue = Jitter{P: 1, Range: Range{-200, 0}} }, "augment.hue.range: [-200, 0] is outside [-180, 180]"},
		{"translate fraction", func(o *Options) { o.Recipe.Translate.Fraction = 1 }, "augment.translate.fraction: 1 is outside [0, 1)"},
		{"mode", func(o *Options) { o.Mode = "lazy" }, `augment.mode: "lazy" is not one of none, offline, online`},
		{"workers", func(o *Options) { o.Workers = -2 }, "augment.workers: -2 is outside [0, 1024]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			tc.edit(&o)
			_, err := New(o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateAcceptsRecipes(t *testing.T) {
	for name, r := range map[string]Recipe{"default": DefaultRecipe(), "bench": benchRecipe(), "empty": {}, "everything": everything()} {
		if err := r.Validate(); err != nil {
			t.Errorf("%s recipe: %v", name, err)
		}
	}
}

// everything turns every operation on, always.
func everything() Recipe {
	return Recipe{
		Flip:       Toggle{P: 1},
		Rotate:     Rotate{P: 1, Degrees: 15},
		Crop:       Crop{P: 1, Scale: Range{0.6, 1}, Ratio: Range{0.75, 1.33}},
		Translate:  Translate{P: 1, Fraction: 0.1},
		Brightness: Jitter{P: 1, Range: Range{-0.2, 0.2}},
		Contrast:   Jitter{P: 1, Range: Range{-0.2, 0.2}},
		Saturation: Jitter{P: 1, Range: Range{-0.3, 0.3}},
		Hue:        Jitter{P: 1, Range: Range{-10, 10}},
		Gamma:      Jitter{P: 1, Range: Range{0.8, 1.25}},
		Blur:       Jitter{P: 1, Range: Range{0.2, 1.5}},
		Grayscale:  Toggle{P: 1},
		Noise:      Jitter{P: 1, Range: Range{2, 8}},
		JPEG:       Jitter{P: 1, Range: Range{50, 90}},
	}
}

// benchRecipe is the benchmark's recipe (bench/augment).
func benchRecipe() Recipe {
	return Recipe{
		Flip:       Toggle{P: 0.5},
		Rotate:     Rotate{P: 1, Degrees: 10},
		Crop:       Crop{P: 1, Scale: Range{0.8, 1}, Ratio: Range{0.9, 1.1}},
		Brightness: Jitter{P: 1, Range: Range{-0.2, 0.2}},
		Contrast:   Jitter{P: 1, Range: Range{-0.2, 0.2}},
		Saturation: Jitter{P: 1, Range: Range{-0.2, 0.2}},
		Hue:        Jitter{P: 1, Range: Range{-10, 10}},
		Blur:       Jitter{P: 1, Range: Range{0.1, 1}},
	}
}

func TestSameSeedSamePixels(t *testing.T) {
	a, err := New(Options{Mode: ModeOnline, Recipe: everything()})
	if err != nil {
		t.Fatal(err)
	}
	src := testImage(h, w)
	run := func(seed uint64, epoch int) []byte {
		dst := make([]byte, 32*32*3)
		if err := a.Apply(dst, 32, 32, src, h, w, seed, epoch); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	first := run(7, 1)
	if again := run(7, 1); !bytes.Equal(first, again) {
		t.Fatal("same seed and epoch gave different pixels")
	}
	if other := run(8, 1); bytes.Equal(first, other) {
		t.Fatal("another seed gave the same pixels")
	}
	if other := run(7, 2); bytes.Equal(first, other) {
		t.Fatal("another epoch gave the same pixels")
	}
}

func TestSampleDrawsWithinRanges(t *testing.T) {
	r := everything()
	for seed := uint64(0); seed < 500; seed++ {
		p := r.Sample(seed, 0, 200, 160)
		area := p.CropW * p.CropH / (200 * 160)
		ratio := p.CropW / p.CropH
		switch {
		case p.CropX < 0 || p.CropY < 0 || p.CropX+p.CropW > 160+1e-9 || p.CropY+p.CropH > 200+1e-9:
			t.Fatalf("seed %d: crop %+v leaves the image", seed, p)
		case area < 0.6-1e-9 || area > 1+1e-9:
			t.Fatalf("seed %d: crop covers %.3f of the area, want [0.6, 1]", seed, area)
		case ratio < 0.75-1e-9 || ratio > 1.33+1e-9:
			t.Fatalf("seed %d: crop ratio %.3f, want [0.75, 1.33]", seed, ratio)
		case math.Abs(p.Rotate) > 15 || p.Brightness < -0.2 || p.Brightness > 0.2 || p.Gamma < 0.8 || p.Gamma > 1.25:
			t.Fatalf("seed %d: %+v out of range", seed, p)
		case p.JPEG < 50 || p.JPEG > 90 || p.Noise < 2 || p.Noise > 8:
			t.Fatalf("seed %d: %+v out of range", seed, p)
		}
	}
}

func TestProbabilities(t *testing.T) {
	r := Recipe{Flip: Toggle{P: 0.3}, Hue: Jitter{P: 0, Range: Range{-10, 10}}}
	flips := 0
	const n = 4000
	for seed := uint64(0); seed < n; seed++ {
		p := r.Sample(seed, 0, 10, 10)
		if p.Flip {
			flips++
		}
		if p.Hue != 0 {
			t.Fatal("an operation with p 0 was applied")
		}
	}
	// Binomial(4000, 0.3): sd 29; allow 4 sd.
	if flips < 1200-116 || flips > 1200+116 {
		t.Fatalf("%d flips in %d draws at p 0.3", flips, n)
	}
}

func TestOperationsDrawIndependently(t *testing.T) {
	// Turning one operation on must not change what the others draw.
	a := everything()
	b := everything()
	b.Flip.P = 0
	b.Blur = Jitter{}
	for seed := uint64(0); seed < 50; seed++ {
		pa, pb := a.Sample(seed, 3, 100, 100), b.Sample(seed, 3, 100, 100)
		pa.Flip, pa.Blur = false, 0
		if pa != pb {
			t.Fatalf("seed %d: %+v vs %+v", seed, pa, pb)
		}
	}
}

func TestAugmentedCopiesDifferFromTheirOriginal(t *testing.T) {
	// With the default recipe about 2% of plain draws turn every
	// operation off; Params draws again so those copies are not
	// duplicates. (A draw can still be too weak to move a pixel, e.g. a
	// brightness shift of 0.0001, but that is rarer still.)
	a, err := New(DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	src := testImage(h, w)
	dst := make([]byte, len(src))
	plain, same := 0, 0
	const n = 400
	for seed := uint64(0); seed < n; seed++ {
		if err := a.Apply(dst, h, w, src, h, w, seed, 0); err != nil {
			t.Fatal(err)
		}
		unchanged := bytes.Equal(dst, src)
		if a.Options().Recipe.Sample(seed, 0, h, w).IsIdentity() {
			plain++
			if unchanged {
				t.Fatalf("seed %d: the redrawn copy equals its original", seed)
			}
		}
		if unchanged {
			same++
		}
	}
	if plain == 0 {
		t.Fatal("no plain draw was a no-op; the test no longer exercises the redraw")
	}
	if same > n/100 {
		t.Fatalf("%d of %d copies equal their original", same, n)
	}
}
