package stages

import (
	"context"
	"fmt"
	"io"

	"fairage/augment"
	"fairage/config"
	"fairage/dataset"
	"fairage/internal/atomicfile"
	"fairage/pipeline"
)

var augmentDef = stageDef{
	name:  stageAugment,
	reads: func(c *Config) []any { return []any{&c.Augment, &c.Balance.By} },
	build: func(v *Config, d []config.Decl, _ graphInfo) pipeline.Stage {
		return augmentStage{stageBase{name: stageAugment, version: "2", decls: d, inputs: []string{stageIngest, stageSplit, stageBalance}},
			v.Augment.Options, v.Augment.ContactSheet.Copies, v.Balance.By}
	},
}

// augmentStage materialises the training images (offline mode) and draws
// the contact sheet the report shows.
type augmentStage struct {
	stageBase
	opts   augment.Options
	copies int      // augmented copies per group on the contact sheet
	by     []string // balance.by: the groups the contact sheet shows
}

// augmentReport is augment.json.
type augmentReport struct {
	Mode      string `json:"mode"`
	Images    int    `json:"images_written"`
	Augmented int    `json:"augmented"`
}

func (s augmentStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	opts := s.opts
	aug, err := augment.New(opts)
	if err != nil {
		return pipeline.Stats{}, err
	}
	plan, err := dataset.ReadPlan(inputPath(sc, stageBalance, planFile))
	if err != nil {
		return pipeline.Stats{}, err
	}
	samples, err := splitSamples(sc)
	if err != nil {
		return pipeline.Stats{}, err
	}
	images, err := dataset.OpenPacked(inputPath(sc, stageIngest, imagesFile))
	if err != nil {
		return pipeline.Stats{}, err
	}
	defer images.Close()

	rep := augmentReport{Mode: string(opts.Mode)}
	if opts.Mode == augment.ModeOffline {
		tr := sc.Progress("augment", "img", len(plan))
		st, err := aug.Materialize(ctx, images, plan, outPath(sc, trainImagesFile), tr)
		tr.Finish()
		if err != nil {
			return pipeline.Stats{}, err
		}
		rep.Images, rep.Augmented = st.Images, st.Augmented
	}
	rows := augment.SheetRows(samples, plan, s.by, s.copies)
	if err := atomicfile.WriteBuffered(outPath(sc, contactSheetFile), func(w io.Writer) error {
		return aug.ContactSheet(w, images, rows)
	}); err != nil {
		return pipeline.Stats{}, fmt.Errorf("contact sheet: %w", err)
	}
	if err := writeJSON(outPath(sc, "augment.json"), rep); err != nil {
		return pipeline.Stats{}, err
	}
	return pipeline.Stats{RowsIn: int64(len(plan)), RowsOut: int64(rep.Images)}, nil
}
