package stages

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fairage/analysis"
	"fairage/audit"
	"fairage/augment"
	"fairage/balance"
	"fairage/config"
	"fairage/dataset"
	"fairage/internal/spec"
	"fairage/pipeline"
	"fairage/regressor"
	"fairage/reports"
	"fairage/tfmodel"
)

// EnvPrefix prefixes environment overrides: FAIRAGE_TRAIN_EPOCHS=3 sets
// train.epochs.
const EnvPrefix = "FAIRAGE"

// OtherEnv lists FAIRAGE_* variables that are not settings, read by the
// set-up scripts and tests; any other FAIRAGE_* variable must name a
// setting.
var OtherEnv = []string{
	"FAIRAGE_CACHE",           // download cache of the set-up scripts
	"FAIRAGE_SHARED",          // the shared datasets folder of the tests
	"FAIRAGE_MODELS_DIR",      // pretrained weights a user already has
	"FAIRAGE_ONNXRUNTIME_LIB", // an ONNX Runtime library a user already has
}

// Config is a whole pipeline config: one section per component, each
// declared (keys, defaults, docs, bounds) by the package that owns it.
type Config struct {
	Run      RunConfig            `yaml:"run" doc:"The run as a whole: its name (the folder under runs/) and the seed every stage derives its randomness from."`
	Data     dataset.DataConfig   `yaml:"data" doc:"Where the faces come from and how they are ingested (package dataset): the adapter, image size, accepted ages and values, and how many bad rows are tolerated. Relative paths are relative to the config file that sets them."`
	Infer    InferConfig          `yaml:"infer" doc:"Inferred attributes (the infer stage, between ingest and split; off by default): a classifier preset fills an attribute where the dataset has no label, recorded as inferred with its confidence, and reports mark the attribute as inferred."`
	Split    dataset.SplitOptions `yaml:"split" doc:"Train/valid/test assignment (package dataset): the dataset's own splits where it has them, otherwise stratified by attributes and age group, with near-duplicate groups kept on one side."`
	Balance  balance.Options      `yaml:"balance" doc:"Rebalancing of the training split (package balance): which attributes define groups, and whether small groups are oversampled, large ones undersampled, or losses reweighted. Only the training split is touched."`
	Augment  AugmentConfig        `yaml:"augment" doc:"Image augmentation of the training set (package augment, built on gift). Parameters of every image follow from the run seed, sample id, copy and epoch, so the same plan gives the same pixels."`
	Model    ModelConfig          `yaml:"model" doc:"The model that is trained or audited (package regressor and its kinds): kind resnet is the native ResNet regressor built in TensorFlow from Go (backbone, dense head with dropout, output sigmoid × age_max, as in the original study); other kinds load a model made elsewhere."`
	Train    tfmodel.TrainConfig  `yaml:"train" doc:"Training of a trainable model kind (package tfmodel): loss, Adam, strategy (head only, all layers, or head then all), reduce-on-plateau, early stopping, threads."`
	Evaluate EvaluateConfig       `yaml:"evaluate" doc:"Prediction over the evaluated splits, producing the predictions table the analysis audits."`
	Analysis analysis.Options     `yaml:"analysis" doc:"The bias audit (package analysis): per-group error metrics, the study's bias scores (mean pairwise |ΔMAE|) with max−min gaps and min/max ratios, bootstrap intervals, permutation tests with Holm correction, and gates that fail the run."`
	Report   ReportConfig         `yaml:"report" doc:"The run's report (package reports): report.md and a self-contained report.html with the summary, the study's results table, per-group tables with intervals, charts and run metadata."`
	Audit    audit.Options        `yaml:"audit" doc:"An audit of a predictions table without images (package audit; pipeline audit FILE sets it): which columns hold the true and predicted ages, ids, subjects and splits; any other column may be an attribute in analysis.attributes."`
}

// RunConfig is the run section.
type RunConfig struct {
	Name string `yaml:"name" doc:"Run folder name under the runs folder (runs/<name>); names starting with a dot are reserved."`
	Seed int    `yaml:"seed" range:"[0,inf)" doc:"Seed for every random choice; the same seed and config give the same outputs."`
}

