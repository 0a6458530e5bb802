package analysis

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"fairage/dataset"
)

// Reference age distributions of the age-adjusted disparity
// (`analysis.age_adjust.reference`).
const (
	// ReferencePooled weights each age bin by its share of every analysed
	// row: the adjusted MAE of a group is the MAE it would have with the
	// audit set's own age mix.
	ReferencePooled = "pooled"
	// ReferenceUniform weights every age bin equally.
	ReferenceUniform = "uniform"
)

// AgeAdjustOptions configures the age-adjusted disparity
// (`analysis.age_adjust`, ARCHITECTURE.md §5): every group's MAE is
// standardised to one age distribution, so that a gap between groups no
// longer reflects that one group has more of the ages where every model
// errs more.
type AgeAdjustOptions struct {
	// Enabled turns the age-adjusted scores on.
	Enabled bool `yaml:"enabled" doc:"Report each attribute's disparity after direct age standardisation beside the raw one, with intervals and a within-age-bin permutation test."`
	// Edges are the inner edges of the standardisation bins; empty uses
	// Options.AgeEdges. Finer bins leave less age mix inside a bin but
	// more bins where a small group has no rows.
	Edges []float64 `yaml:"edges" doc:"Inner edges of the age bins the MAEs are standardised over, e.g. [10, 20, 30, 40, 50, 60, 70]; empty uses analysis.age_edges."`
	// Reference is ReferencePooled (also for "") or ReferenceUniform.
	Reference string `yaml:"reference" doc:"Reference age distribution: pooled (the age mix of every analysed row) or uniform (equal weight per age bin)."`
}

func (a *AgeAdjustOptions) validate(bad func(string, ...any)) {
	if a.Reference != "" && a.Reference != ReferencePooled && a.Reference != ReferenceUniform {
		bad("analysis.age_adjust.reference: %q is not %q or %q", a.Reference, ReferencePooled, ReferenceUniform)
	}
	for i, e := range a.Edges {
		if !finite(e) || e <= 0 || (i > 0 && e <= a.Edges[i-1]) {
			bad("analysis.age_adjust.edges: %v must be finite, positive and strictly increasing", a.Edges)
			break
		}
	}
	if len(a.Edges) > math.MaxUint8 {
		bad("analysis.age_adjust.edges: %d edges; at most %d", len(a.Edges), math.MaxUint8)
	}
}

// adjustEdges are the standardisation bins' inner edges.
func (o *Options) adjustEdges() []float64 {
	if len(o.AgeAdjust.Edges) > 0 {
		return o.AgeAdjust.Edges
	}
	return o.AgeEdges
}

func (o *Options) adjustReference() string {
	if o.AgeAdjust.Reference == "" {
		return ReferencePooled
	}
	return o.AgeAdjust.Reference
}

