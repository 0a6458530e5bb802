package tfmodel

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Architectures lists the supported ModelConfig.Arch values.
var Architectures = []string{"resnet18", "resnet34", "resnet50"}

// ArchFaceResNet is dlib's face-recognition ResNet (see faceresnet.go).
const ArchFaceResNet = "face_resnet"

func init() { Architectures = append(Architectures, ArchFaceResNet) }

// PretrainedSources lists the ModelConfig.Pretrained values: "none" (random
// init) and the packages a backbone can start from (see pretrained.go).
var PretrainedSources = []string{"none", "face-api"}

// FeatureKinds lists the ModelConfig.Features values: what the head reads.
var FeatureKinds = []string{"pooled", "descriptor"}

// ModelConfig describes a network. It maps the YAML section `model`; start
// from DefaultModelConfig and override, since zero values are not defaults.
// It is stored as model.json next to every checkpoint, and a checkpoint only
// loads into a network with the same shape-defining fields.
type ModelConfig struct {
	Arch            string  `json:"arch"`             // resnet18, resnet34 or resnet50
	InputSize       int     `json:"input_size"`       // square input side in pixels; must equal the packed images'
	WidthMultiplier float64 `json:"width_multiplier"` // scales the base widths 64-128-256-512 (0.25 for small CPU runs)
	Head            []int   `json:"head"`             // hidden dense layers on the pooled features, in order
	Dropout         float64 `json:"dropout"`          // dropout rate after each hidden dense layer
	AgeMax          float64 `json:"age_max"`          // output = sigmoid × AgeMax years; targets are scaled by it
	BNMomentum      float64 `json:"bn_momentum"`      // moving-statistics momentum of batch norm (Keras: 0.99)
	Seed            uint64  `json:"seed"`             // initial weights
	Pretrained      string  `json:"pretrained" yaml:"pretrained" doc:"Initial backbone weights: none (random, from model.seed) or face-api (the dlib face-recognition ResNet of @vladmandic/face-api 1.7.15, installed by make setup-models; arch face_resnet only)."`
	Features        string  `json:"features" yaml:"features" doc:"What the head reads: pooled (the backbone's global-average-pooled features; 256-d for face_resnet) or descriptor (face_resnet's 128-d face descriptor after its fc layer)."`
}

// DefaultModelConfig returns the study's head (512-256-128-64-32, dropout
// 0.2) on a resnet18 at 64×64 pixels.
func DefaultModelConfig() ModelConfig {
	return ModelConfig{
		Arch:            "resnet18",
		InputSize:       64,
		WidthMultiplier: 1,
		Head:            []int{512, 256, 128, 64, 32},
		Dropout:         0.2,
		AgeMax:          100,
		BNMomentum:      0.99,
		Seed:            1,
		Pretrained:      "none",
		Features:        "pooled",
	}
}

// Validate reports every invalid field, naming its YAML key.
func (c ModelConfig) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("model.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if !slices.Contains(Architectures, c.Arch) {
		bad("arch", "%q is not one of %s", c.Arch, strings.Join(Architectures, ", "))
	}
	if c.InputSize < 8 || c.InputSize > 4096 {
		bad("input_size", "%d pixels is outside [8, 4096]", c.InputSize)
	}
	if !(c.WidthMultiplier > 0 && c.WidthMultiplier <= 4) {
		bad("width_multiplier", "%v is outside (0, 4]", c.WidthMultiplier)
	}
	for i, u := range c.Head {
		if u < 1 || u > 1<<16 {
			bad("head", "layer %d has %d units, expected 1 to 65536", i+1, u)
		}
	}
	if !(c.Dropout >= 0 && c.Dropout < 1) {
		bad("dropout", "%v is outside [0, 1)", c.Dropout)
	}
	if !(c.AgeMax > 0 && c.AgeMax <= 1000) {
		bad("age_max", "%v years is outside (0, 1000]", c.AgeMax)
	}
	if !(c.BNMomentum > 0 && c.BNMomentum < 1) {
		bad("bn_momentum", "%v is outside (0, 1)", c.BNMomentum)
	}
	errs = append(errs, c.validateBackbone()...)
	return errors.Join(errs...)
}

