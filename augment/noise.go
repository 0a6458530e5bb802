package augment

import (
	"image"
	"math/rand/v2"
)

// addNoise adds zero-mean Gaussian noise of standard deviation sigma
// (levels) to every channel, seeded so the same parameters give the same
// noise.
func addNoise(img *image.NRGBA, sigma float64, seed uint64) {
	if sigma <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(seed, streamNoise))
	pix := img.Pix
	for i := 0; i+3 < len(pix); i += 4 {
		for c := 0; c < 3; c++ {
			v := float64(pix[i+c]) + sigma*rng.NormFloat64()
			pix[i+c] = uint8(max(0, min(255, v+0.5)))
		}
	}
}
