package stages

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"fairage/dataset"
	"fairage/internal/atomicfile"
	"fairage/pipeline"
)

var (
	ingestDefaults = dataset.DefaultIngestOptions()
	synthDefaults  = dataset.DefaultSyntheticOptions()
)

var dataSection = pipeline.Section{
	Name: "data",
	Doc:  "Where the faces come from and how they are ingested (package dataset): the adapter, image size, accepted ages and values, and how many bad rows are tolerated. Relative paths are relative to the config file that sets them.",
	Fields: []pipeline.Field{
		{Key: "data.adapter", Kind: pipeline.KindString, Default: "synthetic", Enum: []string{"synthetic", "utkface", "appa-real", "csv"},
			Doc: "synthetic (built-in generator, a demonstration and test oracle), utkface (folder of crops with metadata.csv or UTKFace file names), appa-real (the APPA-REAL release layout), csv (any CSV/TSV/Parquet with column and value mappings)."},
		{Key: "data.root", Kind: pipeline.KindString, Default: "", Doc: "Dataset folder (utkface, appa-real; for csv the image root, default the metadata file's folder)."},
		{Key: "data.image_size", Kind: pipeline.KindInt, Default: ingestDefaults.Size, Min: pipeline.Num(16), Max: pipeline.Num(1024), Doc: "Side of the square images packed for training, in pixels."},
		{Key: "data.fit", Kind: pipeline.KindString, Default: string(ingestDefaults.Fit), Enum: []string{"crop", "pad"}, Doc: "How non-square images become square: central crop or pad."},
		{Key: "data.resample", Kind: pipeline.KindString, Default: string(ingestDefaults.Resample), Enum: []string{"bilinear", "catmullrom", "approxbilinear", "nearest"}, Doc: "Resizing kernel."},
		{Key: "data.age_min", Kind: pipeline.KindFloat, Default: ingestDefaults.MinAge, Min: pipeline.Num(0), Doc: "Rows with an age below are rejected (age_out_of_range)."},
		{Key: "data.age_max", Kind: pipeline.KindFloat, Default: ingestDefaults.MaxAge, Max: pipeline.Num(150), Doc: "Rows with an age above are rejected."},
		{Key: "data.age_edges", Kind: pipeline.KindFloats, Default: ingestDefaults.AgeGroups.Edges[1:], Doc: "Inner edges of the samples' age_group (used by balance and split): [20, 40, 60] gives 0-19, 20-39, 40-59, 60+."},
		{Key: "data.allowed", Kind: pipeline.KindMap, Optional: true, Doc: "Accepted values per attribute after mapping, e.g. {gender: [female, male]}; other values are rejected (unknown_value). Unset: the adapter's vocabulary."},
		{Key: "data.max_reject_fraction", Kind: pipeline.KindFloat, Default: ingestDefaults.MaxRejectFraction, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Above this fraction of rejected rows the ingest fails with a summary; below it, it warns with counts."},
		{Key: "data.workers", Kind: pipeline.KindInt, Default: 0, Min: pipeline.Num(0), Doc: "Decoding goroutines (0: one per CPU); the output does not depend on it."},
		{Key: "data.utkface.labels", Kind: pipeline.KindString, Default: "auto", Enum: []string{"auto", "metadata", "filename"}, Doc: "Labels from metadata.csv or from UTKFace file names (age_gender_race_date.jpg); auto uses the metadata file when present."},
		{Key: "data.utkface.metadata", Kind: pipeline.KindString, Default: "metadata.csv", Doc: "Metadata file, relative to data.root."},
		{Key: "data.appa_real.target", Kind: pipeline.KindString, Default: "apparent", Enum: []string{"apparent", "real"}, Doc: "Regression target: the raters' mean apparent age or the real age."},
		{Key: "data.appa_real.full_images", Kind: pipeline.KindBool, Default: false, Doc: "Use the uncropped images instead of the _face.jpg crops."},
		{Key: "data.csv.path", Kind: pipeline.KindString, Default: "", Doc: "Metadata table (.csv, .tsv or .parquet)."},
		{Key: "data.csv.columns", Kind: pipeline.KindMap, Optional: true, Doc: "Column names per field: {id, file, age, real_age, gender, ethnicity, expression, split, near_dup_group}; unset fields use the column of the same name. file and age are required."},
		{Key: "data.csv.values", Kind: pipeline.KindMap, Optional: true, Doc: "Value mapping per attribute, e.g. {gender: {'0': male, '1': female}}; matching ignores case."},
		{Key: "data.synthetic.count", Kind: pipeline.KindInt, Default: synthDefaults.Count, Min: pipeline.Num(10), Doc: "Number of synthetic faces."},
		{Key: "data.synthetic.seed", Kind: pipeline.KindInt, Default: int(synthDefaults.Seed), Min: pipeline.Num(0), Doc: "Seed of the synthetic dataset (separate from run.seed so models can vary while the data stays)."},
		{Key: "data.synthetic.age_range", Kind: pipeline.KindFloats, Default: []float64{synthDefaults.AgeMin, synthDefaults.AgeMax}, Doc: "[min, max] of the uniformly drawn ages."},
		{Key: "data.synthetic.proportions", Kind: pipeline.KindMap, Optional: true, Doc: "Group weights per attribute, e.g. {ethnicity: {group_a: 0.6, group_b: 0.25, group_c: 0.15}}; default: the generator's (documented in dataset.DefaultSyntheticOptions)."},
		{Key: "data.synthetic.cue_noise", Kind: pipeline.KindFloat, Default: synthDefaults.CueNoise, Min: pipeline.Num(0), Doc: "Years of noise between every face's label and the age its features show (irreducible error)."},
		{Key: "data.synthetic.group_cue_noise", Kind: pipeline.KindMap, Optional: true, Doc: "Extra noise in years per attribute and group: the part of the planted bias no model can remove, e.g. {ethnicity: {group_c: 2}} (the default)."},
		{Key: "data.synthetic.group_age_shift", Kind: pipeline.KindMap, Optional: true, Doc: "Years older (positive) or younger (negative) each group's faces look than their age: the part of the planted bias a model learns to undo only from the group's own examples, so balancing can shrink it, e.g. {ethnicity: {group_c: 15}} (the default); {ethnicity: {group_c: 0}} turns it off."},
	},
}

// ingestOptions maps the data section onto dataset.IngestOptions.
func ingestOptions(cfg *pipeline.Config) (dataset.IngestOptions, error) {
	o := dataset.DefaultIngestOptions()
	o.Size = cfg.Int("data.image_size")
	o.Fit = dataset.Fit(cfg.String("data.fit"))
	o.Resample = dataset.Resample(cfg.String("data.resample"))
	o.MinAge, o.MaxAge = cfg.Float("data.age_min"), cfg.Float("data.age_max")
	o.MaxRejectFraction = cfg.Float("data.max_reject_fraction")
	o.Workers = cfg.Int("data.workers")
	groups, err := dataset.NewAgeGroups(append([]float64{0}, cfg.Floats("data.age_edges")...), nil)
	if err != nil {
		return o, fmt.Errorf("data.age_edges: %w", err)
	}
	o.AgeGroups = groups
	if o.Allowed, err = stringLists(cfg.Map("data.allowed"), "data.allowed"); err != nil {
		return o, err
	}
	return o, nil
}

// openSource builds the configured dataset adapter.
func openSource(ctx context.Context, cfg *pipeline.Config) (dataset.Source, error) {
	root := cfg.Path("data.root")
	needRoot := func() error {
		if root == "" {
			return fmt.Errorf("data.root: the %s adapter needs the dataset folder", cfg.String("data.adapter"))
		}
		return nil
	}
	switch cfg.String("data.adapter") {
	case "utkface":
		if err := needRoot(); err != nil {
			return nil, err
		}
		return dataset.OpenUTKFace(root, dataset.UTKFaceOptions{Labels: cfg.String("data.utkface.labels"), Metadata: cfg.String("data.utkface.metadata")})
	case "appa-real":
		if err := needRoot(); err != nil {
			return nil, err
		}
		return dataset.OpenAPPAReal(root, dataset.APPARealOptions{Target: cfg.String("data.appa_real.target"), FullImages: cfg.Bool("data.appa_real.full_images")})
	case "csv":
		return openCSV(ctx, cfg, root)
	default:
		return synthetic(cfg)
	}
}

func openCSV(ctx context.Context, cfg *pipeline.Config, root string) (dataset.Source, error) {
	path := cfg.Path("data.csv.path")
	if path == "" {
		return nil, errors.New("data.csv.path: the csv adapter needs the metadata table")
	}
	cols, err := stringMap(cfg.Map("data.csv.columns"), "data.csv.columns")
	if err != nil {
		return nil, err
	}
	var cm dataset.ColumnMap
	for field, col := range cols {
		dst := map[string]*string{"id": &cm.ID, "file": &cm.File, "age": &cm.Age, "real_age": &cm.RealAge, "gender": &cm.Gender,
			"ethnicity": &cm.Ethnicity, "expression": &cm.Expression, "split": &cm.Split, "near_dup_group": &cm.NearDupGroup}[field]
		if dst == nil {
			return nil, fmt.Errorf("data.csv.columns.%s: unknown field (expected id, file, age, real_age, gender, ethnicity, expression, split, near_dup_group)", field)
		}
		*dst = col
	}
	values := map[string]map[string]string{}
	for attr, raw := range cfg.Map("data.csv.values") {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("data.csv.values.%s: expected a mapping of raw value to label", attr)
		}
		if values[attr], err = stringMap(m, "data.csv.values."+attr); err != nil {
			return nil, err
		}
	}
	allowed, err := stringLists(cfg.Map("data.allowed"), "data.allowed")
	if err != nil {
		return nil, err
	}
	return dataset.OpenCSV(ctx, dataset.CSVOptions{Path: path, Root: root, Columns: cm, Values: values, Allowed: allowed})
}

