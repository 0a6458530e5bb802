package tfmodel

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"fairage/internal/spec"
	"fairage/regressor"
	"fairage/tfdist"
)

// Architectures lists the supported ModelConfig.Arch values.
var Architectures = []string{"resnet18", "resnet34", "resnet50"}

// Arch is a backbone architecture (model.arch).
type Arch string

// Values lists the architectures.
func (Arch) Values() []string { return Architectures }

// Strategy is a training strategy (train.strategy).
type Strategy string

// Values lists the strategies.
func (Strategy) Values() []string { return Strategies }

// Loss is a training loss (train.loss).
type Loss string

// Values lists the losses.
func (Loss) Values() []string { return []string{"mae", "mse"} }

// Monitor is a metric callbacks watch.
type Monitor string

// Values lists the monitors.
func (Monitor) Values() []string { return Monitors }

// ArchFaceResNet is dlib's face-recognition ResNet (see faceresnet.go).
const ArchFaceResNet = "face_resnet"

func init() { Architectures = append(Architectures, ArchFaceResNet) }

// PretrainedSources lists the ModelConfig.Pretrained values: "none" (random
// init) and the packages a backbone can start from (see pretrained.go).
var PretrainedSources = []string{"none", "face-api"}

// Pretrained names initial backbone weights (model.pretrained).
type Pretrained string

// Values lists the sources.
func (Pretrained) Values() []string { return PretrainedSources }

// FeatureKinds lists the ModelConfig.Features values: what the head reads.
var FeatureKinds = []string{"pooled", "descriptor"}

// Features names what the head reads (model.features).
type Features string

// Values lists the feature kinds.
func (Features) Values() []string { return FeatureKinds }

