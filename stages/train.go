package stages

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"fairage/augment"
	"fairage/config"
	"fairage/dataset"
	"fairage/pipeline"
	"fairage/regressor"
	"fairage/tfmodel"
)

var trainDef = stageDef{
	name: stageTrain,
	reads: func(c *Config) []any {
		return []any{&c.Model.Kind, &c.Model.ResNet, &c.Train, &c.Augment.Options, &c.Data.Ingest.Size, &c.Run.Seed}
	},
	build: func(v *Config, d []config.Decl, _ graphInfo) pipeline.Stage {
		mc, tc := v.Model.ResNet, v.Train
		if mc.InputSize == 0 {
			mc.InputSize = v.Data.Ingest.Size
		}
		mc.Seed, tc.Seed = uint64(v.Run.Seed), uint64(v.Run.Seed)
		return trainStage{stageBase: stageBase{name: stageTrain, version: "2", decls: d,
			inputs: []string{stageIngest, stageSplit, stageBalance, stageAugment}},
			kind: v.Model.Kind, model: mc, train: tc, augment: v.Augment.Options}
	},
}

// trainStage fits the regressor on the balanced (and augmented) training
// set, monitoring the validation split.
type trainStage struct {
	stageBase
	kind    regressor.KindName
	model   tfmodel.ModelConfig
	train   tfmodel.TrainConfig
	augment augment.Options
}

// trainReport is train.json.
type trainReport struct {
	Epochs      int    `json:"epochs_run"`
	Examples    int    `json:"train_examples"`
	Valid       int    `json:"valid_examples"`
	ImagesFrom  string `json:"images_from"`
	Augmented   string `json:"augmentation"`
	TFVersion   string `json:"tensorflow"`
	ResumedFrom bool   `json:"resumed"`
	// Precision is train.precision as it resolved on this machine.
	Precision *tfmodel.PrecisionChoice `json:"precision,omitempty"`
	// Cluster is where training ran when train.cluster was set.
	Cluster *clusterReport `json:"cluster,omitempty"`
}

// clusterReport is the cluster layout in train.json.
type clusterReport struct {
	Layout string   `json:"layout"`
	Worker []string `json:"worker"`
	PS     []string `json:"ps,omitempty"`
}

// InputDigest adds to the fingerprint (and the manifest) what
// train.precision auto resolved to on this machine, so a run on a machine
// that picks another precision trains anew instead of reusing the other's
// model, and the cluster layout (how many workers, where the variables
// live): it changes the results (batch-norm statistics per shard), while
// the addresses, which do not, stay out. A cluster file is read here, so
// editing it is noticed.
func (s trainStage) InputDigest(context.Context) (string, error) {
	prec, err := tfmodel.AutoPrecisionDigest("train.precision", s.train.Precision)
	if err != nil || !s.train.Cluster.Enabled() {
		return prec, err
	}
	cl, err := s.train.Cluster.Resolve("train.cluster")
	if err != nil {
		return "", err
	}
	if prec != "" {
		prec += "; "
	}
	return prec + "train.cluster: " + cl.Layout(), nil
}

