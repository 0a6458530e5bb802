package augment

import (
	"math"
	"math/rand/v2"
)

// Params are the drawn parameters of one augmented image. The zero value
// changes nothing.
type Params struct {
	Flip bool
	// Rotate is the angle in degrees, counter-clockwise.
	Rotate float64
	// CropX, CropY, CropW, CropH is the crop in source pixels; CropW = 0
	// means the whole image.
	CropX, CropY, CropW, CropH float64
	// TranslateX, TranslateY shift the output by a fraction of its size.
	TranslateX, TranslateY float64
	// Brightness, Contrast and Saturation are fractions, Hue is degrees;
	// 0 changes nothing.
	Brightness, Contrast, Saturation, Hue float64
	// Gamma is the gamma; 0 and 1 change nothing.
	Gamma float64
	// Blur is the Gaussian sigma in output pixels; 0 means none.
	Blur      float64
	Grayscale bool
	// Noise is the noise standard deviation in levels; NoiseSeed seeds the
	// noise pixels.
	Noise     float64
	NoiseSeed uint64
	// JPEG is the re-compression quality; 0 means none.
	JPEG int
}

// IsIdentity reports whether p changes nothing.
func (p Params) IsIdentity() bool {
	return p == Params{} || p == Params{Gamma: 1}
}

// Operation streams: each operation draws from its own stream, so changing
// one operation's probability or range never changes what another draws.
const (
	streamFlip = iota + 1
	streamRotate
	streamCrop
	streamTranslate
	streamBrightness
	streamContrast
	streamSaturation
	streamHue
	streamGamma
	streamBlur
	streamGrayscale
	streamNoise
	streamJPEG
)

// Sample draws the parameters for an h×w source image from the recipe, for
// one augmentation seed (a plan row's AugSeed) and epoch.
func (r Recipe) Sample(seed uint64, epoch int, h, w int) Params {
	base := EpochSeed(seed, epoch)
	src := rand.NewPCG(base, 0)
	rng := rand.New(src)
	stream := func(op uint64) *rand.Rand {
		src.Seed(base, op) // one generator, re-seeded per operation
		return rng
	}
	var p Params
	if s := stream(streamFlip); coin(s, r.Flip.P) {
		p.Flip = true
	}
	if s := stream(streamRotate); coin(s, r.Rotate.P) {
		p.Rotate = uniform(s, Range{-r.Rotate.Degrees, r.Rotate.Degrees})
	}
	if s := stream(streamCrop); coin(s, r.Crop.P) {
		p.CropX, p.CropY, p.CropW, p.CropH = resizedCrop(s, r.Crop, float64(h), float64(w))
	}
	if s := stream(streamTranslate); coin(s, r.Translate.P) {
		f := Range{-r.Translate.Fraction, r.Translate.Fraction}
		p.TranslateX, p.TranslateY = uniform(s, f), uniform(s, f)
	}
	p.Brightness = jitter(stream(streamBrightness), r.Brightness, 0)
	p.Contrast = jitter(stream(streamContrast), r.Contrast, 0)
	p.Saturation = jitter(stream(streamSaturation), r.Saturation, 0)
	p.Hue = jitter(stream(streamHue), r.Hue, 0)
	p.Gamma = jitter(stream(streamGamma), r.Gamma, 1)
	p.Blur = jitter(stream(streamBlur), r.Blur, 0)
	p.Grayscale = coin(stream(streamGrayscale), r.Grayscale.P)
	if s := stream(streamNoise); coin(s, r.Noise.P) {
		p.Noise, p.NoiseSeed = uniform(s, r.Noise.Range), s.Uint64()
	}
	if s := stream(streamJPEG); coin(s, r.JPEG.P) {
		lo, hi := int(math.Ceil(r.JPEG.Range.Min)), int(math.Floor(r.JPEG.Range.Max))
		p.JPEG = lo + s.IntN(max(1, hi-lo+1))
	}
	return p
}

func coin(s *rand.Rand, p float64) bool { return p > 0 && s.Float64() < p }

func uniform(s *rand.Rand, r Range) float64 { return r.Min + (r.Max-r.Min)*s.Float64() }

// jitter draws the operation's value, or returns off when the coin says
// no.
func jitter(s *rand.Rand, j Jitter, off float64) float64 {
	if !coin(s, j.P) {
		return off
	}
	return uniform(s, j.Range)
}

// resizedCrop draws a crop as torchvision's RandomResizedCrop does: up to
// ten tries at an area fraction and a log-uniform aspect ratio that fit,
// then a centre crop at the nearest allowed ratio.
func resizedCrop(s *rand.Rand, c Crop, h, w float64) (x, y, cw, ch float64) {
	area := h * w
	logRatio := Range{math.Log(c.Ratio.Min), math.Log(c.Ratio.Max)}
	for range 10 {
		a := area * uniform(s, c.Scale)
		ratio := math.Exp(uniform(s, logRatio))
		cw, ch = math.Sqrt(a*ratio), math.Sqrt(a/ratio)
		if cw <= w && ch <= h {
			return (w - cw) * s.Float64(), (h - ch) * s.Float64(), cw, ch
		}
	}
	cw, ch = w, h
	switch in := w / h; {
	case in < c.Ratio.Min:
		ch = w / c.Ratio.Min
	case in > c.Ratio.Max:
		cw = h * c.Ratio.Max
	}
	return (w - cw) / 2, (h - ch) / 2, cw, ch
}
