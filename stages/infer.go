package stages

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"fairage/attrinfer"
	"fairage/config"
	"fairage/dataset"
	"fairage/internal/progress"
	"fairage/internal/spec"
	"fairage/pipeline"
	"fairage/preprocess"
	"fairage/regressor"
	"fairage/tfjsmodel"
)

// stageInfer fills unknown attributes with a classifier's predictions,
// between ingest and split. It is in the graph only when enabled.
const stageInfer = "infer"

// InferConfig is the infer section: which attributes a classifier fills
// where the dataset leaves them unknown.
type InferConfig struct {
	Expression ExpressionInferConfig `yaml:"expression" doc:"Inferred expression (samples with a label keep it)."`
}

// ExpressionInferConfig is infer.expression: the classifier, its class
// mapping and threshold (package attrinfer), and the runtime settings.
type ExpressionInferConfig struct {
	Enabled bool `yaml:"enabled" doc:"Run the infer stage between ingest and split (false: no stage, the samples are ingest's)."`
	// Classifier names a tfjsmodel classifier preset.
	Classifier string `yaml:"classifier" doc:"Classifier preset (tfjsmodel): emotion (FER2013 mini-Xception, 7 classes angry, disgust, fear, happy, sad, surprise, neutral; trained on FER2013)."`
	// Config is the mapping and threshold.
	attrinfer.Config `yaml:",inline"`
	BatchSize        int               `yaml:"batch_size" range:"[1,4096]" doc:"Images per classifier run."`
	Threads          regressor.Threads `yaml:"threads" doc:"Thread pools of the classifier's TensorFlow session."`
}

// DefaultInferConfig is off, with the emotion classifier's happy and
// neutral kept and every other class mapped to other.
func DefaultInferConfig() InferConfig {
	return InferConfig{Expression: ExpressionInferConfig{
		Classifier: "emotion",
		Config:     attrinfer.Config{Mapping: map[string]string{"happy": "happy", "neutral": "neutral"}, Other: "other", Threshold: 0.5},
		BatchSize:  32,
	}}
}

// Note is how reports mark the attribute: "inferred by emotion,
// threshold 0.5".
func (e *ExpressionInferConfig) Note() string {
	return fmt.Sprintf("inferred by %s, threshold %g", e.Classifier, e.Threshold)
}

// Validate checks the section. The classifier and the mapping are checked
// only when enabled: a disabled section's defaults need not match a
// dataset. vocabulary is data.allowed.expression (empty: not known).
func (c *InferConfig) Validate(vocabulary []string) error {
	const prefix = "infer.expression"
	e := &c.Expression
	errs := []error{spec.Check(prefix, e)}
	if !e.Enabled {
		return errors.Join(errs...)
	}
	p, ok := tfjsmodel.Classifiers[e.Classifier]
	if !ok {
		errs = append(errs, fmt.Errorf("%s.classifier: %q is not a classifier preset (presets: %s)",
			prefix, e.Classifier, strings.Join(slices.Sorted(maps.Keys(tfjsmodel.Classifiers)), ", ")))
		return errors.Join(errs...)
	}
	// spec.Check above covered the threshold; Check repeats it under the
	// same key, so only its own findings are added.
	cfg := e.Config
	cfg.Threshold = math.Min(math.Max(cfg.Threshold, 0), 1)
	errs = append(errs, cfg.Check(prefix, p.Classes, vocabulary))
	return errors.Join(errs...)
}

// inferDef reads infer.expression and what ingest reads to open the
// dataset: the sample paths are relative to the source's image root
// (data.root, or e.g. the csv adapter's metadata folder), and the
// classifier sees the original files, not the pack.
var inferDef = stageDef{
	name: stageInfer,
	reads: func(c *Config) []any {
		reads := []any{&c.Infer.Expression, &c.Data.Adapter, &c.Data.Root, &c.Data.Ingest}
		if sel, err := c.Data.Selected(); err == nil {
			reads = append(reads, sel)
		}
		return reads
	},
	build: func(v *Config, d []config.Decl, _ graphInfo) pipeline.Stage {
		sel, _ := v.Data.Selected() // validated at load
		return inferStage{stageBase: stageBase{name: stageInfer, version: "1", decls: d, inputs: []string{stageIngest}},
			cfg: v.Infer.Expression, env: v.Data.Env(), source: sel}
	},
}