// AgeAdjusted is one attribute's disparity after direct age
// standardisation: with age bins b and reference weights π_b, the adjusted
// MAE of group g is Σ_b π_b · MAE_{g,b} over the common support (the bins
// where every scored group has rows), with π renormalised over it. The
// scores are the raw scores' formulas on the adjusted MAEs.
type AgeAdjusted struct {
	// Available is false when the adjusted scores are undefined; Note says
	// why (a grouping by age itself, fewer than two scored groups, no bin
	// with rows of every group).
	Available bool   `json:"available"`
	Note      string `json:"note,omitempty"`
	// Bins are the standardisation bins and Reference their weights π_b
	// (summing to 1) before restriction to the support.
	Bins      []string  `json:"bins"`
	Reference []float64 `json:"reference"`
	// Support lists the bins the adjusted values use.
	Support []string `json:"support"`
	// SupportWeight is the reference weight of the support, Σ π_b over it
	// (1 when no bin is dropped).
	SupportWeight float64 `json:"support_weight"`
	// Dropped lists the bins outside the support and, for each, the scored
	// groups without rows in it.
	Dropped []DroppedBin `json:"dropped"`
	// Groups are the scored groups, in the attribute's group order.
	Groups []AdjustedGroup `json:"groups"`
	// Bias, Gap and Ratio are the raw scores' formulas on the adjusted
	// MAEs. Bias and Gap are never negative, so their intervals never
	// cover 0; Diff and Test say whether a gap is there at all.
	Bias  Estimate `json:"bias"`
	Gap   Estimate `json:"gap"`
	Ratio Estimate `json:"ratio"`
	// Worst and Best are the groups of highest and lowest adjusted MAE,
	// and Diff is their adjusted MAE difference, signed: each bootstrap
	// replicate takes the same two groups, so the interval covers 0 when
	// the two may not differ.
	Worst string   `json:"worst"`
	Best  string   `json:"best"`
	Diff  Estimate `json:"diff"`
	// RawDiff is the raw MAE difference of the same two groups.
	RawDiff Estimate `json:"raw_diff"`
	// AgeMixShareBias and AgeMixShareGap are the shares of the raw bias
	// and gap that the age mix accounts for: 1 − adjusted/raw (see
	// FORMAT.md for how to read them).
	AgeMixShareBias Estimate `json:"age_mix_share_bias"`
	AgeMixShareGap  Estimate `json:"age_mix_share_gap"`
	// Test is the permutation test of Bias that shuffles group labels
	// within each age bin of the support (nil when tests are off).
	Test *Test `json:"test,omitempty"`
}

// DroppedBin is an age bin outside the common support.
type DroppedBin struct {
	Bin string `json:"bin"`
	// Weight is the bin's reference weight π_b.
	Weight float64 `json:"weight"`
	// Missing are the scored groups with no rows in the bin.
	Missing []string `json:"missing"`
}

// AdjustedGroup is one scored group's age-adjusted MAE.
type AdjustedGroup struct {
	Name string `json:"name"`
	// N is the number of the group's rows in the support.
	N int `json:"n"`
	// MAE is the adjusted MAE with its interval (resampling within each
	// group × age bin cell).
	MAE Estimate `json:"mae"`
	// Cells are the group's rows and MAE in every bin (mae null when n is 0).
	Cells []AgeCell `json:"cells"`
}

// AgeCell is one group × age bin cell.
type AgeCell struct {
	Bin string   `json:"bin"`
	N   int      `json:"n"`
	MAE *float64 `json:"mae"`
}

// shareEps (years): a raw score at or below this is zero, and the share
// of it that age mix accounts for is undefined.
const shareEps = 1e-9

// ageStrata is one grouping prepared for the adjusted statistics: the
// scored groups' absolute errors split by age bin.
type ageStrata struct {
	name  string      // stream purpose
	k, nb int         // scored groups, bins
	cells [][]float64 // [g*nb+b] the cell's |e|
	// cells32 are cells in float32 for resampling: half the bytes keep a
	// large cell in the core's cache for the random reads (gatherSum on a
	// 125,000-row cell: 2.5 against 4.7 ns per row). Rounding moves a
	// replicate by at most 6e-8 of its value, far below the resampling
	// noise; point estimates and tests use the float64 cells.
	cells32 [][]float32
	n       []int     // [g*nb+b] rows per cell
	wAdj    []float64 // [b] reference weight renormalised over the support, 0 outside
	wRaw    []float64 // [g*nb+b] n_gb / n_g: the group's own age mix
	worst   int       // group indices (among scored) fixed by the point estimate
	best    int
}

// ageBins assigns every row its standardisation bin and returns the
// pooled reference weights.
func ageBins(rows []*dataset.Prediction, opts *Options) (bins []uint8, labels []string, ref []float64) {
	edges := opts.adjustEdges()
	labels = AgeLabels(edges)
	bins = make([]uint8, len(rows))
	counts := make([]float64, len(labels))
	for i, p := range rows {
		b := sort.Search(len(edges), func(j int) bool { return p.YTrue < edges[j] })
		bins[i] = uint8(b)
		counts[b]++
	}
	ref = make([]float64, len(labels))
	for b := range ref {
		if opts.adjustReference() == ReferenceUniform {
			ref[b] = 1 / float64(len(labels))
		} else {
			ref[b] = counts[b] / float64(len(rows))
		}
	}
	return bins, labels, ref
}

