package analysis

import (
	"fmt"
	"math/rand/v2"

	"fairage/dataset"
)

// synthPredictions makes n predictions with a planted bias: errors are
// normal with a spread that grows with age and differs by ethnicity, so
// the scores are clearly non-zero. About 2% of ethnicities are unknown and
// expression is unknown throughout (as on UTKFace).
func synthPredictions(n int, seed uint64) []dataset.Prediction {
	r := rand.New(rand.NewPCG(seed, 99))
	eths := []string{"asian", "black", "indian", "others", "white"}
	spread := map[string]float64{"asian": 5, "black": 7, "indian": 6, "others": 6.5, "white": 5.5}
	out := make([]dataset.Prediction, n)
	for i := range out {
		age := 1 + r.Float64()*89
		g := "female"
		if r.IntN(2) == 1 {
			g = "male"
		}
		e := eths[r.IntN(len(eths))]
		sd := spread[e] + age/20
		if r.IntN(50) == 0 {
			e = ""
		}
		out[i] = dataset.Prediction{
			ID:        fmt.Sprintf("s%07d", i),
			Split:     dataset.SplitTest,
			YTrue:     age,
			YPred:     age + r.NormFloat64()*sd + 0.5,
			Gender:    g,
			Ethnicity: e,
		}
	}
	return out
}