// sameNetwork reports how c and other differ in what the weights depend on
// ("" when they do not).
func (c ModelConfig) sameNetwork(other ModelConfig) string {
	var diffs []string
	if c.Arch != other.Arch {
		diffs = append(diffs, fmt.Sprintf("arch %s vs %s", c.Arch, other.Arch))
	}
	if c.InputSize != other.InputSize {
		diffs = append(diffs, fmt.Sprintf("input_size %d vs %d", c.InputSize, other.InputSize))
	}
	if c.WidthMultiplier != other.WidthMultiplier {
		diffs = append(diffs, fmt.Sprintf("width_multiplier %v vs %v", c.WidthMultiplier, other.WidthMultiplier))
	}
	if !slices.Equal(c.Head, other.Head) {
		diffs = append(diffs, fmt.Sprintf("head %v vs %v", c.Head, other.Head))
	}
	if c.AgeMax != other.AgeMax {
		diffs = append(diffs, fmt.Sprintf("age_max %v vs %v", c.AgeMax, other.AgeMax))
	}
	diffs = append(diffs, c.sameBackbone(other)...)
	return strings.Join(diffs, ", ")
}

// Strategies lists the supported TrainConfig.Strategy values.
var Strategies = []string{"head_only", "all_layers", "head_then_all"}

// TrainConfig describes how to fit. It maps the YAML section `train`
// (stages/train.go holds the schema: Adam's fields are train.lr,
// train.beta1, train.beta2, train.epsilon and the thread counts
// train.threads.intra_op/inter_op, and Validate names those keys); start
// from DefaultTrainConfig and override.
type TrainConfig struct {
	Loss        string     `json:"loss"`         // mae or mse, on targets scaled by ModelConfig.AgeMax, weighted per sample
	Adam        AdamConfig `json:"adam"`         // optimizer; Adam.LR is the rate of head_only and all_layers
	WeightDecay float64    `json:"weight_decay"` // L2 factor on kernels (loss += wd·Σw²), 0 for none
	// Strategy: head_only (backbone frozen), all_layers, or head_then_all
	// (HeadPhase then AllPhase, each with its own rate and epochs, like the
	// study's 1e-4 then 1e-5; the optimizer restarts between phases as
	// after a Keras recompile).
	Strategy        string          `json:"strategy"`
	Epochs          int             `json:"epochs"` // epochs of head_only and all_layers
	HeadPhase       PhaseConfig     `json:"head_phase"`
	AllPhase        PhaseConfig     `json:"all_phase"`
	BatchSize       int             `json:"batch_size"`
	ReduceOnPlateau PlateauConfig   `json:"reduce_on_plateau"`
	EarlyStopping   EarlyStopConfig `json:"early_stopping"`
	Seed            uint64          `json:"seed"`             // shuffling and dropout
	IntraOpThreads  int             `json:"intra_op_threads"` // 0: TensorFlow's choice (all cores)
	InterOpThreads  int             `json:"inter_op_threads"` // 0: TensorFlow's choice
	Prefetch        int             `json:"prefetch"`         // batches prepared ahead of the session
	Workers         int             `json:"workers"`          // goroutines preparing batches (augmentation); 0: GOMAXPROCS
	// CheckpointDir, when set, receives best/ (best epoch by
	// EarlyStopping.Monitor within the current phase) and last/ (end of
	// every epoch, with the training state Resume continues from).
	CheckpointDir string `json:"checkpoint_dir"`
	Resume        bool   `json:"resume"` // continue from CheckpointDir/last when it exists
	// BackboneLRScale multiplies the learning rate of backbone variables
	// when all layers train (a pretrained backbone wants a smaller rate
	// than a fresh head); FreezeStages keeps the first stages of the
	// backbone fixed even then (see stages.go for what a stage is).
	BackboneLRScale float64 `json:"backbone_lr_scale" yaml:"backbone_lr_scale" range:"(0,10]" doc:"Multiplier on the learning rate of backbone variables when all layers train (e.g. 0.1 to fine-tune a pretrained backbone gently); 1: the same rate as the head."`
	FreezeStages    int     `json:"freeze_stages" yaml:"freeze_stages" range:"[0,5]" doc:"When all layers train, keep the first N of the backbone's 5 stages frozen (stage 1 is the stem; stages 2-5 the residual stages, one per resolution); frozen weights and batch-norm statistics stay as they were."`
}

