package balance

import (
	"context"
	"math"
)

// reweightJoint gives every sample of cell g the loss weight n/(k·n_g), so
// that each of the k cells carries the same total weight n/k.
func reweightJoint(p *population, d *draft, ns *notes) {
	n := 0
	for ci := range p.cells {
		n += p.cells[ci].size()
	}
	k := float64(len(p.cells))
	lo, hi := math.Inf(1), 0.0
	for ci := range p.cells {
		c := &p.cells[ci]
		w := float64(n) / (k * float64(c.size()))
		lo, hi = math.Min(lo, w), math.Max(hi, w)
		for _, i := range c.members {
			d.weight[i] = w
		}
	}
	ns.info("reweighted %d cells of %s with w = n/(k·n_g): weights %.3g to %.3g before normalisation", len(p.cells), attrName(p.attrs), lo, hi)
	noteSpread(lo, hi, "cells", ns)
}

// reweightMarginal rakes the cell totals to equal groups on every
// attribute (same overall total) and weights each sample by its cell's
// fitted total over its size: the classical raking weights of survey
// statistics.
func reweightMarginal(ctx context.Context, p *population, o Options, d *draft, ns *notes) error {
	groups, err := cellMarginals(p)
	if err != nil {
		return err
	}
	n := 0.0
	seed := make([]float64, len(p.cells))
	for ci := range p.cells {
		seed[ci] = float64(p.cells[ci].size())
		n += seed[ci]
	}
	targets := make([]map[string]float64, len(p.attrs))
	for j := range p.attrs {
		targets[j] = map[string]float64{}
		for _, g := range groups[j] {
			targets[j][g.group] = n / float64(len(groups[j]))
		}
	}
	fit, err := rake(ctx, p, seed, nil, targets, o.Rake, ns)
	if err != nil {
		return err
	}
	lo, hi := math.Inf(1), 0.0
	for ci := range p.cells {
		w := fit[ci] / seed[ci]
		lo, hi = math.Min(lo, w), math.Max(hi, w)
		for _, i := range p.cells[ci].members {
			d.weight[i] = w
		}
	}
	ns.info("reweighted the marginals of %s by raking over %d joint cells: weights %.3g to %.3g before normalisation", attrName(p.attrs), len(p.cells), lo, hi)
	noteSpread(lo, hi, "cells", ns)
	return nil
}

// noteSpread warns when a few samples carry most of the loss: the
// gradient then depends on a handful of faces and training gets noisy.
// between names what the weights vary over ("cells", "ages"). It reports
// whether it warned.
func noteSpread(lo, hi float64, between string, ns *notes) bool {
	const wide = 10
	if lo > 0 && hi/lo > wide {
		ns.warn("loss weights differ %.0f× between %s; the few heaviest samples will dominate the loss and make training noisy", hi/lo, between)
		return true
	}
	return false
}