// inferStage fills unknown expressions with the classifier's.
type inferStage struct {
	stageBase
	cfg    ExpressionInferConfig
	env    dataset.OpenEnv
	source dataset.AdapterConfig
}

// inferFile is the infer stage's counts (inferReport).
const inferFile = "infer.json"

// inferredNote is the mark of an inferred attribute from the infer
// stage's counts: note ("inferred by emotion, threshold 0.5") when every
// known value was inferred, "partly …" with the counts when some were
// labelled, "" when none was inferred (the values are all labels).
func inferredNote(path, note string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	var rep inferReport
	if err := json.Unmarshal(b, &rep); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	n := 0
	for _, v := range rep.Inferred {
		n += v
	}
	switch {
	case n == 0:
		return "", nil
	case rep.Labelled > 0:
		return fmt.Sprintf("partly %s: %d of %d known values", note, n, n+rep.Labelled), nil
	}
	return note, nil
}

// inferReport is infer.json.
type inferReport struct {
	Attribute  string         `json:"attribute"`
	Classifier string         `json:"classifier"`
	Threshold  float64        `json:"threshold"`
	Samples    int            `json:"samples"`
	Labelled   int            `json:"labelled"`
	Classified int            `json:"classified"`
	Inferred   map[string]int `json:"inferred"`
	// Unknown counts the classified images left unknown: below the
	// threshold, or an output that was no probability distribution.
	Unknown        int `json:"unknown"`
	InvalidOutputs int `json:"invalid_outputs"`
	// By counts, per attribute (gender, ethnicity) and value, the
	// classified images' outcome: each inferred value, or "unknown", so
	// the labeller's own skew across groups is visible.
	By map[string]map[string]map[string]int `json:"by"`
}

// count adds one classified image's outcome to By.
func (r *inferReport) count(s *dataset.Sample, outcome string) {
	for _, attr := range []string{dataset.AttrGender, dataset.AttrEthnicity} {
		v := s.Attr(attr)
		if v == "" {
			v = "unknown"
		}
		if r.By[attr] == nil {
			r.By[attr] = map[string]map[string]int{}
		}
		if r.By[attr][v] == nil {
			r.By[attr][v] = map[string]int{}
		}
		r.By[attr][v][outcome]++
	}
}

func (s inferStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	samples, err := dataset.ReadSamples(inputPath(sc, stageIngest, samplesFile))
	if err != nil {
		return pipeline.Stats{}, err
	}
	root := s.env.Root
	if slices.ContainsFunc(samples, func(x dataset.Sample) bool { return x.Expression == "" }) {
		src, err := s.source.Open(ctx, s.env)
		if err != nil {
			return pipeline.Stats{}, fmt.Errorf("infer: %w", err)
		}
		root = src.Root()
	}
	rep, err := inferExpressions(ctx, samples, s.cfg, root, sc.Progress)
	if err != nil {
		return pipeline.Stats{}, err
	}
	fmt.Fprintf(sc.Log, "infer: %s\n", rep.summary())
	if err := dataset.WriteSamples(outPath(sc, samplesFile), samples); err != nil {
		return pipeline.Stats{}, err
	}
	if err := writeJSON(outPath(sc, inferFile), rep); err != nil {
		return pipeline.Stats{}, err
	}
	return pipeline.Stats{RowsIn: int64(len(samples)), RowsOut: int64(len(samples))}, nil
}

// summary is the stage's log line.
func (r *inferReport) summary() string {
	var per []string
	for _, k := range slices.Sorted(maps.Keys(r.Inferred)) {
		per = append(per, fmt.Sprintf("%s %d", k, r.Inferred[k]))
	}
	n := 0
	for _, v := range r.Inferred {
		n += v
	}
	s := fmt.Sprintf("%s: %d of %d samples labelled; %d classified by %s, %d inferred (%s), %d stay unknown below threshold %g",
		r.Attribute, r.Labelled, r.Samples, r.Classified, r.Classifier, n, strings.Join(per, ", "), r.Unknown-r.InvalidOutputs, r.Threshold)
	if r.InvalidOutputs > 0 {
		s += fmt.Sprintf(", %d unknown for outputs that were no probability distribution", r.InvalidOutputs)
	}
	return s
}