func synthetic(cfg *pipeline.Config) (dataset.Source, error) {
	o := dataset.DefaultSyntheticOptions()
	o.Count = cfg.Int("data.synthetic.count")
	o.Size = cfg.Int("data.image_size")
	o.Seed = uint64(cfg.Int("data.synthetic.seed"))
	ages := cfg.Floats("data.synthetic.age_range")
	if len(ages) != 2 {
		return nil, fmt.Errorf("data.synthetic.age_range: expected [min, max], got %d numbers", len(ages))
	}
	o.AgeMin, o.AgeMax = ages[0], ages[1]
	o.CueNoise = cfg.Float("data.synthetic.cue_noise")
	var err error
	if m := cfg.Map("data.synthetic.proportions"); m != nil {
		if o.Proportions, err = nestedFloats(m, "data.synthetic.proportions"); err != nil {
			return nil, err
		}
	}
	if m := cfg.Map("data.synthetic.group_cue_noise"); m != nil {
		if o.GroupCueNoise, err = nestedFloats(m, "data.synthetic.group_cue_noise"); err != nil {
			return nil, err
		}
	}
	if m := cfg.Map("data.synthetic.group_age_shift"); m != nil {
		if o.GroupAgeShift, err = nestedFloats(m, "data.synthetic.group_age_shift"); err != nil {
			return nil, err
		}
	}
	src, err := dataset.NewSynthetic(o)
	if err != nil {
		return nil, fmt.Errorf("data.synthetic: %w", err)
	}
	return src, nil
}