// ModelConfig is the model section: the kind, where an existing model
// comes from, the native kind's own settings, and each other kind's
// sub-section.
type ModelConfig struct {
	Kind regressor.KindName `yaml:"kind" doc:"Which model: resnet (trained here unless model.from is set) or another registered kind (see its sub-section)."`
	From string             `yaml:"from" path:"config" doc:"Where an existing model comes from: for resnet a trained run folder (runs/<name>) or model folder, audited without training (empty: train here); for savedmodel the SavedModel folder; for onnx a .onnx file; for predictions the predictions file (.csv, .tsv, .parquet)."`
	// Preset names a packaged model; it sets the kind, and its files the
	// preprocessing and decoding.
	Preset regressor.PresetName `yaml:"preset" doc:"A packaged off-the-shelf model (e.g. dlib-age), installed by make setup: it sets model.kind, and its own files give the input size, preprocessing and output decoding; model.from stays empty."`
	// ResNet holds the native kind's settings.
	ResNet tfmodel.ModelConfig `yaml:",inline"`
	// Kinds holds every other kind's sub-section.
	Kinds regressor.KindSettings `yaml:",inline"`
}

// EvaluateConfig is the evaluate section.
type EvaluateConfig struct {
	Splits    []string            `yaml:"splits" doc:"Splits to predict (train, valid, test)."`
	BatchSize int                 `yaml:"batch_size" range:"[1,65536]" doc:"Images per prediction step."`
	Threads   regressor.Threads   `yaml:"threads" doc:"Thread pools of the model's runtime while predicting; thread counts can change the last bits of the results."`
	Precision regressor.Precision `yaml:"precision" doc:"Arithmetic of prediction, as train.precision (fp32, bf16, fp16, auto), independent of the precision the model was trained in (checkpoints are float32). Only kinds that support it (resnet); others run as their model was exported, and reject bf16 and fp16."`
}

// AugmentConfig is the augment section: the augmentation itself and the
// contact sheet the augment stage draws for the report.
type AugmentConfig struct {
	augment.Options `yaml:",inline"`
	ContactSheet    ContactSheetConfig `yaml:"contact_sheet" doc:"The contact sheet of augmented copies the report shows."`
}

// ContactSheetConfig sizes the contact sheet.
type ContactSheetConfig struct {
	Copies int `yaml:"copies" range:"[1,16]" doc:"Augmented copies shown per group."`
}

// Validate checks the augmentation and the sheet.
func (a *AugmentConfig) Validate() error {
	return errors.Join(a.Options.Validate(), spec.Check("augment.contact_sheet", &a.ContactSheet))
}

// ReportConfig is the report section.
type ReportConfig struct {
	reports.Options `yaml:",inline"`
	ModelName       string `yaml:"model_name" doc:"Model name in the study's results table (empty: the run name)."`
}

// DefaultConfig returns every section's defaults.
func DefaultConfig() *Config {
	model := tfmodel.DefaultModelConfig()
	model.InputSize = 0 // data.image_size
	return &Config{
		Run:      RunConfig{Name: "default", Seed: 42},
		Data:     dataset.DefaultDataConfig(),
		Infer:    DefaultInferConfig(),
		Split:    dataset.DefaultSplitOptions(),
		Balance:  balance.DefaultOptions(),
		Augment:  AugmentConfig{Options: augment.DefaultOptions(), ContactSheet: ContactSheetConfig{Copies: 4}},
		Model:    ModelConfig{Kind: "resnet", ResNet: model, Kinds: regressor.DefaultKindSettings()},
		Train:    tfmodel.DefaultTrainConfig(),
		Evaluate: EvaluateConfig{Splits: []string{dataset.SplitValid, dataset.SplitTest}, BatchSize: 64, Precision: regressor.PrecisionFP32},
		Analysis: analysis.DefaultOptions(),
		Report:   ReportConfig{Options: reports.DefaultOptions()},
		Audit:    audit.DefaultOptions(),
	}
}

// LoadOptions are a config's overrides.
type LoadOptions struct {
	Sets  []string      // --set key=value
	Env   []string      // os.Environ(), or nil for none
	Flags []config.Flag // a command's flags that set keys (pipeline audit --y-true)
}

// Loaded is a config with where it came from.
type Loaded struct {
	*Config
	Source *config.Source
}

// Load reads and validates a config file: every problem, each naming where
// it was set, as a *config.Error. An empty path starts from the defaults.
func Load(path string, opts LoadOptions) (*Loaded, error) {
	cfg := DefaultConfig()
	src, err := config.Load(path, cfg, config.Options{Sets: opts.Sets, Env: opts.Env, Flags: opts.Flags, EnvPrefix: EnvPrefix, OtherEnv: OtherEnv})
	if err != nil {
		return nil, err
	}
	return &Loaded{Config: cfg, Source: src}, nil
}

