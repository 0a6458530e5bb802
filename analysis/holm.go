package analysis

import (
	"math"
	"sort"
)

// Holm returns Holm–Bonferroni adjusted p-values, in the order of p: with
// p sorted ascending as p(1) ≤ … ≤ p(m), the adjusted p(i) is
// max over j ≤ i of min(1, (m − j + 1)·p(j)). Rejecting where adjusted < α
// controls the family-wise error rate at α without assuming independence.
// NaN p-values are left NaN and do not count in m.
func Holm(p []float64) []float64 {
	idx := make([]int, 0, len(p))
	for i, v := range p {
		if !math.IsNaN(v) {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	out := make([]float64, len(p))
	for i := range out {
		out[i] = math.NaN()
	}
	m := len(idx)
	running := 0.0
	for rank, i := range idx {
		adj := math.Min(1, float64(m-rank)*p[i])
		running = math.Max(running, adj)
		out[i] = running
	}
	return out
}
