package analysis

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"fairage/dataset"
)

// WithinSubject compares images of one person under two values of an
// attribute (ARCHITECTURE.md §5): where the predictions carry subject ids
// and an attribute varies within subjects (expression, session), every
// subject serves as its own control, so neither age nor identity can
// explain a difference.
type WithinSubject struct {
	// Subjects counts the distinct subject ids among the analysed rows and
	// Rows the analysed rows that have one.
	Subjects int `json:"subjects"`
	Rows     int `json:"rows"`
	// Note says, when no comparison was possible, why (e.g. no attribute
	// varies within a subject).
	Note string `json:"note,omitempty"`
	// Attributes has one entry per configured single attribute
	// (intersections are not compared within subjects).
	Attributes []SubjectAttribute `json:"attributes"`
}

// SubjectAttribute is the within-subject comparison of one attribute.
type SubjectAttribute struct {
	Name string `json:"name"`
	Key  string `json:"key"`
	// Varying counts subjects with rows under at least two known values.
	Varying int `json:"varying"`
	// Note says why there are no pairs (one group, no variation within a
	// subject).
	Note string `json:"note,omitempty"`
	// Pairs has one entry per unordered pair of the attribute's groups
	// (in group order, A before B) that some subject has rows under both.
	Pairs []SubjectPair `json:"pairs"`
}

// SubjectPair compares two values A and B of an attribute within subjects.
// For each subject with rows under both, d_s is the subject's MAE under A
// minus its MAE under B (each the mean |ŷ−y| of its images with that
// value); Diff is the mean of d_s over those subjects.
type SubjectPair struct {
	A string `json:"a"`
	B string `json:"b"`
	// Subjects is the number of subjects with rows under both values.
	Subjects int `json:"subjects"`
	// MAEA and MAEB are the means over those subjects of their MAEs under
	// A and B (MAEA − MAEB = Diff).
	MAEA float64 `json:"mae_a"`
	MAEB float64 `json:"mae_b"`
	// Diff is mean d_s with a percentile interval from resampling subjects.
	Diff Estimate `json:"diff"`
	// Test is the sign-flip permutation test of Diff (two-sided: a
	// permutation counts when |T*| ≥ |Diff|); nil when tests are off.
	Test *Test `json:"test,omitempty"`
}

// subjectPairData is one pair's per-subject differences, for resampling.
type subjectPairData struct {
	name string // test and stream name
	d    []float64
	pair *SubjectPair
}

// withinSubject builds the comparison skeleton and the per-subject
// differences; nil when no analysed row has a subject id.
func withinSubject(rows []*dataset.Prediction, abs []float64, res *Result, encs []*encoding) (*WithinSubject, []subjectPairData) {
	index := map[string]int32{}
	subj := make([]int32, len(rows))
	ws := &WithinSubject{Attributes: []SubjectAttribute{}}
	for i, p := range rows {
		if p.Subject == "" {
			subj[i] = -1
			continue
		}
		s, ok := index[p.Subject]
		if !ok {
			s = int32(len(index))
			index[p.Subject] = s
		}
		subj[i] = s
		ws.Rows++
	}
	if ws.Rows == 0 {
		return nil, nil
	}
	ws.Subjects = len(index)
	var data []subjectPairData
	var constant []string
	for ai := range res.Attributes {
		a := &res.Attributes[ai]
		if len(a.Members) != 1 {
			continue
		}
		sa := SubjectAttribute{Name: a.Name, Key: a.Key, Pairs: []SubjectPair{}}
		groups := 0
		for _, g := range a.Groups {
			if g.N > 0 {
				groups++
			}
		}
		switch {
		case !a.Available:
			sa.Note = a.Note
		case groups < 2:
			sa.Note = fmt.Sprintf("%s has one group with rows: there is nothing to compare within subjects", a.Name)
		default:
			d := subjectDiffs(encs[ai], subj, abs, &sa, a)
			for i := range d {
				d[i].name = ScoreKey(a.Key, "within_"+d[i].pair.A+"_vs_"+d[i].pair.B)
			}
			data = append(data, d...)
			if sa.Varying == 0 {
				sa.Note = fmt.Sprintf("%s does not vary within any subject: every subject's rows share one value", a.Name)
				constant = append(constant, a.Name)
			}
		}
		ws.Attributes = append(ws.Attributes, sa)
	}
	if len(data) == 0 {
		what := "no analysed attribute varies within a subject"
		if len(constant) > 0 {
			what += " (" + strings.Join(constant, ", ") + ": one value per subject)"
		}
		ws.Note = fmt.Sprintf("subject ids are present (%d subjects, %d rows) but %s: there is no within-subject comparison", ws.Subjects, ws.Rows, what)
	}
	return ws, data
}

