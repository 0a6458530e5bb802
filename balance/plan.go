package balance

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"fairage/dataset"
)

// Distribution stages of dataset.GroupCount.
const (
	StageBefore = "before"
	StageAfter  = "after"
)

// Result is a balance plan with what the report needs to explain it.
type Result struct {
	// Rows are the training examples: every kept training sample as copy
	// 0, followed by its copies, in sample-id order. Weights have mean 1.
	Rows []dataset.PlanRow
	// Counts is the group distribution before (training samples, weight 1
	// each) and after (plan rows and their weights) balancing: each By
	// attribute's groups, then the joint cells. Unknown values appear as
	// UnknownGroup; pooled cells appear under their own labels.
	Counts []dataset.GroupCount
	// Notes explain every decision that changed the data.
	Notes []Note
}

// Plan balances the training samples (Split == "train"; the others are
// ignored) according to o. The same samples and options always give the
// same plan, whatever the order of samples.
func Plan(ctx context.Context, samples []dataset.Sample, o Options) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	train, err := trainingSamples(samples)
	if err != nil {
		return nil, err
	}
	var ns notes
	if skipped := len(samples) - len(train); skipped > 0 {
		ns.info("balanced the %d training samples; %d samples of other splits are not part of the plan", len(train), skipped)
	}
	d := newDraft(len(train))
	if err := draftGroups(ctx, train, o, d, &ns); err != nil {
		return nil, err
	}
	if o.LDS.Enabled {
		if err := applyLDS(train, d, o.LDS, &ns); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("balance: %w", err)
	}
	rows := d.rows(train, o.Seed)
	counts, err := distributions(train, rows, reportAttrs(train, o))
	if err != nil {
		return nil, fmt.Errorf("balance: %w", err)
	}
	return &Result{Rows: rows, Counts: counts, Notes: ns}, nil
}

// draftGroups applies the group strategy to the draft.
func draftGroups(ctx context.Context, train []*dataset.Sample, o Options, d *draft, ns *notes) error {
	if o.Strategy == StrategyNone {
		return nil
	}
	p, err := newPopulation(train, o, ns)
	if err != nil {
		return err
	}
	if o.Mode == ModeMarginal {
		err = p.groupMarginal(o, ns)
	} else {
		err = p.groupJoint(o, ns)
	}
	if err != nil {
		return err
	}
	if len(p.cells) == 0 {
		ns.warn("no cell of %s is left to balance after the unknown and small-cell policies; the plan keeps every sample once", attrName(o.By))
		return nil
	}
	t, _ := parseTarget(o.Target, o.Strategy) // checked by Validate
	switch {
	case o.Strategy == StrategyOversample && o.Mode == ModeMarginal:
		return oversampleMarginal(ctx, p, t, o, d, ns)
	case o.Strategy == StrategyOversample:
		return oversampleJoint(p, t, o, d, ns)
	case o.Strategy == StrategyUndersample:
		return undersampleJoint(p, t, o, d, ns)
	case o.Mode == ModeMarginal:
		return reweightMarginal(ctx, p, o, d, ns)
	default:
		reweightJoint(p, d, ns)
		return nil
	}
}

// trainingSamples picks the training split in id order, so that the plan
// does not depend on the order rows arrived in.
func trainingSamples(samples []dataset.Sample) ([]*dataset.Sample, error) {
	var train []*dataset.Sample
	for i := range samples {
		if samples[i].Split == dataset.SplitTrain {
			train = append(train, &samples[i])
		}
	}
	if len(train) == 0 {
		return nil, fmt.Errorf("balance: no training samples (split %q) among %d samples", dataset.SplitTrain, len(samples))
	}
	sort.SliceStable(train, func(a, b int) bool { return train[a].ID < train[b].ID })
	for i := 1; i < len(train); i++ {
		if train[i].ID == train[i-1].ID {
			return nil, fmt.Errorf("balance: sample id %q appears twice among the training samples", train[i].ID)
		}
	}
	return train, nil
}

// reportAttrs are the attributes of the distribution tables: the By
// attributes, plus age_group when LDS reweights ages and the samples have
// age groups, so the report shows what LDS did.
func reportAttrs(train []*dataset.Sample, o Options) []string {
	attrs := append([]string(nil), o.By...)
	if o.LDS.Enabled && !slices.Contains(attrs, dataset.AttrAgeGroup) {
		for _, s := range train {
			if s.AgeGroup != "" {
				return append(attrs, dataset.AttrAgeGroup)
			}
		}
	}
	return attrs
}

// distributions tabulates the training samples and the plan rows by attrs.
func distributions(train []*dataset.Sample, rows []dataset.PlanRow, attrs []string) ([]dataset.GroupCount, error) {
	if len(attrs) == 0 {
		return nil, nil
	}
	labels := make([][]string, len(train))
	byID := make(map[string]int, len(train))
	for i, s := range train {
		l := make([]string, len(attrs))
		for j, a := range attrs {
			if l[j] = s.Attr(a); l[j] == "" {
				l[j] = UnknownGroup
			}
		}
		labels[i] = l
		byID[s.ID] = i
	}
	before, err := distribution(StageBefore, attrs, tallyCells(len(train),
		func(i int) []string { return labels[i] }, func(int) float64 { return 1 }))
	if err != nil {
		return nil, err
	}
	after, err := distribution(StageAfter, attrs, tallyCells(len(rows),
		func(i int) []string { return labels[byID[rows[i].SampleID]] }, func(i int) float64 { return rows[i].Weight }))
	if err != nil {
		return nil, err
	}
	return append(before, after...), nil
}
