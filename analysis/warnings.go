package analysis

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"

	"fairage/dataset"
)

// Thresholds of the degenerate-model checks (predictionWarnings). A model
// that learned nothing about age, e.g. one whose output sigmoid saturated,
// predicts (nearly) one value for every face; its group MAEs then measure
// only how far each group's ages lie from that value, and its bias scores
// the differences between the groups' age distributions.
const (
	// flatSDRatio: predictions whose standard deviation is below this
	// fraction of the true ages' barely vary. The scale-free test: a
	// regressor's predictions have sd ≈ r·sd(y) (r: their correlation
	// with the true ages; exactly so for a least-squares fit), so below
	// 0.1 they explain about 1% of the age variance at most, where face
	// age models reach r ≈ 0.9. A fixed number of years would flag sound
	// models on rows of a narrow age range and miss near-constant
	// guesses on wide ones.
	flatSDRatio = 0.1
	// minTrueSD (years): when the true ages vary less than this, a
	// near-constant guess may be right (UTKFace records whole years), so
	// neither check flags it. It also keeps the ratio off a zero divisor
	// (one row, or every true age equal).
	minTrueSD = 1.0
	// nearBand (years): the warning counts the predictions within this
	// distance of the median prediction, to say how many got one guess.
	nearBand = 1.0
	// stuckFraction: when at least this share of the predictions equals
	// the lowest or the highest prediction exactly, the output is stuck
	// at a bound (a saturated sigmoid, a clipped range). A regressor's
	// continuous outputs do not tie by chance, and no age is anywhere
	// near half of a face data set. The check also requires the stuck
	// faces' true ages to vary (minTrueSD): faces of different ages got
	// one output.
	stuckFraction = 0.5
)

// predictionWarnings returns what makes the analysis of rows misleading,
// in plain words for the summary and the reports; nil when nothing does.
// rows are finite (selectRows).
func predictionWarnings(rows []*dataset.Prediction) []string {
	n := len(rows)
	yTrue := make([]float64, n)
	yPred := make([]float64, n)
	for i, p := range rows {
		yTrue[i], yPred[i] = p.YTrue, p.YPred
	}
	sdTrue, sdPred := stdDev(yTrue), stdDev(yPred)
	if sdTrue >= minTrueSD && sdPred < flatSDRatio*sdTrue {
		center := median(yPred)
		near := 0
		for _, v := range yPred {
			if math.Abs(v-center) <= nearBand {
				near++
			}
		}
		return []string{fmt.Sprintf("predictions barely vary: %d of %d within %g year of %.1f (sd %.2f years, true ages sd %.1f): "+
			"the model did not learn age; its group MAEs and bias scores describe a near-constant guess, i.e. the groups' age distributions",
			near, n, nearBand, center, sdPred, sdTrue)}
	}
	if w := stuckWarning(yTrue, yPred); w != "" {
		return []string{w}
	}
	return nil
}

// stuckWarning flags predictions of which at least stuckFraction equal
// the lowest or the highest one exactly, for faces of varied true ages;
// "" otherwise.
func stuckWarning(yTrue, yPred []float64) string {
	lo, hi := slices.Min(yPred), slices.Max(yPred)
	var atLo, atHi []float64 // true ages of the rows at each bound
	for i, v := range yPred {
		switch v {
		case lo:
			atLo = append(atLo, yTrue[i])
		case hi:
			atHi = append(atHi, yTrue[i])
		}
	}
	value, bound, ages := lo, "lowest", atLo
	if len(atHi) > len(atLo) {
		value, bound, ages = hi, "highest", atHi
	}
	n := len(yPred)
	if float64(len(ages)) < stuckFraction*float64(n) {
		return ""
	}
	sd := stdDev(ages)
	if sd < minTrueSD {
		return ""
	}
	return fmt.Sprintf("predictions stuck at one value: %d of %d (%.0f%%) are exactly %.1f, the %s prediction, "+
		"for faces of true ages %.0f to %.0f (sd %.1f): the output looks saturated (e.g. a sigmoid at its bound); "+
		"the group MAEs and bias scores partly describe how far each group's ages lie from that value",
		len(ages), n, 100*float64(len(ages))/float64(n), value, bound, slices.Min(ages), slices.Max(ages), sd)
}

// stdDev is the population standard deviation of v (0 for fewer than two
// values).
func stdDev(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	_, sd := stat.PopMeanStdDev(v, nil)
	return sd
}

// median of v (not empty); v is left unchanged.
func median(v []float64) float64 {
	return quantile(slices.Sorted(slices.Values(v)), 0.5)
}