func (s trainStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	mc, tc := s.model, s.train
	tc.CheckpointDir = sc.Scratch
	tc.Resume = sc.Resume
	if err := tc.Validate(); err != nil {
		return pipeline.Stats{}, err
	}
	augOpts := s.augment
	samples, err := splitSamples(sc)
	if err != nil {
		return pipeline.Stats{}, err
	}
	plan, err := dataset.ReadPlan(inputPath(sc, stageBalance, planFile))
	if err != nil {
		return pipeline.Stats{}, err
	}
	originals, err := dataset.OpenPacked(inputPath(sc, stageIngest, imagesFile))
	if err != nil {
		return pipeline.Stats{}, err
	}
	defer originals.Close()
	train, closeTrain, err := trainData(sc, samples, plan, originals)
	if err != nil {
		return pipeline.Stats{}, err
	}
	defer closeTrain()
	valid, err := splitData(samples, dataset.SplitValid, originals)
	if err != nil {
		return pipeline.Stats{}, err
	}
	var online regressor.Augmenter
	if augOpts.Mode == augment.ModeOnline {
		aug, err := augment.New(augOpts)
		if err != nil {
			return pipeline.Stats{}, err
		}
		online = aug.Online()
	}
	kind, err := regressor.Lookup(string(s.kind))
	if err != nil {
		return pipeline.Stats{}, err
	}
	model, err := kind.New(ctx, regressor.Env{Settings: &mc, Threads: tc.Threads, Progress: sc.Progress, Log: sc.Log}, tc)
	if err != nil {
		return pipeline.Stats{}, err
	}
	defer model.Close()
	fmt.Fprintf(sc.Log, "train: %s ×%g at %dpx, %d training examples, %d validation, strategy %s\n",
		mc.Arch, mc.WidthMultiplier, mc.InputSize, len(train.Examples), len(valid.Examples), tc.Strategy)
	hist, err := model.Fit(ctx, train, valid, online, func(r dataset.EpochRecord) {
		fmt.Fprintf(sc.Log, "train: epoch %d (%s): loss %.4f, MAE %.2f, val MAE %.2f, lr %.2g, %.0fs, %.0f img/s\n",
			r.Epoch, r.Phase, r.Loss, r.MAE, r.ValMAE, r.LR, r.Seconds, r.ImagesPerSec)
	})
	if err != nil {
		return pipeline.Stats{}, err
	}
	if err := model.Save(outPath(sc, modelDir)); err != nil {
		return pipeline.Stats{}, err
	}
	if err := dataset.WriteHistory(outPath(sc, historyFile), hist); err != nil {
		return pipeline.Stats{}, err
	}
	from := "ingest " + imagesFile
	if train.Images != originals {
		from = "augment " + trainImagesFile
	}
	rep := trainReport{Epochs: len(hist), Examples: len(train.Examples), Valid: len(valid.Examples), ImagesFrom: from,
		Augmented: string(augOpts.Mode), TFVersion: tfmodel.Version(), ResumedFrom: sc.Resume}
	if r, ok := model.(interface {
		TrainedIn() *tfmodel.PrecisionChoice
	}); ok {
		rep.Precision = r.TrainedIn()
	}
	if tc.Cluster.Enabled() {
		cl, err := tc.Cluster.Resolve("train.cluster")
		if err != nil {
			return pipeline.Stats{}, err
		}
		rep.Cluster = &clusterReport{Layout: cl.Layout(), Worker: cl.Worker, PS: cl.PS}
		fmt.Fprintf(sc.Log, "train: on a TensorFlow cluster: %s\n", cl.Layout())
	}
	if err := writeJSON(outPath(sc, "train.json"), rep); err != nil {
		return pipeline.Stats{}, err
	}
	return pipeline.Stats{RowsIn: int64(len(train.Examples)), RowsOut: int64(len(hist))}, nil
}

// trainData builds the training examples from the plan: from the augment
// stage's materialised images when it wrote them (image i is plan row i),
// otherwise from the original images (online or no augmentation).
func trainData(sc *pipeline.StageContext, samples []dataset.Sample, plan []dataset.PlanRow, originals *dataset.Packed) (regressor.Data, func(), error) {
	ages := make(map[string]float64, len(samples))
	for i := range samples {
		ages[samples[i].ID] = samples[i].Age
	}
	images, closeFn := originals, func() {}
	materialised := inputPath(sc, stageAugment, trainImagesFile)
	if _, err := os.Stat(materialised); err == nil {
		p, err := dataset.OpenPacked(materialised)
		if err != nil {
			return regressor.Data{}, nil, err
		}
		if p.Len() != len(plan) {
			p.Close()
			return regressor.Data{}, nil, fmt.Errorf("train: %s has %d images for %d plan rows; rerun with --from augment", filepath.Base(materialised), p.Len(), len(plan))
		}
		images, closeFn = p, func() { p.Close() }
	}
	ex := make([]regressor.Example, len(plan))
	for i, row := range plan {
		age, ok := ages[row.SampleID]
		if !ok {
			closeFn()
			return regressor.Data{}, nil, fmt.Errorf("train: plan row %d names sample %q, which the split does not have", i+1, row.SampleID)
		}
		idx := i
		if images == originals {
			j, ok := originals.Index(row.SampleID)
			if !ok {
				closeFn()
				return regressor.Data{}, nil, fmt.Errorf("train: sample %q has no packed image", row.SampleID)
			}
			idx = j
		}
		ex[i] = regressor.Example{Index: idx, ID: augment.CopyID(row.SampleID, row.Copy), Target: age, Weight: row.Weight, Copy: int(row.Copy), AugSeed: row.AugSeed}
	}
	return regressor.Data{Images: images, Examples: ex}, closeFn, nil
}