// ModelConfig describes a network. It maps the YAML section `model`; start
// from DefaultModelConfig and override, since zero values are not defaults.
// It is stored as model.json next to every checkpoint, and a checkpoint only
// loads into a network with the same shape-defining fields.
type ModelConfig struct {
	Arch            Arch       `json:"arch" yaml:"arch" doc:"Backbone: resnet18/34 (basic blocks), resnet50 (bottleneck) or face_resnet (dlib's face-recognition ResNet, 150×150 input, pretrained with model.pretrained: face-api)."`
	InputSize       int        `json:"input_size" yaml:"input_size" range:"[0,4096]" doc:"Input side in pixels; 0 means data.image_size (any other value must equal it)."`
	WidthMultiplier float64    `json:"width_multiplier" yaml:"width_multiplier" range:"(0,4]" doc:"Scales the backbone widths 64-128-256-512 (0.25 for quick CPU runs)."`
	Head            []int      `json:"head" yaml:"head" range:"[1,65536]" doc:"Hidden dense layers of the head, in order (the study's best: 512-256-128-64-32)."`
	Dropout         float64    `json:"dropout" yaml:"dropout" range:"[0,1)" doc:"Dropout after each hidden dense layer (training only)."`
	AgeMax          float64    `json:"age_max" yaml:"age_max" range:"(0,1000]" doc:"Output is sigmoid × age_max years; targets are scaled by it."`
	BNMomentum      float64    `json:"bn_momentum" yaml:"bn_momentum" range:"(0,1)" doc:"Batch-norm moving-statistics momentum (Keras: 0.99)."`
	Seed            uint64     `json:"seed" yaml:"-"` // initial weights (the run seed)
	Pretrained      Pretrained `json:"pretrained" yaml:"pretrained" doc:"Initial backbone weights: none (random, from model.seed) or face-api (the dlib face-recognition ResNet of @vladmandic/face-api 1.7.15, installed by make setup-models; arch face_resnet only)."`
	Features        Features   `json:"features" yaml:"features" doc:"What the head reads: pooled (the backbone's global-average-pooled features; 256-d for face_resnet) or descriptor (face_resnet's 128-d face descriptor after its fc layer)."`
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

// Validate reports every invalid field, naming its YAML key. An input
// size of 0 (the packed image size, resolved by the caller) passes here;
// building a network needs the resolved size.
func (c ModelConfig) Validate() error {
	return errors.Join(append([]error{spec.Check("model", &c)}, c.validateBackbone()...)...)
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

// TrainConfig describes how to fit. It is the YAML section `train` (its
// field tags declare the keys, bounds and docs; Validate names those keys);
// start from DefaultTrainConfig and override.
type TrainConfig struct {
	Loss        Loss       `json:"loss" yaml:"loss" doc:"Loss on targets scaled by model.age_max, weighted per sample by the plan."`
	Adam        AdamConfig `json:"adam" yaml:",inline"`                                                                    // optimizer; Adam.LR is the rate of head_only and all_layers
	WeightDecay float64    `json:"weight_decay" yaml:"weight_decay" range:"[0,inf)" doc:"L2 factor on kernels (0: none)."` // loss += wd·Σw²
	// Strategy: head_only (backbone frozen), all_layers, or head_then_all
	// (HeadPhase then AllPhase, each with its own rate and epochs, like the
	// study's 1e-4 then 1e-5; the optimizer restarts between phases as
	// after a Keras recompile).
	Strategy        Strategy        `json:"strategy" yaml:"strategy" doc:"head_only freezes the backbone (and its batch norm); all_layers trains everything; head_then_all runs head_phase then all_phase."`
	Epochs          int             `json:"epochs" yaml:"epochs" range:"[1,100000]" doc:"Epochs of head_only and all_layers."`
	HeadPhase       PhaseConfig     `json:"head_phase" yaml:"head_phase" doc:"head_then_all: the head-only phase."`
	AllPhase        PhaseConfig     `json:"all_phase" yaml:"all_phase" doc:"head_then_all: the all-layers phase."`
	BatchSize       int             `json:"batch_size" yaml:"batch_size" range:"[1,65536]" doc:"Images per training step (and per validation batch during training; the evaluate stage uses evaluate.batch_size)."`
	ReduceOnPlateau PlateauConfig   `json:"reduce_on_plateau" yaml:"reduce_on_plateau" doc:"Reduce-on-plateau of the learning rate."`
	EarlyStopping   EarlyStopConfig `json:"early_stopping" yaml:"early_stopping" doc:"Early stopping (and the best checkpoint)."`
	Seed            uint64          `json:"seed" yaml:"-"`                                                                                           // shuffling and dropout (the run seed)
	Threads         Threads         `json:"threads" yaml:"threads" doc:"TensorFlow thread pools; thread counts can change the bits of the results."` // 0: TensorFlow's choice
	Precision       Precision       `json:"precision" yaml:"precision" doc:"Arithmetic of training (and its validation passes), through TensorFlow's mixed-precision graph rewrite: weights, optimizer, batch-norm statistics, the loss's batch mean and checkpoints stay float32 (the rewrite also runs the output unit and per-sample errors in the reduced type). fp32; bf16 (oneDNN bfloat16 on the CPU: native with avx512_bf16 or amx_bf16, emulated and slow otherwise); fp16 (float16 on a GPU, or a CPU with amx_fp16; no loss scaling); auto (fp16 with a GPU, else fp32: bf16 made M5's UTKFace test MAE significantly worse, so auto never picks it; logged with the reason; the resolved choice joins the fingerprint and model.json)."`
	Prefetch        int             `json:"prefetch" yaml:"prefetch" range:"[1,1024]" fingerprint:"-" doc:"Batches prepared (and augmented) ahead of the session."`
	Workers         int             `json:"workers" yaml:"workers" range:"[0,1024]" fingerprint:"-" doc:"Goroutines preparing batches (0: one per CPU)."`
	// CheckpointDir, when set, receives best/ (best epoch by
	// EarlyStopping.Monitor within the current phase) and last/ (end of
	// every epoch, with the training state Resume continues from).
	CheckpointDir string `json:"checkpoint_dir" yaml:"-"`
	Resume        bool   `json:"resume" yaml:"-"` // continue from CheckpointDir/last when it exists
	// BackboneLRScale multiplies the learning rate of backbone variables
	// when all layers train (a pretrained backbone wants a smaller rate
	// than a fresh head); FreezeStages keeps the first stages of the
	// backbone fixed even then (see stages.go for what a stage is).
	BackboneLRScale float64 `json:"backbone_lr_scale" yaml:"backbone_lr_scale" range:"(0,10]" doc:"Multiplier on the learning rate of backbone variables when all layers train (e.g. 0.1 to fine-tune a pretrained backbone gently); 1: the same rate as the head."`
	// WarmupEpochs ramps the rate of a phase that trains the backbone up
	// from nearly 0: switching from a converged head to all layers with a
	// fresh Adam at the full rate wrecked the pretrained fit in the first
	// all-layers epoch (docs/results.md).
	WarmupEpochs float64 `json:"warmup_epochs" yaml:"warmup_epochs" range:"[0,1000]" doc:"Linear learning-rate warmup at the start of every phase that trains the backbone (all_layers, the all-layers phase of head_then_all): step k of the phase trains at k/(warmup_epochs × steps per epoch) of its rate until that reaches 1; fractions of an epoch allowed; 0: none. Head-only phases never warm up."`
	FreezeStages int     `json:"freeze_stages" yaml:"freeze_stages" range:"[0,5]" doc:"When all layers train, keep the first N of the backbone's 5 stages frozen (stage 1 is the stem; stages 2-5 the residual stages, one per resolution); frozen weights and batch-norm statistics stay as they were."`
	// Cluster, when set, trains data-parallel on a TensorFlow cluster
	// (replicas.go); the layout's effect on the results reaches the stage
	// fingerprint through the train stage's input digest, not these keys.
	Cluster tfdist.Cluster `json:"cluster" yaml:"cluster" doc:"Synchronous data-parallel training on a TensorFlow cluster (README: Training on several machines); all keys empty: in this process."`
}

// Threads sizes TensorFlow's thread pools; 0 leaves the choice to
// TensorFlow (intra-op: all cores).
type Threads = regressor.Threads

// AdamConfig holds Adam's hyper-parameters.
type AdamConfig struct {
	LR      float64 `json:"lr" yaml:"lr" range:"[0,inf)" doc:"Adam learning rate of head_only and all_layers."`
	Beta1   float64 `json:"beta1" yaml:"beta1" range:"[0,1)" doc:"Adam β1."`
	Beta2   float64 `json:"beta2" yaml:"beta2" range:"[0,1)" doc:"Adam β2."`
	Epsilon float64 `json:"epsilon" yaml:"epsilon" range:"(0,inf)" doc:"Adam ε."`
}

// PhaseConfig is one phase of head_then_all.
type PhaseConfig struct {
	LR     float64 `json:"lr" yaml:"lr" range:"[0,inf)" doc:"Learning rate of the phase."`
	Epochs int     `json:"epochs" yaml:"epochs" range:"[0,100000]" doc:"Epochs of the phase."`
}

// PlateauConfig configures ReduceOnPlateau; Patience 0 disables it.
type PlateauConfig struct {
	Monitor  Monitor `json:"monitor" yaml:"monitor" doc:"Metric watched."`
	Factor   float64 `json:"factor" yaml:"factor" range:"(0,1)" doc:"Learning-rate factor on a plateau."`
	Patience int     `json:"patience" yaml:"patience" range:"[0,inf)" doc:"Epochs without improvement before reducing (0: off)."`
	MinLR    float64 `json:"min_lr" yaml:"min_lr" range:"[0,inf)" doc:"Floor of the learning rate."`
}

// EarlyStopConfig configures EarlyStopping; Patience 0 disables stopping
// (the best epoch is still tracked for best/ and RestoreBest).
type EarlyStopConfig struct {
	Monitor     Monitor `json:"monitor" yaml:"monitor" doc:"Metric watched (and for the best checkpoint)."`
	Patience    int     `json:"patience" yaml:"patience" range:"[0,inf)" doc:"Epochs without improvement before stopping (0: never stop early)."`
	RestoreBest bool    `json:"restore_best" yaml:"restore_best" doc:"End each phase with its best epoch's weights."`
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
		Precision:       regressor.PrecisionFP32,
		Cluster:         tfdist.Cluster{ConnectTimeout: tfdist.DefaultConnectTimeout, StepTimeout: tfdist.DefaultStepTimeout},
	}
}

// Validate reports every invalid field, naming its YAML key.
func (c TrainConfig) Validate() error {
	errs := []error{spec.Check("train", &c)}
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("train.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	// The rates and epochs that matter depend on the strategy.
	checkLR := func(key string, lr float64) {
		if !(lr > 0) {
			bad(key, "learning rate %v must be positive for strategy %s", lr, c.Strategy)
		}
	}
	switch c.Strategy {
	case "head_only", "all_layers":
		checkLR("lr", c.Adam.LR)
	case "head_then_all":
		checkLR("head_phase.lr", c.HeadPhase.LR)
		checkLR("all_phase.lr", c.AllPhase.LR)
		if c.HeadPhase.Epochs+c.AllPhase.Epochs < 1 {
			bad("head_phase.epochs", "%d and train.all_phase.epochs %d must give at least one epoch in all",
				c.HeadPhase.Epochs, c.AllPhase.Epochs)
		}
	}
	if c.Resume && c.CheckpointDir == "" {
		bad("resume", "needs train.checkpoint_dir")
	}
	if !(c.BackboneLRScale > 0 && c.BackboneLRScale <= 10) {
		bad("backbone_lr_scale", "%v is outside (0, 10]", c.BackboneLRScale)
	}
	if err := c.Cluster.Validate("train.cluster"); err != nil {
		errs = append(errs, err)
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
