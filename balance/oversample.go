package balance

import (
	"context"
	"fmt"
	"math"
)

// oversampleJoint brings every cell up to the target level with copies.
func oversampleJoint(p *population, t target, o Options, d *draft, ns *notes) error {
	sizes := cellSizes(p.cells)
	lvl := t.level(sizes)
	if big := largest(p.cells); t.kind == targetCount && lvl < float64(big.size()) {
		return fmt.Errorf("balance.target: %s is below the largest cell (%s: %d); oversample cannot shrink cells",
			t.text, big.key, big.size())
	}
	goal := make([]int, len(p.cells))
	for ci := range p.cells {
		goal[ci] = max(p.cells[ci].size(), int(lvl))
	}
	applyGoals(p, goal, o.Seed, d)
	ns.info("oversampled the cells of %s below target %s = %d examples up to it (%d cells; larger cells kept as they are)",
		attrName(p.attrs), t.text, int(lvl), len(p.cells))
	noteCopies(p, goal, d, ns)
	return nil
}

// oversampleMarginal brings every group of every attribute up to its
// target with copies, choosing how many copies each joint cell gets by
// raking bounded below by the cell's size (originals are never dropped).
func oversampleMarginal(ctx context.Context, p *population, t target, o Options, d *draft, ns *notes) error {
	groups, err := cellMarginals(p)
	if err != nil {
		return err
	}
	// Every attribute's groups must add up to the same total. Each
	// attribute asks for the total its own target implies; the largest
	// wins and the others' groups are filled evenly up to it.
	sizes := make([][]float64, len(p.attrs))
	levels := make([]float64, len(p.attrs))
	total := 0.0
	for j, a := range p.attrs {
		sizes[j] = make([]float64, len(groups[j]))
		for g, gt := range groups[j] {
			sizes[j][g] = float64(gt.count)
		}
		levels[j] = t.level(sizes[j])
		if big := maxTotal(groups[j]); t.kind == targetCount && levels[j] < float64(big.count) {
			return fmt.Errorf("balance.target: %s is below the largest %s group (%s: %d); oversample cannot shrink groups",
				t.text, a, big.group, big.count)
		}
		total = math.Max(total, raisedTotal(sizes[j], levels[j]))
	}
	targets := make([]map[string]float64, len(p.attrs))
	for j, a := range p.attrs {
		lvl := waterLevel(sizes[j], total)
		if lvl > levels[j]+0.5 {
			ns.info("%s groups rise to %.0f rather than the target %s = %.0f, so that every attribute adds up to the same %.0f examples",
				a, lvl, t.text, levels[j], total)
		}
		targets[j] = map[string]float64{}
		for g, gt := range groups[j] {
			targets[j][gt.group] = math.Max(sizes[j][g], lvl)
		}
	}
	seed := make([]float64, len(p.cells))
	for ci := range p.cells {
		seed[ci] = float64(p.cells[ci].size())
	}
	fit, err := rake(ctx, p, seed, seed, targets, o.Rake, ns)
	if err != nil {
		return err
	}
	goal := make([]int, len(p.cells))
	for ci := range p.cells {
		goal[ci] = max(p.cells[ci].size(), int(math.Round(fit[ci])))
	}
	applyGoals(p, goal, o.Seed, d)
	ns.info("oversampled the marginals of %s by raking over %d joint cells: %.0f examples", attrName(p.attrs), len(p.cells), total)
	noteCopies(p, goal, d, ns)
	return nil
}

// applyGoals spreads each cell's goal over its members.
func applyGoals(p *population, goal []int, seed uint64, d *draft) {
	for ci := range p.cells {
		d.spread(&p.cells[ci], goal[ci], seed)
	}
}

// noteCopies summarises the copies and warns when some originals are
// repeated so often that the model may memorise them.
func noteCopies(p *population, goal []int, d *draft, ns *notes) {
	before, after := 0, 0
	worst, worstCell := 0.0, ""
	for ci := range p.cells {
		c := &p.cells[ci]
		before += c.size()
		after += goal[ci]
		if f := float64(goal[ci]) / float64(c.size()); f > worst {
			worst, worstCell = f, c.key
		}
	}
	ns.info("%d balanced samples become %d examples (+%d copies); %d samples left unbalanced", before, after, after-before, p.excluded())
	const heavy = 5
	if worst > heavy {
		ns.warn("cell %s is oversampled %.1f×: each of its originals appears about %.0f times, which risks memorising them; augmentation of copies matters here",
			worstCell, worst, math.Ceil(worst))
	}
}

// raisedTotal is the total after raising every size below lvl to lvl.
func raisedTotal(sizes []float64, lvl float64) float64 {
	t := 0.0
	for _, n := range sizes {
		t += math.Max(n, lvl)
	}
	return t
}

// waterLevel finds the level L with Σ max(n, L) = total ("water filling"):
// groups below L rise to it, groups above stay as they are.
func waterLevel(sizes []float64, total float64) float64 {
	lo, hi := 0.0, total
	for range 200 {
		mid := (lo + hi) / 2
		if raisedTotal(sizes, mid) < total {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

func cellSizes(cells []cell) []float64 {
	s := make([]float64, len(cells))
	for i := range cells {
		s[i] = float64(cells[i].size())
	}
	return s
}

func largest(cells []cell) *cell {
	var big *cell
	for i := range cells {
		if big == nil || cells[i].size() > big.size() {
			big = &cells[i]
		}
	}
	return big
}

func maxTotal(groups []groupTotal) groupTotal {
	var big groupTotal
	for _, g := range groups {
		if g.count > big.count {
			big = g
		}
	}
	return big
}