// prepareAdjusted builds the result skeleton of one grouping's adjusted
// scores (support, cells, worst and best groups; fillAdjusted adds the
// values) and the strata to resample, nil when the scores are undefined.
func prepareAdjusted(a *AttributeResult, set *strata, e *encoding, abs []float64, bins []uint8, labels []string, ref []float64) (*AgeAdjusted, *ageStrata) {
	adj := &AgeAdjusted{Bins: labels, Reference: ref, Support: []string{}, Dropped: []DroppedBin{}, Groups: []AdjustedGroup{}}
	nan := pointEstimate(math.NaN())
	adj.Bias, adj.Gap, adj.Ratio, adj.Diff, adj.RawDiff = nan, nan, nan, nan, nan
	adj.AgeMixShareBias, adj.AgeMixShareGap = nan, nan
	switch {
	case slices.Contains(a.Members, dataset.AttrAgeGroup):
		adj.Note = fmt.Sprintf("not age-adjusted: %s groups by age itself", a.Name)
		return adj, nil
	case !a.Available || a.ScoredGroups < 2:
		adj.Note = a.Note
		return adj, nil
	}
	k, nb := len(set.scored), len(labels)
	local := make([]int32, len(e.labels)) // encoding group → scored index, or −1
	for g := range local {
		local[g] = -1
	}
	for j, g := range set.scored {
		local[g] = int32(j)
	}
	st := &ageStrata{name: a.Name, k: k, nb: nb, n: make([]int, k*nb), wAdj: make([]float64, nb), wRaw: make([]float64, k*nb)}
	for i, g := range e.of {
		if g >= 0 && local[g] >= 0 {
			st.n[int(local[g])*nb+int(bins[i])]++
		}
	}
	st.cells = make([][]float64, k*nb)
	for c, n := range st.n {
		st.cells[c] = make([]float64, 0, n)
	}
	for i, g := range e.of {
		if g >= 0 && local[g] >= 0 {
			c := int(local[g])*nb + int(bins[i])
			st.cells[c] = append(st.cells[c], abs[i])
		}
	}
	for b := range nb {
		var missing []string
		for j, g := range set.scored {
			if st.n[j*nb+b] == 0 {
				missing = append(missing, a.Groups[g].Name)
			}
		}
		if missing != nil {
			adj.Dropped = append(adj.Dropped, DroppedBin{Bin: labels[b], Weight: ref[b], Missing: missing})
			continue
		}
		adj.Support = append(adj.Support, labels[b])
		adj.SupportWeight += ref[b]
		st.wAdj[b] = ref[b]
	}
	if adj.SupportWeight <= 0 {
		if len(adj.Support) == 0 {
			adj.Note = fmt.Sprintf("no age bin has rows of every scored group of %s: the age-adjusted scores are undefined", a.Name)
		} else {
			adj.Note = fmt.Sprintf("the age bins with rows of every scored group of %s have no reference weight: the age-adjusted scores are undefined", a.Name)
		}
		return adj, nil
	}
	for b := range st.wAdj {
		st.wAdj[b] /= adj.SupportWeight
	}
	st.cells32 = make([][]float32, len(st.cells))
	for c, v := range st.cells {
		st.cells32[c] = make([]float32, len(v))
		for i, x := range v {
			st.cells32[c][i] = float32(x)
		}
	}
	for j, g := range set.scored {
		ng := a.Groups[g].N
		grp := AdjustedGroup{Name: a.Groups[g].Name, Cells: make([]AgeCell, nb)}
		for b := range nb {
			c := j*nb + b
			st.wRaw[c] = float64(st.n[c]) / float64(ng)
			cell := AgeCell{Bin: labels[b], N: st.n[c]}
			if st.n[c] > 0 {
				m := sum(st.cells[c]) / float64(st.n[c])
				cell.MAE = &m
			}
			if st.wAdj[b] > 0 {
				grp.N += st.n[c]
			}
			grp.Cells[b] = cell
		}
		adj.Groups = append(adj.Groups, grp)
	}
	// Worst and best by adjusted point MAE (first in group order on ties),
	// fixed before resampling so every replicate contrasts the same pair.
	am, rm := make([]float64, k), make([]float64, k)
	st.evaluate(st.pointCells(), am, rm)
	for g, v := range am {
		if v > am[st.worst] {
			st.worst = g
		}
		if v < am[st.best] {
			st.best = g
		}
	}
	adj.Worst, adj.Best = adj.Groups[st.worst].Name, adj.Groups[st.best].Name
	if len(adj.Dropped) > 0 {
		adj.Note = fmt.Sprintf("computed on the common support (reference weight %.3f); dropped: %s", adj.SupportWeight, adjustNote(adj))
	}
	adj.Available = true
	return adj, st
}