// subjectDiffs fills sa's pairs and returns their per-subject differences.
// The pair slices of sa must not grow afterwards: the data point into it.
func subjectDiffs(e *encoding, subj []int32, abs []float64, sa *SubjectAttribute, a *AttributeResult) []subjectPairData {
	k := len(e.labels)
	// Rows with a subject and a known value, by (subject, group).
	var idx []int
	for i, g := range e.of {
		if g >= 0 && subj[i] >= 0 {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(x, y int) int {
		if c := int(subj[x]) - int(subj[y]); c != 0 {
			return c
		}
		if c := int(e.of[x]) - int(e.of[y]); c != 0 {
			return c
		}
		return x - y
	})
	type pairAcc struct{ d, ma, mb []float64 }
	acc := make([]pairAcc, k*k)
	mae := make([]float64, k)
	has := make([]bool, k)
	for lo := 0; lo < len(idx); {
		s := subj[idx[lo]]
		hi := lo
		clear(has)
		for hi < len(idx) && subj[idx[hi]] == s {
			g := e.of[idx[hi]]
			var sum float64
			n := 0
			for hi < len(idx) && subj[idx[hi]] == s && e.of[idx[hi]] == g {
				sum += abs[idx[hi]]
				n++
				hi++
			}
			mae[g], has[g] = sum/float64(n), true
		}
		lo = hi
		values := 0
		for _, h := range has {
			if h {
				values++
			}
		}
		if values < 2 {
			continue
		}
		sa.Varying++
		for u := range k {
			for v := u + 1; v < k; v++ {
				if has[u] && has[v] {
					pa := &acc[u*k+v]
					pa.d = append(pa.d, mae[u]-mae[v])
					pa.ma, pa.mb = append(pa.ma, mae[u]), append(pa.mb, mae[v])
				}
			}
		}
	}
	for u := range k {
		for v := u + 1; v < k; v++ {
			pa := acc[u*k+v]
			if len(pa.d) == 0 {
				continue
			}
			n := float64(len(pa.d))
			sa.Pairs = append(sa.Pairs, SubjectPair{
				A: a.Groups[u].Name, B: a.Groups[v].Name, Subjects: len(pa.d),
				MAEA: sum(pa.ma) / n, MAEB: sum(pa.mb) / n,
				Diff: pointEstimate(sum(pa.d) / n),
			})
		}
	}
	var out []subjectPairData
	p := 0
	for u := range k {
		for v := u + 1; v < k; v++ {
			if d := acc[u*k+v].d; len(d) > 0 {
				out = append(out, subjectPairData{d: d, pair: &sa.Pairs[p]})
				p++
			}
		}
	}
	return out
}

// subjectIntervals attaches bootstrap intervals over subjects: each
// resample draws as many subjects as the pair has, with replacement.
func subjectIntervals(ctx context.Context, data []subjectPairData, resamples int, seed uint64, confidence float64, workers int) error {
	for _, pd := range data {
		reps := make([]float64, resamples)
		err := parallelFor(ctx, resamples, workerCount(workers, resamples), func(_, b int) {
			r := newStream(seed, "subject-bootstrap/"+pd.name, uint64(b))
			reps[b] = gatherSum(pd.d, r) / float64(len(pd.d))
		})
		if err != nil {
			return err
		}
		pd.pair.Diff = withInterval(pd.pair.Diff.Value, reps, confidence)
	}
	return nil
}

// subjectTests runs the sign-flip permutation test of every pair: under
// the null hypothesis a subject's two MAEs are exchangeable, so d_s is as
// likely −d_s; each permutation flips every sign with probability ½.
func subjectTests(ctx context.Context, data []subjectPairData, resamples int, seed uint64, workers int) ([]*Test, error) {
	var tests []*Test
	for _, pd := range data {
		obs := pd.pair.Diff.Value
		tol := 1e-12 * math.Max(1, math.Abs(obs))
		hit := make([]bool, resamples)
		err := parallelFor(ctx, resamples, workerCount(workers, resamples), func(_, b int) {
			r := newStream(seed, "subject-permutation/"+pd.name, uint64(b))
			var s float64
			var bits uint64
			for i, v := range pd.d {
				if i%64 == 0 {
					bits = r.uint64()
				}
				if bits&1 == 1 {
					v = -v
				}
				bits >>= 1
				s += v
			}
			hit[b] = math.Abs(s/float64(len(pd.d))) >= math.Abs(obs)-tol
		})
		if err != nil {
			return nil, err
		}
		pd.pair.Test = &Test{Name: pd.name, Observed: obs, P: pValue(hit), Permutations: resamples}
		tests = append(tests, pd.pair.Test)
	}
	return tests, nil
}
