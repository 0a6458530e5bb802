package balance

import (
	"fmt"
	"math"

	"fairage/dataset"
)

// applyLDS multiplies every sample's weight by its label-distribution
// smoothing weight. The density is that of the plan as drafted (copies and
// group weights included), so LDS evens out the ages the model will
// actually see.
func applyLDS(samples []*dataset.Sample, d *draft, l LDS, ns *notes) error {
	ages := make([]float64, len(samples))
	mass := make([]float64, len(samples))
	for i, s := range samples {
		if math.IsNaN(s.Age) || math.IsInf(s.Age, 0) {
			return fmt.Errorf("balance.lds: sample %s has age %v; LDS needs a finite age for every training sample", s.ID, s.Age)
		}
		ages[i] = s.Age
		mass[i] = float64(d.times[i]) * d.weight[i]
	}
	w, density := ldsWeights(ages, mass, l)
	lo, hi := math.Inf(1), 0.0
	for i := range w {
		if d.times[i] == 0 {
			continue
		}
		d.weight[i] *= w[i]
		lo, hi = math.Min(lo, w[i]), math.Max(hi, w[i])
	}
	ns.info("label-distribution smoothing (Gaussian kernel of %d bins, sigma %g years, bins of %g years, power %g) over %d age bins: weights %.3g to %.3g before normalisation",
		l.KernelSize, l.Sigma, l.BinWidth, l.Power, len(density), lo, hi)
	if noteSpread(lo, hi, "ages", ns) && l.Power > 0.5 {
		ns.info("balance.lds.power 0.5 (square-root inverse density, as Yang et al. use for age) narrows the spread")
	}
	return nil
}

// ldsWeights returns each sample's LDS weight, (smoothed density)^-power,
// and the smoothed density per bin. mass is each sample's share of the
// histogram (its number of examples times its weight).
//
// The kernel is renormalised over the bins that exist, so the first and
// last ages are not treated as rare merely for lying at the edge: a flat
// histogram gives equal weights everywhere.
func ldsWeights(ages, mass []float64, l LDS) (weights, density []float64) {
	if len(ages) == 0 {
		return nil, nil
	}
	lo, hi := ages[0], ages[0]
	for _, a := range ages {
		lo, hi = math.Min(lo, a), math.Max(hi, a)
	}
	bin := func(a float64) int { return int(math.Floor((a - lo) / l.BinWidth)) }
	nb := bin(hi) + 1
	hist := make([]float64, nb)
	for i, a := range ages {
		hist[bin(a)] += mass[i]
	}
	half := l.KernelSize / 2
	kernel := make([]float64, 2*half+1)
	for j := -half; j <= half; j++ {
		d := float64(j) * l.BinWidth
		kernel[j+half] = math.Exp(-d * d / (2 * l.Sigma * l.Sigma))
	}
	density = make([]float64, nb)
	for b := range density {
		sum, norm := 0.0, 0.0
		for j := -half; j <= half; j++ {
			if k := b + j; k >= 0 && k < nb {
				sum += kernel[j+half] * hist[k]
				norm += kernel[j+half]
			}
		}
		density[b] = sum / norm
	}
	weights = make([]float64, len(ages))
	for i, a := range ages {
		if dens := density[bin(a)]; dens > 0 {
			weights[i] = math.Pow(dens, -l.Power)
		}
	}
	return weights, density
}