func sum(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s
}

// adjustedStats are the statistics of one resample (or the point
// estimate) of a grouping's adjusted scores.
type adjustedStats struct {
	bias, gap, ratio, diff, rawDiff, shareBias, shareGap float64
}

// evaluate computes the adjusted and raw group MAEs from cell MAEs
// (into adj and raw, length k) and the scores. Cells with no rows hold
// anything: their weights are 0.
func (st *ageStrata) evaluate(cellMAE, adj, raw []float64) adjustedStats {
	for g := range st.k {
		var a, r float64
		row := cellMAE[g*st.nb : (g+1)*st.nb]
		for b, m := range row {
			if st.n[g*st.nb+b] == 0 {
				continue
			}
			a += st.wAdj[b] * m
			r += st.wRaw[g*st.nb+b] * m
		}
		adj[g], raw[g] = a, r
	}
	var s adjustedStats
	s.bias, s.gap, s.ratio = scores(adj)
	rawBias, rawGap, _ := scores(raw)
	s.diff = adj[st.worst] - adj[st.best]
	s.rawDiff = raw[st.worst] - raw[st.best]
	s.shareBias, s.shareGap = share(s.bias, rawBias), share(s.gap, rawGap)
	return s
}

// share is 1 − adjusted/raw, NaN when raw is zero.
func share(adjusted, raw float64) float64 {
	if !(raw > shareEps) {
		return math.NaN()
	}
	return 1 - adjusted/raw
}

// pointCells returns the cells' MAEs on the data.
func (st *ageStrata) pointCells() []float64 {
	out := make([]float64, len(st.cells))
	for c, v := range st.cells {
		if len(v) > 0 {
			out[c] = sum(v) / float64(len(v))
		}
	}
	return out
}

// ageReplicates holds one grouping's bootstrap replicates.
type ageReplicates struct {
	group [][]float64 // [scored group][resample] adjusted MAE
	stats []adjustedStats
}