// ingestStage reads the dataset, validates every row, and packs the
// decoded, resized images.
type ingestStage struct{ stageBase }

func newIngestStage(cfg *pipeline.Config) ingestStage {
	return ingestStage{stageBase{name: stageIngest, version: "2", sections: ingestKeys(cfg.String("data.adapter"))}}
}

// ingestKeys are the config keys ingest's output depends on: the data
// section without the other adapters' settings, so that a config extending
// another (configs/utkface.yaml extends the synthetic pipeline.yaml) keeps
// its ingest when only another adapter's settings change, and without
// data.workers, since the output is byte-identical for any worker count.
func ingestKeys(adapter string) []string {
	others := map[string]bool{}
	for _, f := range dataSection.Fields {
		if f.Key == "data.adapter" {
			for _, a := range f.Enum {
				others["data."+strings.ReplaceAll(a, "-", "_")] = true
			}
		}
	}
	delete(others, "data."+strings.ReplaceAll(adapter, "-", "_"))
	var keys []string
	for _, f := range dataSection.Fields {
		parts := strings.SplitN(f.Key, ".", 3)
		key := parts[0] + "." + parts[1] // data.x, or data.<adapter> for its settings
		if others[key] || key == "data.workers" || slices.Contains(keys, key) {
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// ingestReport is ingest.json.
type ingestReport struct {
	Source   string                `json:"source"`
	Rows     int                   `json:"rows_in"`
	Samples  int                   `json:"samples"`
	Rejected int                   `json:"rejected"`
	ByReason []dataset.ReasonCount `json:"rejected_by_reason"`
}

// InputDigest fingerprints the dataset files: metadata by content, images
// by name, size and modification time.
func (s ingestStage) InputDigest(ctx context.Context, cfg *pipeline.Config) (string, error) {
	var paths []string
	switch cfg.String("data.adapter") {
	case "synthetic":
		return "", nil
	case "csv":
		paths = append(paths, cfg.Path("data.csv.path"))
	}
	if root := cfg.Path("data.root"); root != "" {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if !d.IsDir() {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("data.root: %w", err)
		}
	}
	return pipeline.FilesDigest(paths, 64<<20)
}

func (s ingestStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	opts, err := ingestOptions(sc.Config)
	if err != nil {
		return pipeline.Stats{}, err
	}
	src, err := openSource(ctx, sc.Config)
	if err != nil {
		return pipeline.Stats{}, err
	}
	tr := sc.Progress("ingest", "img", src.Len())
	samples, rejected, err := dataset.Ingest(ctx, src, opts, outPath(sc, imagesFile), tr)
	var tooMany *dataset.TooManyRejectionsError
	if errors.As(err, &tooMany) {
		// The stage output is discarded on failure, so the full list of
		// rejections goes beside the run for the user to inspect.
		list := filepath.Join(sc.RunDir, "ingest-rejected.csv")
		if werr := writeRejectionsCSV(list, rejected); werr == nil {
			err = fmt.Errorf("%w\nall %d rejections: %s", err, len(rejected), list)
		}
	}
	if err != nil {
		return pipeline.Stats{}, err
	}
	byReason := dataset.CountByReason(rejected)
	if len(rejected) > 0 {
		fmt.Fprintf(sc.Log, "ingest: warning: %d of %d rows rejected (%s); see %s in the ingest output\n",
			len(rejected), src.Len(), dataset.FormatReasonCounts(byReason), rejectedFile)
	}
	if err := dataset.WriteSamples(outPath(sc, samplesFile), samples); err != nil {
		return pipeline.Stats{}, err
	}
	if err := dataset.WriteRejections(outPath(sc, rejectedFile), rejected); err != nil {
		return pipeline.Stats{}, err
	}
	rep := ingestReport{Source: src.Name(), Rows: src.Len(), Samples: len(samples), Rejected: len(rejected), ByReason: byReason}
	if err := writeJSON(outPath(sc, "ingest.json"), rep); err != nil {
		return pipeline.Stats{}, err
	}
	return pipeline.Stats{RowsIn: int64(src.Len()), RowsOut: int64(len(samples)), Rejected: int64(len(rejected))}, nil
}

func writeRejectionsCSV(path string, rows []dataset.Rejection) error {
	return atomicfile.WriteBuffered(path, func(out io.Writer) error {
		w := csv.NewWriter(out)
		w.Write([]string{"source", "row", "id", "reason", "detail"})
		for _, r := range rows {
			w.Write([]string{r.Source, strconv.FormatInt(r.Row, 10), r.ID, r.Reason, r.Detail})
		}
		w.Flush()
		return w.Error()
	})
}