// inferChunk is how many images are decoded at once: bounds the memory
// of the decoded tensor on a large dataset.
const inferChunk = 512

// inferExpressions classifies the original image (root/Path) of every
// sample without an expression and sets its expression where the mapped
// confidence reaches the threshold; labelled samples are marked as such.
// samples is changed in place.
func inferExpressions(ctx context.Context, samples []dataset.Sample, cfg ExpressionInferConfig, root string,
	newTracker func(label, unit string, total int) progress.Tracker) (*inferReport, error) {
	rep := &inferReport{Attribute: dataset.AttrExpression, Classifier: cfg.Classifier, Threshold: cfg.Threshold,
		Samples: len(samples), Inferred: map[string]int{}, By: map[string]map[string]map[string]int{}}
	var todo []int
	for i := range samples {
		samples[i].ExpressionConfidence = math.NaN()
		if samples[i].Expression != "" {
			samples[i].ExpressionSource = dataset.ExpressionLabel
			rep.Labelled++
			continue
		}
		samples[i].ExpressionSource = ""
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return rep, nil
	}
	c, err := tfjsmodel.OpenClassifier(cfg.Classifier, tfjsmodel.Options{BatchSize: cfg.BatchSize,
		IntraOpThreads: cfg.Threads.IntraOp, InterOpThreads: cfg.Threads.InterOp})
	if err != nil {
		return nil, fmt.Errorf("infer.expression.classifier: %w", err)
	}
	defer c.Close()
	p := c.Preset()
	tr := progress.Discard
	if newTracker != nil {
		tr = newTracker("infer", "img", len(todo))
	}
	defer tr.Finish()
	for start := 0; start < len(todo); start += inferChunk {
		idx := todo[start:min(start+inferChunk, len(todo))]
		paths := make([]string, len(idx))
		for j, i := range idx {
			paths[j] = samplePath(root, samples[i].Path)
		}
		x, errs, err := preprocess.LoadFiles(ctx, p.Preprocess, paths, 0)
		if err != nil {
			return nil, fmt.Errorf("infer: %w", err)
		}
		for j, e := range errs {
			// Ingest read this file: failing now means the dataset
			// changed under the run; an image is never silently skipped.
			if e != nil {
				return nil, fmt.Errorf("infer: sample %s (%s): %w", samples[idx[j]].ID, paths[j], e)
			}
		}
		classes, err := c.Classify(ctx, x, nil)
		if err != nil {
			return nil, fmt.Errorf("infer: classifier %s: %w", cfg.Classifier, err)
		}
		if len(classes) != len(idx) {
			return nil, fmt.Errorf("infer: classifier %s gave %d rows for %d images", cfg.Classifier, len(classes), len(idx))
		}
		for j, cl := range classes {
			s := &samples[idx[j]]
			rep.Classified++
			if cl.Err != nil {
				rep.Unknown++
				rep.InvalidOutputs++
				rep.count(s, "unknown")
				continue
			}
			r, err := cfg.Infer(p.Classes, cl.Probs)
			if err != nil {
				return nil, fmt.Errorf("infer: sample %s: %w", s.ID, err)
			}
			s.ExpressionConfidence = r.Confidence
			if !r.Known {
				rep.Unknown++
				rep.count(s, "unknown")
				continue
			}
			s.Expression, s.ExpressionSource = r.Value, dataset.ExpressionInferred
			rep.Inferred[r.Value]++
			rep.count(s, r.Value)
		}
		tr.Add(len(idx))
	}
	return rep, nil
}

// samplePath is a sample's original file: its path is relative to the
// dataset root (absolute paths, inside the root, are kept).
func samplePath(root, p string) string {
	p = filepath.FromSlash(p)
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}
