package balance

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
)

// rake fits one total per joint cell so that every attribute's groups sum to
// their targets (iterative proportional fitting, "raking"; Deming & Stephan
// 1940). With lower bounds each rescaling holds cells at their bound and
// spreads the rest over the free cells, so oversampling never drops an
// original. Cells absent from the data stay absent: if the targets need
// them, fitting stops short and a warning says how far.
func rake(ctx context.Context, p *population, seed, lower []float64, targets []map[string]float64, r Rake, ns *notes) ([]float64, error) {
	fit := append([]float64(nil), seed...)
	// members[j][g] lists the cells in group g of attribute j.
	members := make([]map[string][]int, len(p.attrs))
	for j := range p.attrs {
		members[j] = map[string][]int{}
		for ci := range p.cells {
			g := p.cells[ci].labels[j]
			members[j][g] = append(members[j][g], ci)
		}
	}
	worst := math.Inf(1)
	iters := 0
	for iters < r.MaxIterations && worst > r.Tolerance {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("balance: raking interrupted: %w", err)
		}
		iters++
		for j := range p.attrs {
			for _, g := range slices.Sorted(maps.Keys(members[j])) {
				scaleGroup(fit, lower, members[j][g], targets[j][g])
			}
		}
		worst = rakeError(fit, members, targets)
	}
	if worst > r.Tolerance {
		ns.warn("raking stopped after %d iterations with marginals up to %.2f%% off target (balance.rake.tolerance %g); some combinations of %s may be missing from the data",
			iters, 100*worst, r.Tolerance, strings.Join(p.attrs, ", "))
	} else {
		ns.info("raking converged in %d iterations (largest marginal error %.2g%%)", iters, 100*worst)
	}
	return fit, nil
}

// rakeError is the largest relative gap between a group's fitted total and
// its target.
func rakeError(fit []float64, members []map[string][]int, targets []map[string]float64) float64 {
	worst := 0.0
	for j := range members {
		for g, cells := range members[j] {
			sum := 0.0
			for _, ci := range cells {
				sum += fit[ci]
			}
			if t := targets[j][g]; t > 0 {
				worst = math.Max(worst, math.Abs(sum-t)/t)
			}
		}
	}
	return worst
}

// scaleGroup rescales the cells of one group so that they sum to target,
// with cell c never below lower[c] (nil: no bounds). It finds the factor f
// with Σ max(lower_c, f·x_c) = target exactly, by walking the cells in the
// order in which their bounds stop binding as f grows.
func scaleGroup(x, lower []float64, cells []int, target float64) {
	if lower == nil {
		sum := 0.0
		for _, c := range cells {
			sum += x[c]
		}
		if sum > 0 {
			for _, c := range cells {
				x[c] *= target / sum
			}
		}
		return
	}
	// ratio lower/x is the factor at which a cell starts to move.
	order := append([]int(nil), cells...)
	ratio := func(c int) float64 {
		if x[c] <= 0 {
			return math.Inf(1)
		}
		return lower[c] / x[c]
	}
	sort.Slice(order, func(a, b int) bool { return ratio(order[a]) < ratio(order[b]) })
	bound, free := 0.0, 0.0
	for _, c := range order {
		bound += lower[c]
	}
	if bound >= target {
		for _, c := range order {
			x[c] = lower[c]
		}
		return
	}
	f := 0.0
	for k, c := range order {
		bound -= lower[c]
		free += x[c]
		if free <= 0 {
			continue
		}
		f = (target - bound) / free
		if k+1 == len(order) || f <= ratio(order[k+1]) {
			break
		}
	}
	for _, c := range order {
		x[c] = math.Max(lower[c], f*x[c])
	}
}

// cellMarginals sums the balancing cells per group of each attribute.
func cellMarginals(p *population) ([][]groupTotal, error) {
	cells := make([]tally, len(p.cells))
	for ci := range p.cells {
		cells[ci] = tally{labels: p.cells[ci].labels, count: int64(p.cells[ci].size()), weight: float64(p.cells[ci].size())}
	}
	df := cellFrame(p.attrs, cells)
	out := make([][]groupTotal, len(p.attrs))
	for j, a := range p.attrs {
		g, err := marginal(df, a)
		if err != nil {
			return nil, fmt.Errorf("balance: %w", err)
		}
		out[j] = g
	}
	return out, nil
}

func attrName(attrs []string) string { return strings.Join(attrs, Sep) }
