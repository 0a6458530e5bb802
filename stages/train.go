package stages

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"fairage/augment"
	"fairage/dataset"
	"fairage/pipeline"
	"fairage/regressor"
	"fairage/tfmodel"
)

var (
	modelDefaults = tfmodel.DefaultModelConfig()
	trainDefaults = tfmodel.DefaultTrainConfig()
)

var modelSection = pipeline.Section{
	Name: "model",
	Doc:  "The ResNet age regressor built in TensorFlow from Go (package tfmodel): backbone, dense head with dropout, and output sigmoid × age_max as in the original study.",
	Fields: []pipeline.Field{
		{Key: "model.arch", Kind: pipeline.KindString, Default: modelDefaults.Arch, Enum: tfmodel.Architectures, Doc: "Backbone: resnet18/34 (basic blocks) or resnet50 (bottleneck)."},
		{Key: "model.input_size", Kind: pipeline.KindInt, Default: 0, Min: pipeline.Num(0), Doc: "Input side in pixels; 0 means data.image_size (any other value must equal it)."},
		{Key: "model.width_multiplier", Kind: pipeline.KindFloat, Default: modelDefaults.WidthMultiplier, Min: pipeline.Num(0.01), Max: pipeline.Num(4), Doc: "Scales the backbone widths 64-128-256-512 (0.25 for quick CPU runs)."},
		{Key: "model.head", Kind: pipeline.KindInts, Default: modelDefaults.Head, Min: pipeline.Num(1), Doc: "Hidden dense layers of the head, in order (the study's best: 512-256-128-64-32)."},
		{Key: "model.dropout", Kind: pipeline.KindFloat, Default: modelDefaults.Dropout, Min: pipeline.Num(0), Max: pipeline.Num(0.95), Doc: "Dropout after each hidden dense layer (training only)."},
		{Key: "model.age_max", Kind: pipeline.KindFloat, Default: modelDefaults.AgeMax, Min: pipeline.Num(1), Doc: "Output is sigmoid × age_max years; targets are scaled by it."},
		{Key: "model.bn_momentum", Kind: pipeline.KindFloat, Default: modelDefaults.BNMomentum, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Batch-norm moving-statistics momentum (Keras: 0.99)."},
		{Key: "model.pretrained", Kind: pipeline.KindString, Default: modelDefaults.Pretrained, Enum: tfmodel.PretrainedSources, Doc: "Initial backbone weights: none (random, from run.seed) or face-api (dlib's face-recognition ResNet from @vladmandic/face-api 1.7.15, installed by make setup-models; arch face_resnet only)."},
		{Key: "model.features", Kind: pipeline.KindString, Default: modelDefaults.Features, Enum: tfmodel.FeatureKinds, Doc: "What the head reads: pooled (global-average-pooled backbone features; 256-d for face_resnet) or descriptor (face_resnet's 128-d face descriptor)."},
	},
}

var trainSection = pipeline.Section{
	Name: "train",
	Doc:  "Training (package tfmodel): loss, Adam, strategy (head only, all layers, or head then all), reduce-on-plateau, early stopping, threads.",
	Fields: []pipeline.Field{
		{Key: "train.loss", Kind: pipeline.KindString, Default: trainDefaults.Loss, Enum: []string{"mae", "mse"}, Doc: "Loss on targets scaled by model.age_max, weighted per sample by the plan."},
		{Key: "train.strategy", Kind: pipeline.KindString, Default: trainDefaults.Strategy, Enum: tfmodel.Strategies, Doc: "head_only freezes the backbone (and its batch norm); all_layers trains everything; head_then_all runs head_phase then all_phase."},
		{Key: "train.lr", Kind: pipeline.KindFloat, Default: trainDefaults.Adam.LR, Min: pipeline.Num(0), Doc: "Adam learning rate of head_only and all_layers."},
		{Key: "train.epochs", Kind: pipeline.KindInt, Default: trainDefaults.Epochs, Min: pipeline.Num(1), Doc: "Epochs of head_only and all_layers."},
		{Key: "train.head_phase.lr", Kind: pipeline.KindFloat, Default: trainDefaults.HeadPhase.LR, Min: pipeline.Num(0), Doc: "head_then_all: learning rate of the head-only phase."},
		{Key: "train.head_phase.epochs", Kind: pipeline.KindInt, Default: trainDefaults.HeadPhase.Epochs, Min: pipeline.Num(0), Doc: "head_then_all: epochs of the head-only phase."},
		{Key: "train.all_phase.lr", Kind: pipeline.KindFloat, Default: trainDefaults.AllPhase.LR, Min: pipeline.Num(0), Doc: "head_then_all: learning rate of the all-layers phase."},
		{Key: "train.all_phase.epochs", Kind: pipeline.KindInt, Default: trainDefaults.AllPhase.Epochs, Min: pipeline.Num(0), Doc: "head_then_all: epochs of the all-layers phase."},
		{Key: "train.beta1", Kind: pipeline.KindFloat, Default: trainDefaults.Adam.Beta1, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Adam β1."},
		{Key: "train.beta2", Kind: pipeline.KindFloat, Default: trainDefaults.Adam.Beta2, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Adam β2."},
		{Key: "train.epsilon", Kind: pipeline.KindFloat, Default: trainDefaults.Adam.Epsilon, Min: pipeline.Num(0), Doc: "Adam ε."},
		{Key: "train.weight_decay", Kind: pipeline.KindFloat, Default: trainDefaults.WeightDecay, Min: pipeline.Num(0), Doc: "L2 factor on kernels (0: none)."},
		{Key: "train.batch_size", Kind: pipeline.KindInt, Default: trainDefaults.BatchSize, Min: pipeline.Num(1), Max: pipeline.Num(4096), Doc: "Images per training step (and per validation batch during training; the evaluate stage uses evaluate.batch_size)."},
		{Key: "train.reduce_on_plateau.monitor", Kind: pipeline.KindString, Default: trainDefaults.ReduceOnPlateau.Monitor, Enum: tfmodel.Monitors, Doc: "Metric watched by reduce-on-plateau."},
		{Key: "train.reduce_on_plateau.factor", Kind: pipeline.KindFloat, Default: trainDefaults.ReduceOnPlateau.Factor, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Learning-rate factor on a plateau."},
		{Key: "train.reduce_on_plateau.patience", Kind: pipeline.KindInt, Default: trainDefaults.ReduceOnPlateau.Patience, Min: pipeline.Num(0), Doc: "Epochs without improvement before reducing (0: off)."},
		{Key: "train.reduce_on_plateau.min_lr", Kind: pipeline.KindFloat, Default: trainDefaults.ReduceOnPlateau.MinLR, Min: pipeline.Num(0), Doc: "Floor of the learning rate."},
		{Key: "train.early_stopping.monitor", Kind: pipeline.KindString, Default: trainDefaults.EarlyStopping.Monitor, Enum: tfmodel.Monitors, Doc: "Metric watched by early stopping (and for the best checkpoint)."},
		{Key: "train.early_stopping.patience", Kind: pipeline.KindInt, Default: trainDefaults.EarlyStopping.Patience, Min: pipeline.Num(0), Doc: "Epochs without improvement before stopping (0: never stop early)."},
		{Key: "train.early_stopping.restore_best", Kind: pipeline.KindBool, Default: trainDefaults.EarlyStopping.RestoreBest, Doc: "End each phase with its best epoch's weights."},
		{Key: "train.threads.intra_op", Kind: pipeline.KindInt, Default: 0, Min: pipeline.Num(0), Doc: "TensorFlow intra-op threads (0: all cores)."},
		{Key: "train.threads.inter_op", Kind: pipeline.KindInt, Default: 0, Min: pipeline.Num(0), Doc: "TensorFlow inter-op threads (0: TensorFlow's choice)."},
		{Key: "train.prefetch", Kind: pipeline.KindInt, Default: trainDefaults.Prefetch, Min: pipeline.Num(1), Doc: "Batches prepared (and augmented) ahead of the session."},
		{Key: "train.workers", Kind: pipeline.KindInt, Default: 0, Min: pipeline.Num(0), Doc: "Goroutines preparing batches (0: one per CPU)."},
		{Key: "train.backbone_lr_scale", Kind: pipeline.KindFloat, Default: trainDefaults.BackboneLRScale, Min: pipeline.Num(1e-6), Max: pipeline.Num(10), Doc: "Multiplier on the backbone's learning rate when all layers train (e.g. 0.1 to fine-tune a pretrained backbone gently)."},
		{Key: "train.freeze_stages", Kind: pipeline.KindInt, Default: trainDefaults.FreezeStages, Min: pipeline.Num(0), Max: pipeline.Num(5), Doc: "When all layers train, keep the first N of the backbone's 5 stages frozen (1: the stem; 2-5: the residual stages)."},
	},
}

// modelConfig maps the model section onto tfmodel.ModelConfig.
func modelConfig(cfg *pipeline.Config) tfmodel.ModelConfig {
	m := tfmodel.DefaultModelConfig()
	m.Arch = cfg.String("model.arch")
	m.InputSize = cfg.Int("model.input_size")
	if m.InputSize == 0 {
		m.InputSize = cfg.Int("data.image_size")
	}
	m.WidthMultiplier = cfg.Float("model.width_multiplier")
	m.Head = cfg.Ints("model.head")
	m.Dropout = cfg.Float("model.dropout")
	m.AgeMax = cfg.Float("model.age_max")
	m.BNMomentum = cfg.Float("model.bn_momentum")
	m.Pretrained = cfg.String("model.pretrained")
	m.Features = cfg.String("model.features")
	m.Seed = seed(cfg)
	return m
}

// trainConfig maps the train section onto tfmodel.TrainConfig.
func trainConfig(cfg *pipeline.Config) tfmodel.TrainConfig {
	t := tfmodel.DefaultTrainConfig()
	t.Loss = cfg.String("train.loss")
	t.Strategy = cfg.String("train.strategy")
	t.Adam = tfmodel.AdamConfig{LR: cfg.Float("train.lr"), Beta1: cfg.Float("train.beta1"), Beta2: cfg.Float("train.beta2"), Epsilon: cfg.Float("train.epsilon")}
	t.Epochs = cfg.Int("train.epochs")
	t.HeadPhase = tfmodel.PhaseConfig{LR: cfg.Float("train.head_phase.lr"), Epochs: cfg.Int("train.head_phase.epochs")}
	t.AllPhase = tfmodel.PhaseConfig{LR: cfg.Float("train.all_phase.lr"), Epochs: cfg.Int("train.all_phase.epochs")}
	t.WeightDecay = cfg.Float("train.weight_decay")
	t.BatchSize = cfg.Int("train.batch_size")
	t.ReduceOnPlateau = tfmodel.PlateauConfig{Monitor: cfg.String("train.reduce_on_plateau.monitor"), Factor: cfg.Float("train.reduce_on_plateau.factor"),
		Patience: cfg.Int("train.reduce_on_plateau.patience"), MinLR: cfg.Float("train.reduce_on_plateau.min_lr")}
	t.EarlyStopping = tfmodel.EarlyStopConfig{Monitor: cfg.String("train.early_stopping.monitor"), Patience: cfg.Int("train.early_stopping.patience"),
		RestoreBest: cfg.Bool("train.early_stopping.restore_best")}
	t.Seed = seed(cfg)
	t.IntraOpThreads, t.InterOpThreads = cfg.Int("train.threads.intra_op"), cfg.Int("train.threads.inter_op")
	t.Prefetch = cfg.Int("train.prefetch")
	t.Workers = cfg.Int("train.workers")
	t.BackboneLRScale = cfg.Float("train.backbone_lr_scale")
	t.FreezeStages = cfg.Int("train.freeze_stages")
	return t
}

// trainStage fits the regressor on the balanced (and augmented) training
// set, monitoring the validation split.
type trainStage struct{ stageBase }

func newTrainStage() trainStage {
	return trainStage{stageBase{name: stageTrain, version: "1", sections: []string{"model", "train", "augment", "data.image_size", "run.seed"},
		inputs: []string{stageIngest, stageSplit, stageBalance, stageAugment}}}
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
}

func (s trainStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	cfg := sc.Config
	mc, tc := modelConfig(cfg), trainConfig(cfg)
	if err := mc.Validate(); err != nil {
		return pipeline.Stats{}, err
	}
	tc.CheckpointDir = sc.Scratch
	tc.Resume = sc.Resume
	if err := tc.Validate(); err != nil {
		return pipeline.Stats{}, err
	}
	augOpts, err := augmentOptions(cfg)
	if err != nil {
		return pipeline.Stats{}, err
	}
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
	model, err := tfmodel.New(mc, tfmodel.WithTraining(tc), tfmodel.WithProgress(sc.Progress))
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

// splitData lists the samples of one split ("" for all) as examples.
func splitData(samples []dataset.Sample, split string, images *dataset.Packed) (regressor.Data, error) {
	var ex []regressor.Example
	for i := range samples {
		s := &samples[i]
		if split != "" && s.Split != split {
			continue
		}
		idx, ok := images.Index(s.ID)
		if !ok {
			return regressor.Data{}, fmt.Errorf("sample %q has no packed image", s.ID)
		}
		ex = append(ex, regressor.Example{Index: idx, ID: s.ID, Target: s.Age, Weight: 1})
	}
	return regressor.Data{Images: images, Examples: ex}, nil
}