// Reference is the config reference (docs/config.md).
func Reference() string { return config.Reference(DefaultConfig(), EnvPrefix) }

// YAML renders the resolved config.
func (c *Config) YAML() string { return config.YAML(c) }

// Validate checks every section and the rules between sections; the
// config loader runs it before any stage does.
func (c *Config) Validate() error {
	if err := c.resolveModel(); err != nil {
		return err
	}
	// An audit's table must be checked first: its columns are the
	// attributes the analysis section may name.
	var auditErrs []error
	if err := c.Audit.Validate(); err != nil {
		auditErrs = append(auditErrs, err)
	} else {
		auditErrs = c.checkAudit()
	}
	errs := []error{
		spec.Check("run", &c.Run),
		c.Data.Validate(),
		c.Infer.Validate(c.Data.Ingest.Allowed[dataset.AttrExpression]),
		c.Split.Validate(),
		c.Balance.Validate(),
		c.Augment.Validate(),
		c.Model.validate(c.Data.Ingest.Size),
		c.Train.Validate(),
		spec.Check("evaluate", &c.Evaluate),
		c.Analysis.Validate(),
		c.Report.Validate(),
	}
	errs = append(errs, auditErrs...)
	if c.trains() && c.Train.Cluster.File != "" {
		// The cluster file's layout is part of the config: a bad address
		// there is a config error, found before any stage runs.
		if _, err := c.Train.Cluster.Resolve("train.cluster"); err != nil {
			errs = append(errs, err)
		}
	}
	if err := pipeline.CheckRunName(c.Run.Name); err != nil {
		errs = append(errs, err)
	}
	for i, s := range c.Evaluate.Splits {
		if s != dataset.SplitTrain && s != dataset.SplitValid && s != dataset.SplitTest {
			errs = append(errs, fmt.Errorf("evaluate.splits: item %d, %q is not one of train, valid, test", i+1, s))
		}
	}
	if len(c.Evaluate.Splits) == 0 {
		errs = append(errs, errors.New("evaluate.splits: list at least one split"))
	}
	if split := string(c.Analysis.Split); !c.Audit.Enabled() && split != string(analysis.SplitAll) && split != "" && !slices.Contains(c.Evaluate.Splits, split) {
		errs = append(errs, fmt.Errorf("analysis.split: %s is not among evaluate.splits %v, so it would have no predictions", split, c.Evaluate.Splits))
	}
	// A precision this machine cannot run fails here, before any stage
	// (fp16 without a GPU): the same resolution the model will do. Only
	// where it is used: training when the run trains, prediction for a
	// kind that has mixed precision.
	k, kerr := regressor.Lookup(string(c.Model.Kind))
	for _, s := range []struct {
		key  string
		p    regressor.Precision
		used bool
	}{{"train.precision", c.Train.Precision, c.trains()}, {"evaluate.precision", c.Evaluate.Precision, kerr == nil && k.Precision}} {
		if s.used && s.p.Reduced() && slices.Contains(s.p.Values(), string(s.p)) {
			if _, err := tfmodel.ResolvePrecision(s.key, s.p, tfmodel.DetectHardware()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if p := c.Evaluate.Precision; p == regressor.PrecisionBF16 || p == regressor.PrecisionFP16 {
		if k, err := regressor.Lookup(string(c.Model.Kind)); err == nil && !k.Precision {
			errs = append(errs, fmt.Errorf("evaluate.precision: %s, but kind %s runs as its model was exported; only kinds with mixed precision (resnet) take bf16 or fp16 (set fp32 or auto)", p, k.Name))
		}
	}
	if n := c.Model.ResNet.InputSize; n != 0 && n != c.Data.Ingest.Size {
		errs = append(errs, fmt.Errorf("model.input_size: %d differs from data.image_size %d; the model reads the packed images (set data.image_size: %d, or model.input_size: 0)", n, c.Data.Ingest.Size, n))
	}
	return errors.Join(errs...)
}

// resolveModel applies a preset (it decides the kind) and packs the images
// at a foreign model's own input size: a model sees images resized from
// the originals to its size, never rescaled from another pack.
func (c *Config) resolveModel() error {
	m := &c.Model
	if m.Preset != "" {
		p, err := regressor.LookupPreset(string(m.Preset))
		if err != nil {
			return err
		}
		if m.From != "" {
			return fmt.Errorf("model.from: %s, but model.preset %s brings its own files; give one or the other", m.From, m.Preset)
		}
		m.Kind = regressor.KindName(p.Kind)
	}
	if m.Kind == "resnet" {
		return nil
	}
	if fromSized, ok := m.Kinds[string(m.Kind)].(regressor.SourceSized); ok && m.From != "" && m.Preset == "" {
		n, err := fromSized.InputSizeFrom(m.From)
		if err != nil {
			return err
		}
		c.Data.Ingest.Size = n
		return nil
	}
	sized, ok := m.Kinds[string(m.Kind)].(regressor.InputSized)
	if !ok {
		return nil
	}
	n, err := sized.InputSize(string(m.Preset))
	if err != nil {
		return err
	}
	c.Data.Ingest.Size = n
	return nil
}

// validate checks the model section: its kind, and the kind's settings.
func (m *ModelConfig) validate(packed int) error {
	k, err := regressor.Lookup(string(m.Kind))
	if err != nil {
		return err
	}
	// Kind was checked by Lookup; the native kind's fields (inline here)
	// and the chosen kind's sub-section check themselves (other kinds'
	// defaults need not describe a model).
	errs := []error{}
	if k.Name == "resnet" {
		resolved := m.ResNet
		err := resolved.Validate()
		if resolved.InputSize == 0 {
			resolved.InputSize = packed
			// The size is data.image_size's: say so where it is wrong.
			err = renameKey(resolved.Validate(), "model.input_size:", "data.image_size:", " (the network reads data.image_size, since model.input_size is 0)")
		}
		errs = append(errs, err)
	}
	if s, ok := m.Kinds[k.Name]; ok {
		errs = append(errs, s.Validate())
	}
	if !k.Trainable && m.From == "" && m.Preset == "" {
		errs = append(errs, fmt.Errorf("model.from: kind %s trains nothing here; give the model (or predictions file) to audit", k.Name))
	}
	if m.From != "" {
		if _, err := os.Stat(m.From); err != nil {
			errs = append(errs, fmt.Errorf("model.from: %s: %w", m.From, errors.Unwrap(err)))
		}
	}
	return errors.Join(errs...)
}

// trains reports whether the config trains a model here.
func (c *Config) trains() bool {
	if c.Audit.Enabled() {
		return false
	}
	k, err := regressor.Lookup(string(c.Model.Kind))
	return err == nil && k.Trainable && c.Model.From == ""
}

// kind returns the configured model kind (validated at load).
func (c *Config) kind() regressor.Kind {
	k, err := regressor.Lookup(string(c.Model.Kind))
	if err != nil {
		panic(err) // Validate rejects an unknown kind
	}
	return k
}

// kindSettings returns the configured kind's settings: its sub-section,
// or the native kind's own fields.
func (c *Config) kindSettings() regressor.Settings {
	if s, ok := c.Model.Kinds[string(c.Model.Kind)]; ok {
		return s
	}
	return &c.Model.ResNet
}

// modelDirOf accepts a run folder (runs/<name>) or a model folder for the
// resnet kind.
func modelDirOf(p string) (string, error) {
	for _, dir := range []string{filepath.Join(p, stageTrain, modelDir), p} {
		if _, err := os.Stat(filepath.Join(dir, "model.json")); err == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("model.from: %s holds no trained model (expected a run folder with train/%s/model.json, or a model folder)", p, modelDir)
}

// RunOptions are the run options a loaded config implies: its run name,
// and what the manifest records of it (resolved config, files, seed,
// versions). Callers add the runs folder, log and selection.
func (l *Loaded) RunOptions() pipeline.RunOptions {
	return pipeline.RunOptions{Name: l.Run.Name, Config: config.Nested(l.Config), ConfigFile: l.Source.File,
		ConfigChain: l.Source.Chain, Seed: l.Run.Seed, Versions: Versions()}
}

// renameKey rewrites the key an error message starts with.
func renameKey(err error, from, to, note string) error {
	var out []error
	for _, e := range config.Flatten(err) {
		if msg := e.Error(); strings.HasPrefix(msg, from) {
			e = errors.New(to + strings.TrimPrefix(msg, from) + note)
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// ModelDir returns the model folder of a trained run folder (runs/<name>)
// or of a model folder given directly, for commands that read a trained
// model (pipeline export).
func ModelDir(p string) (string, error) { return modelDirOf(p) }