// ageBootstrap resamples every grouping within its group × age bin cells
// (cell sizes fixed, as the reference weights are) and returns each
// resample's adjusted MAEs and scores. Each cell's resample b has its own
// stream, so results do not depend on the workers; and the work runs cell
// by cell, every resample of one cell while it is in cache, which on 1M
// rows is what keeps the adjusted scores within the cost of the raw ones.
func ageBootstrap(ctx context.Context, sets []*ageStrata, resamples int, seed uint64, workers int) ([]ageReplicates, error) {
	type cellJob struct {
		si, c   int
		purpose string
	}
	var jobs []cellJob
	cellMAE := make([][][]float64, len(sets)) // [grouping][cell][resample]
	for si, st := range sets {
		if st == nil {
			continue
		}
		cellMAE[si] = make([][]float64, len(st.cells32))
		for c, v := range st.cells32 {
			if len(v) > 0 {
				cellMAE[si][c] = make([]float64, resamples)
				jobs = append(jobs, cellJob{si, c, fmt.Sprintf("age-bootstrap/%s/%d", st.name, c)})
			}
		}
	}
	const chunk = 25 // resamples per job: enough jobs to balance the workers
	chunks := (resamples + chunk - 1) / chunk
	err := parallelFor(ctx, len(jobs)*chunks, workerCount(workers, len(jobs)*chunks), func(_, j int) {
		job := jobs[j/chunks]
		v := sets[job.si].cells32[job.c]
		out := cellMAE[job.si][job.c]
		for b := (j % chunks) * chunk; b < min(resamples, (j%chunks+1)*chunk); b++ {
			out[b] = gatherSum(v, newStream(seed, job.purpose, uint64(b))) / float64(len(v))
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]ageReplicates, len(sets))
	for si, st := range sets {
		if st == nil {
			continue
		}
		rep := &out[si]
		rep.group = make([][]float64, st.k)
		for g := range st.k {
			rep.group[g] = make([]float64, resamples)
		}
		rep.stats = make([]adjustedStats, resamples)
		cell, adj, raw := make([]float64, len(st.cells)), make([]float64, st.k), make([]float64, st.k)
		for b := range resamples {
			for c, m := range cellMAE[si] {
				if m != nil {
					cell[c] = m[b]
				}
			}
			rep.stats[b] = st.evaluate(cell, adj, raw)
			for g := range st.k {
				rep.group[g][b] = adj[g]
			}
		}
	}
	return out, nil
}

// gatherSum draws len(v) values of v uniformly with replacement and
// returns their sum. Like drawCounts it takes two 32-bit draws from each
// 64-bit output and replaces the rare rejected draw by an exact one, so
// every index stays equally likely; two accumulators keep the adds
// independent. Gathering the drawn values beat resampleStats' counting
// here (1.4–2.3 against 2.2–3.4 ns per row for cells of 1,000 to 125,000
// rows): with only a sum to compute, the counting's second pass costs more
// than the random reads it saves.
func gatherSum[F float32 | float64](v []F, r *stream) float64 {
	n := uint32(len(v))
	thresh := -n % n
	pick := func(x uint32) float64 {
		m := uint64(x) * uint64(n)
		if uint32(m) < thresh {
			return float64(v[r.intn(n)])
		}
		return float64(v[m>>32])
	}
	var s0, s1 float64
	i := uint32(0)
	for ; i+1 < n; i += 2 {
		x := r.uint64()
		s0 += pick(uint32(x))
		s1 += pick(uint32(x >> 32))
	}
	if i < n {
		s0 += float64(v[r.intn(n)])
	}
	return s0 + s1
}

// fillAdjusted attaches the point estimates and the bootstrap intervals
// (reps nil: none) of one grouping.
func fillAdjusted(adj *AgeAdjusted, st *ageStrata, reps *ageReplicates, confidence float64) {
	am, rm := make([]float64, st.k), make([]float64, st.k)
	pt := st.evaluate(st.pointCells(), am, rm)
	col := func(get func(adjustedStats) float64) []float64 {
		if reps == nil {
			return nil
		}
		out := make([]float64, len(reps.stats))
		for b, s := range reps.stats {
			out[b] = get(s)
		}
		return out
	}
	for g := range adj.Groups {
		var r []float64
		if reps != nil {
			r = reps.group[g]
		}
		adj.Groups[g].MAE = withInterval(am[g], r, confidence)
	}
	adj.Bias = withInterval(pt.bias, col(func(s adjustedStats) float64 { return s.bias }), confidence)
	adj.Gap = withInterval(pt.gap, col(func(s adjustedStats) float64 { return s.gap }), confidence)
	adj.Ratio = withInterval(pt.ratio, col(func(s adjustedStats) float64 { return s.ratio }), confidence)
	adj.Diff = withInterval(pt.diff, col(func(s adjustedStats) float64 { return s.diff }), confidence)
	adj.RawDiff = withInterval(pt.rawDiff, col(func(s adjustedStats) float64 { return s.rawDiff }), confidence)
	adj.AgeMixShareBias = withInterval(pt.shareBias, col(func(s adjustedStats) float64 { return s.shareBias }), confidence)
	adj.AgeMixShareGap = withInterval(pt.shareGap, col(func(s adjustedStats) float64 { return s.shareGap }), confidence)
}

// agePermutationTest tests whether the groups' absolute errors are
// exchangeable within each age bin: it shuffles group labels among the
// rows of one bin of the support at a time, so every cell keeps its size
// and every group its age mix, and recomputes the adjusted bias score.
func agePermutationTest(ctx context.Context, name string, st *ageStrata, observed float64, resamples int, seed uint64, workers int) (Test, error) {
	var hit []bool
	var err error
	if st.k <= math.MaxUint8+1 {
		hit, err = agePermute[uint8](ctx, name, st, observed, resamples, seed, workers)
	} else {
		hit, err = agePermute[int32](ctx, name, st, observed, resamples, seed, workers)
	}
	if err != nil {
		return Test{}, err
	}
	return Test{Name: name, Observed: observed, P: pValue(hit), Permutations: resamples}, nil
}

func agePermute[L uint8 | int32](ctx context.Context, name string, st *ageStrata, observed float64, resamples int, seed uint64, workers int) ([]bool, error) {
	// Rows of the support, bin by bin: seg[b] to seg[b+1].
	var abs []float64
	var labels []L
	var binOf []int32
	seg := []int{0}
	for b := range st.nb {
		if st.wAdj[b] > 0 {
			for g := range st.k {
				for _, v := range st.cells[g*st.nb+b] {
					abs = append(abs, v)
					labels = append(labels, L(g))
					binOf = append(binOf, int32(b))
				}
			}
		}
		seg = append(seg, len(abs))
	}
	hit := make([]bool, resamples)
	workers = workerCount(workers, resamples)
	type buf struct {
		lab          []L
		sums, am, rm []float64
	}
	bufs := make([]*buf, workers)
	tol := 1e-12 * math.Max(1, math.Abs(observed))
	err := parallelFor(ctx, resamples, workers, func(w, b int) {
		if bufs[w] == nil {
			bufs[w] = &buf{make([]L, len(labels)), make([]float64, st.k*st.nb), make([]float64, st.k), make([]float64, st.k)}
		}
		bf := bufs[w]
		lab := bf.lab
		copy(lab, labels)
		r := newStream(seed, "age-permutation/"+name, uint64(b))
		for bin := range st.nb {
			part := lab[seg[bin]:seg[bin+1]]
			for i := len(part) - 1; i > 0; i-- {
				j := r.intn(uint32(i + 1))
				part[i], part[j] = part[j], part[i]
			}
		}
		s := bf.sums
		clear(s)
		for i, g := range lab {
			s[int(g)*st.nb+int(binOf[i])] += abs[i]
		}
		for c := range s {
			if st.n[c] > 0 {
				s[c] /= float64(st.n[c])
			}
		}
		// Only the adjusted MAEs matter here, not evaluate's raw side.
		for g := range st.k {
			var a float64
			for bin := range st.nb {
				a += st.wAdj[bin] * s[g*st.nb+bin]
			}
			bf.am[g] = a
		}
		bias, _, _ := scores(bf.am)
		hit[b] = bias >= observed-tol
	})
	return hit, err
}

// adjustNote is the summary of dropped bins, for warnings and notes:
// "[60,∞) (weight 0.120; no rows of others)".
func adjustNote(adj *AgeAdjusted) string {
	parts := make([]string, len(adj.Dropped))
	for i, d := range adj.Dropped {
		parts[i] = fmt.Sprintf("%s (weight %.3f; no rows of %s)", d.Bin, d.Weight, strings.Join(d.Missing, ", "))
	}
	return strings.Join(parts, "; ")
}