// AdamConfig holds Adam's hyper-parameters.
type AdamConfig struct {
	LR      float64 `json:"lr"`
	Beta1   float64 `json:"beta1"`
	Beta2   float64 `json:"beta2"`
	Epsilon float64 `json:"epsilon"`
}

// PhaseConfig is one phase of head_then_all.
type PhaseConfig struct {
	LR     float64 `json:"lr"`
	Epochs int     `json:"epochs"`
}

// PlateauConfig configures ReduceOnPlateau; Patience 0 disables it.
type PlateauConfig struct {
	Monitor  string  `json:"monitor"` // loss, mae, val_loss or val_mae
	Factor   float64 `json:"factor"`
	Patience int     `json:"patience"`
	MinLR    float64 `json:"min_lr"`
}

// EarlyStopConfig configures EarlyStopping; Patience 0 disables stopping
// (the best epoch is still tracked for best/ and RestoreBest).
type EarlyStopConfig struct {
	Monitor     string `json:"monitor"` // loss, mae, val_loss or val_mae
	Patience    int    `json:"patience"`
	RestoreBest bool   `json:"restore_best"` // end each phase with its best epoch's weights
}

// Monitors lists the metric names callbacks can watch.
var Monitors = []string{"loss", "mae", "val_loss", "val_mae"}

// DefaultTrainConfig returns the study's recipe scaled for a CPU: MAE loss,
// Adam 1e-4 then 1e-5, head then all layers.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{
		Loss:            "mae",
		Adam:            AdamConfig{LR: 1e-4, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-7},
		Strategy:        "head_then_all",
		Epochs:          10,
		HeadPhase:       PhaseConfig{LR: 1e-4, Epochs: 5},
		AllPhase:        PhaseConfig{LR: 1e-5, Epochs: 10},
		BatchSize:       32,
		ReduceOnPlateau: PlateauConfig{Monitor: "val_mae", Factor: 0.5, Patience: 3, MinLR: 1e-7},
		EarlyStopping:   EarlyStopConfig{Monitor: "val_mae", Patience: 6, RestoreBest: true},
		Seed:            1,
		Prefetch:        4,
		BackboneLRScale: 1,
	}
}

