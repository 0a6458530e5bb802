package analysis

import (
	"context"
	"math"
	"slices"
)

// strata is one grouping ready for resampling: each group's signed errors
// sorted by |e|, and which groups enter the scores.
type strata struct {
	name   string // stream purpose: resamples of different groupings are independent
	groups [][]float64
	scored []int
}

// replicates holds one grouping's bootstrap replicates.
type replicates struct {
	group [][][]float64 // [group][metric index in groupMetrics][resample]
	score [][]float64   // [score index in scoreMetrics][resample]
}

// bootstrap draws `resamples` stratified bootstrap resamples of every
// grouping: within each group, as many rows as the group has, with
// replacement, so group sizes stay fixed as they are in the design. Work is
// split by resample across workers; each resample has its own seeded
// stream, so the replicates do not depend on the worker count.
func bootstrap(ctx context.Context, sets []strata, resamples int, seed uint64, workers int) ([]replicates, error) {
	maxN, maxGroups := 0, 0
	out := make([]replicates, len(sets))
	for si, s := range sets {
		out[si].group = make([][][]float64, len(s.groups))
		for g, e := range s.groups {
			maxN = max(maxN, len(e))
			out[si].group[g] = make([][]float64, len(groupMetrics))
			for m := range groupMetrics {
				out[si].group[g][m] = make([]float64, resamples)
			}
		}
		maxGroups = max(maxGroups, len(s.groups))
		out[si].score = make([][]float64, len(scoreMetrics))
		for m := range scoreMetrics {
			out[si].score[m] = make([]float64, resamples)
		}
	}
	workers = workerCount(workers, resamples)
	counts := make([][]uint8, workers)
	maes := make([][]float64, workers)
	err := parallelFor(ctx, resamples, workers, func(w, b int) {
		if counts[w] == nil {
			counts[w] = make([]uint8, maxN)
			maes[w] = make([]float64, 0, maxGroups)
		}
		for si, s := range sets {
			r := newStream(seed, "bootstrap/"+s.name, uint64(b))
			rep := &out[si]
			for g, e := range s.groups {
				st := resampleStats(e, counts[w], r)
				for m := range groupMetrics {
					rep.group[g][m][b] = st.get(m)
				}
			}
			scored := maes[w][:0]
			for _, g := range s.scored {
				scored = append(scored, rep.group[g][0][b])
			}
			bias, gap, ratio := scores(scored)
			rep.score[0][b], rep.score[1][b], rep.score[2][b] = bias, gap, ratio
		}
	})
	return out, err
}

// interval is the percentile interval of replicates at the given
// confidence: the (1−c)/2 and (1+c)/2 quantiles. NaN replicates (an empty
// group) make the interval NaN.
func interval(reps []float64, confidence float64) (lo, hi float64) {
	s := slices.Clone(reps)
	for _, v := range s {
		if math.IsNaN(v) {
			return math.NaN(), math.NaN()
		}
	}
	slices.Sort(s)
	return quantile(s, (1-confidence)/2), quantile(s, (1+confidence)/2)
}

// withInterval attaches the percentile interval of reps to value.
func withInterval(value float64, reps []float64, confidence float64) Estimate {
	if reps == nil || math.IsNaN(value) {
		return pointEstimate(value)
	}
	lo, hi := interval(reps, confidence)
	return Estimate{Value: value, Lower: lo, Upper: hi}
}
