package analysis

import (
	"math"
)

// stats are the error metrics of one set of rows.
type stats struct{ mae, rmse, meanErr, medianAE float64 }

func (s stats) get(i int) float64 {
	switch i {
	case 0:
		return s.mae
	case 1:
		return s.rmse
	case 2:
		return s.meanErr
	}
	return s.medianAE
}

var nanStats = stats{math.NaN(), math.NaN(), math.NaN(), math.NaN()}

// pointStats computes the metrics of a group whose signed errors e are
// sorted by |e| ascending (see prepare): the median is then a position.
func pointStats(e []float64) stats {
	n := len(e)
	if n == 0 {
		return nanStats
	}
	var sumAbs, sumSq, sum float64
	for _, v := range e {
		a := math.Abs(v)
		sumAbs += a
		sumSq += a * a
		sum += v
	}
	fn := float64(n)
	return stats{
		mae:      sumAbs / fn,
		rmse:     math.Sqrt(sumSq / fn),
		meanErr:  sum / fn,
		medianAE: (math.Abs(e[(n-1)/2]) + math.Abs(e[n/2])) / 2,
	}
}

// resampleStats draws one bootstrap resample of a group (n indices with
// replacement) and returns its metrics. Instead of gathering and sorting the
// drawn values it counts how often each row was drawn, then walks the rows
// in |e| order: sums are count-weighted and the median is where the running
// count crosses the middle rank, so the median costs no sort.
//
// Counts are bytes: a resample is ~n random increments, and a quarter of
// the memory of uint32 counts keeps a 1M-row group's counts in cache. A
// byte wraps only if one row is drawn 256 times (for n draws among n rows
// the chance is below 1/256!), and the wrap is detected (the counts no
// longer add up to n), so the resample is then redone exactly with wide
// counts from the same stream state.
// counts must be zero on entry (at least len(e) long) and is zeroed again.
func resampleStats(e []float64, counts []uint8, r *stream) stats {
	n := len(e)
	if n == 0 {
		return nanStats
	}
	start := *r
	st, ok := countedStats(e, counts[:n], r)
	if !ok {
		st, _ = countedStats(e, make([]uint32, n), &start)
	}
	return st
}

// countedStats draws the counts and computes the metrics; ok is false when
// a count overflowed C.
func countedStats[C uint8 | uint32](e []float64, counts []C, r *stream) (stats, bool) {
	n := len(e)
	drawCounts(counts, r)
	// 1-based ranks of the middle order statistics (equal when n is odd).
	k1, k2 := n/2+n%2, n/2+1
	m1, m2 := medianPair(counts, e, k1, k2)
	sumAbs, sumSq, sum, total := weightedSums(counts, e)
	fn := float64(n)
	return stats{
		mae:      sumAbs / fn,
		rmse:     math.Sqrt(sumSq / fn),
		meanErr:  sum / fn,
		medianAE: (m1 + m2) / 2,
	}, total == n
}

// scores computes the study's bias score (mean over all unordered pairs of
// |MAE_i − MAE_j|), the max−min gap and the min/max ratio of group MAEs.
// All three are NaN with fewer than two groups. The ratio is 1 when every
// MAE is 0: no group is worse off.
func scores(maes []float64) (bias, gap, ratio float64) {
	k := len(maes)
	if k < 2 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	var sum float64
	lo, hi := maes[0], maes[0]
	for i, a := range maes {
		for _, b := range maes[i+1:] {
			sum += math.Abs(a - b)
		}
		lo, hi = math.Min(lo, a), math.Max(hi, a)
	}
	bias = sum / float64(k*(k-1)/2)
	ratio = 1
	if hi > 0 {
		ratio = lo / hi
	}
	return bias, hi - lo, ratio
}

// quantile returns the p-quantile of sorted by linear interpolation between
// order statistics (Hyndman–Fan type 7, numpy's default, so intervals match
// what Python users compute; gonum's stat.Quantile offers types 1 and 4 only).
func quantile(sorted []float64, p float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	h := float64(n-1) * p
	lo := int(math.Floor(h))
	if lo >= n-1 {
		return sorted[n-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// drawCounts draws len(counts) indices uniformly with replacement and
// counts them. It is the hottest loop of the analysis, so it takes two
// 32-bit draws from each 64-bit output and reduces them with Lemire's
// multiply-shift inline; the rare rejected draw (probability below
// n/2³²) is replaced by a fresh exact draw, which keeps every index
// equally likely.
func drawCounts[C uint8 | uint32](counts []C, r *stream) {
	n := uint32(len(counts))
	thresh := -n % n
	draw := func(x uint32) {
		m := uint64(x) * uint64(n)
		if uint32(m) < thresh {
			counts[r.intn(n)]++
			return
		}
		counts[m>>32]++
	}
	i := uint32(0)
	for ; i+1 < n; i += 2 {
		x := r.uint64()
		draw(uint32(x))
		draw(uint32(x >> 32))
	}
	if i < n {
		counts[r.intn(n)]++
	}
}

// medianPair walks the counts in |e| order to the order statistics of
// 1-based ranks k1 ≤ k2 of the resample and returns their |e|. It stops as
// soon as both are found: about half the rows on average.
func medianPair[C uint8 | uint32](counts []C, e []float64, k1, k2 int) (m1, m2 float64) {
	cum := 0
	i := 0
	for ; i < len(counts); i++ {
		cum += int(counts[i])
		if cum >= k1 {
			m1 = math.Abs(e[i])
			break
		}
	}
	for ; i < len(counts); i++ {
		if cum >= k2 {
			return m1, math.Abs(e[i])
		}
		if i+1 < len(counts) {
			cum += int(counts[i+1])
		}
	}
	return m1, m1 // only when the counts overflowed; the caller redoes it
}

// weightedSums returns Σc·|e|, Σc·e², Σc·e and Σc over the rows and zeroes
// the counts for the next resample. Branch-free on c (about a third of the
// counts are 0, an unpredictable branch), and with two accumulators per sum
// so consecutive adds do not wait on each other.
func weightedSums[C uint8 | uint32](counts []C, e []float64) (sumAbs, sumSq, sum float64, total int) {
	var a0, a1, q0, q1, s0, s1 float64
	var t0, t1 int
	n := len(counts)
	e = e[:n]
	i := 0
	for ; i+1 < n; i += 2 {
		c0, c1 := counts[i], counts[i+1]
		t0 += int(c0)
		t1 += int(c1)
		v0, v1 := e[i], e[i+1]
		w0, w1 := float64(c0)*v0, float64(c1)*v1
		a0 += math.Abs(w0)
		a1 += math.Abs(w1)
		q0 += w0 * v0
		q1 += w1 * v1
		s0 += w0
		s1 += w1
		counts[i], counts[i+1] = 0, 0
	}
	if i < n {
		t0 += int(counts[i])
		w := float64(counts[i]) * e[i]
		a0 += math.Abs(w)
		q0 += w * e[i]
		s0 += w
		counts[i] = 0
	}
	return a0 + a1, q0 + q1, s0 + s1, t0 + t1
}