// Validate reports every invalid field, naming its YAML key.
func (c TrainConfig) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("train.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Loss != "mae" && c.Loss != "mse" {
		bad("loss", "%q is not one of mae, mse", c.Loss)
	}
	checkLR := func(key string, lr float64) {
		if !(lr > 0 && !math.IsInf(lr, 0)) {
			bad(key, "learning rate %v must be positive and finite", lr)
		}
	}
	if !(c.Adam.Beta1 >= 0 && c.Adam.Beta1 < 1) {
		bad("beta1", "%v is outside [0, 1)", c.Adam.Beta1)
	}
	if !(c.Adam.Beta2 >= 0 && c.Adam.Beta2 < 1) {
		bad("beta2", "%v is outside [0, 1)", c.Adam.Beta2)
	}
	if !(c.Adam.Epsilon > 0) {
		bad("epsilon", "%v must be positive", c.Adam.Epsilon)
	}
	if !(c.WeightDecay >= 0 && !math.IsInf(c.WeightDecay, 0)) {
		bad("weight_decay", "%v must be zero or positive", c.WeightDecay)
	}
	switch c.Strategy {
	case "head_only", "all_layers":
		checkLR("lr", c.Adam.LR)
		if c.Epochs < 1 {
			bad("epochs", "%d must be at least 1", c.Epochs)
		}
	case "head_then_all":
		checkLR("head_phase.lr", c.HeadPhase.LR)
		checkLR("all_phase.lr", c.AllPhase.LR)
		if c.HeadPhase.Epochs < 0 || c.AllPhase.Epochs < 0 || c.HeadPhase.Epochs+c.AllPhase.Epochs < 1 {
			bad("head_phase.epochs", "%d and train.all_phase.epochs %d must be non-negative with at least one epoch in all",
				c.HeadPhase.Epochs, c.AllPhase.Epochs)
		}
	default:
		bad("strategy", "%q is not one of %s", c.Strategy, strings.Join(Strategies, ", "))
	}
	if c.BatchSize < 1 || c.BatchSize > 1<<16 {
		bad("batch_size", "%d is outside [1, 65536]", c.BatchSize)
	}
	if p := c.ReduceOnPlateau; p.Patience != 0 {
		if !slices.Contains(Monitors, p.Monitor) {
			bad("reduce_on_plateau.monitor", "%q is not one of %s", p.Monitor, strings.Join(Monitors, ", "))
		}
		if !(p.Factor > 0 && p.Factor < 1) {
			bad("reduce_on_plateau.factor", "%v is outside (0, 1)", p.Factor)
		}
		if p.Patience < 0 {
			bad("reduce_on_plateau.patience", "%d must be zero (off) or positive", p.Patience)
		}
		if !(p.MinLR >= 0) {
			bad("reduce_on_plateau.min_lr", "%v must be zero or positive", p.MinLR)
		}
	}
	if e := c.EarlyStopping; !slices.Contains(Monitors, e.Monitor) {
		bad("early_stopping.monitor", "%q is not one of %s", e.Monitor, strings.Join(Monitors, ", "))
	} else if e.Patience < 0 {
		bad("early_stopping.patience", "%d must be zero (off) or positive", e.Patience)
	}
	if c.IntraOpThreads < 0 || c.IntraOpThreads > 1024 {
		bad("threads.intra_op", "%d is outside [0, 1024]", c.IntraOpThreads)
	}
	if c.InterOpThreads < 0 || c.InterOpThreads > 1024 {
		bad("threads.inter_op", "%d is outside [0, 1024]", c.InterOpThreads)
	}
	if c.Prefetch < 1 || c.Prefetch > 1024 {
		bad("prefetch", "%d batches is outside [1, 1024]", c.Prefetch)
	}
	if c.Workers < 0 || c.Workers > 1024 {
		bad("workers", "%d is outside [0, 1024]", c.Workers)
	}
	if c.Resume && c.CheckpointDir == "" {
		bad("resume", "needs train.checkpoint_dir")
	}
	if !(c.BackboneLRScale > 0 && c.BackboneLRScale <= 10) {
		bad("backbone_lr_scale", "%v is outside (0, 10]", c.BackboneLRScale)
	}
	if c.FreezeStages < 0 || c.FreezeStages > numStages {
		bad("freeze_stages", "%d is outside [0, %d] (the backbone has %d stages)", c.FreezeStages, numStages, numStages)
	}
	return errors.Join(errs...)
}

// phase is one stretch of training with one set of trained variables.
type phase struct {
	Name     string // "head" or "all", as in dataset.EpochRecord.Phase
	HeadOnly bool
	LR       float64
	Epochs   int
}

// phases expands the strategy into its phases.
func (c TrainConfig) phases() []phase {
	switch c.Strategy {
	case "head_only":
		return []phase{{"head", true, c.Adam.LR, c.Epochs}}
	case "all_layers":
		return []phase{{"all", false, c.Adam.LR, c.Epochs}}
	default:
		return []phase{{"head", true, c.HeadPhase.LR, c.HeadPhase.Epochs},
			{"all", false, c.AllPhase.LR, c.AllPhase.Epochs}}
	}
}
