package augment

import (
	"image"
	"image/color"
	"testing"

	"github.com/disintegration/gift"
)

// BenchmarkApply augments a 200×200 image to 64×64 with the benchmark
// recipe (bench/augment), one image per iteration.
func BenchmarkApply(b *testing.B) {
	src := testImage(200, 200)
	a, err := New(Options{Mode: ModeOnline, Recipe: benchRecipe()})
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, 64*64*3)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := a.Apply(dst, 64, 64, src, 200, 200, uint64(i), 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStages times each stage of the benchmark recipe on its own.
func BenchmarkStages(b *testing.B) {
	src := testImage(200, 200)
	s := new(scratch)
	out := sized(new(image.NRGBA), 64, 64)
	p := Params{Rotate: 7, CropX: 10, CropY: 12, CropW: 180, CropH: 176, Brightness: 0.1, Contrast: -0.1, Saturation: 0.1, Hue: 5, Blur: 0.8}
	warp(out, src, 200, 200, p, s)
	stages := []struct {
		name string
		run  func()
	}{
		{"warp", func() { warp(out, src, 200, 200, p, s) }},
		{"tone", func() { tone(out, p, s) }},
		{"colour", func() { colour(out, out, p) }},
		{"blur", func() { gaussianBlur(out, p.Blur, s) }},
		{"sample", func() { benchRecipe().Sample(1, 0, 200, 200) }},
	}
	for _, st := range stages {
		b.Run(st.name, func(b *testing.B) {
			for b.Loop() {
				st.run()
			}
		})
	}
}

// BenchmarkGiftOnly does the benchmark recipe with gift filters alone
// (gift.GIFT chaining crop, rotate, resize, flip, tone, colour and blur),
// the baseline the fused stages are measured against.
func BenchmarkGiftOnly(b *testing.B) {
	src := nrgba(testImage(200, 200), 200, 200)
	g := gift.New(
		gift.Crop(image.Rect(10, 12, 190, 188)),
		gift.Rotate(7, color.Black, gift.LinearInterpolation),
		gift.CropToSize(180, 176, gift.CenterAnchor),
		gift.Resize(64, 64, gift.LinearResampling),
		gift.FlipHorizontal(),
		gift.Brightness(10), gift.Contrast(-10), gift.Saturation(10), gift.Hue(5),
		gift.GaussianBlur(0.8),
	)
	g.SetParallelization(false)
	dst := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for b.Loop() {
		g.Draw(dst, src)
	}
}
