package balance

import (
	"fairage/dataset"
)

// draft is the plan before it is written out: how many examples each
// training sample contributes (0 = dropped, 1 = the original, k = the
// original and k-1 copies) and the loss weight of each of them.
type draft struct {
	times  []int
	weight []float64
}

func newDraft(n int) *draft {
	d := &draft{times: make([]int, n), weight: make([]float64, n)}
	for i := range d.times {
		d.times[i], d.weight[i] = 1, 1
	}
	return d
}

// examples is the number of plan rows.
func (d *draft) examples() int {
	n := 0
	for _, t := range d.times {
		n += t
	}
	return n
}

// spread gives a cell of n members total appearances: every member
// ⌊total/n⌋, and a seeded random choice of total mod n members one more,
// so no member repeats before every member has been used.
func (d *draft) spread(c *cell, total int, seed uint64) {
	n := c.size()
	q, r := total/n, total%n
	for _, i := range c.members {
		d.times[i] = q
	}
	if r == 0 {
		return
	}
	rng := cellRand(seed, c.key)
	for _, k := range rng.Perm(n)[:r] {
		d.times[c.members[k]]++
	}
}

// rows writes the plan: samples in ID order, each original followed by its
// copies, weights normalised to mean 1 over the rows.
func (d *draft) rows(samples []*dataset.Sample, seed uint64) []dataset.PlanRow {
	var total float64
	n := 0
	for i, t := range d.times {
		total += float64(t) * d.weight[i]
		n += t
	}
	scale := 1.0
	if total > 0 {
		scale = float64(n) / total
	}
	out := make([]dataset.PlanRow, 0, n)
	for i, s := range samples {
		for c := 0; c < d.times[i]; c++ {
			out = append(out, dataset.PlanRow{SampleID: s.ID, Copy: int32(c),
				AugSeed: AugSeed(seed, s.ID, int32(c)), Weight: d.weight[i] * scale})
		}
	}
	return out
}
