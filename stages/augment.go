package stages

import (
	"context"
	"fmt"
	"io"

	"fairage/augment"
	"fairage/dataset"
	"fairage/internal/atomicfile"
	"fairage/pipeline"
)

var augmentDefaults = augment.DefaultOptions()

// jitterFields declares the p and range keys of one jitter operation.
func jitterFields(op string, j augment.Jitter, doc string) []pipeline.Field {
	return []pipeline.Field{
		{Key: "augment." + op + ".p", Kind: pipeline.KindFloat, Default: j.P, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Probability of " + op + " (0 turns it off)."},
		{Key: "augment." + op + ".range", Kind: pipeline.KindFloats, Default: []float64{j.Range.Min, j.Range.Max}, Doc: doc + " [min, max], drawn uniformly."},
	}
}

var augmentSection = func() pipeline.Section {
	r := augmentDefaults.Recipe
	fields := []pipeline.Field{
		{Key: "augment.mode", Kind: pipeline.KindString, Default: string(augmentDefaults.Mode), Enum: []string{"none", "offline", "online"},
			Doc: "offline writes the augmented training set once (copies of oversampled samples altered); online draws new parameters every epoch inside training; none trains on plain copies."},
		{Key: "augment.originals", Kind: pipeline.KindBool, Default: augmentDefaults.Originals, Doc: "Augment originals (copy 0) too; copies are always augmented."},
		{Key: "augment.workers", Kind: pipeline.KindInt, Default: 0, Min: pipeline.Num(0), Doc: "Offline worker goroutines (0: one per CPU)."},
		{Key: "augment.flip.p", Kind: pipeline.KindFloat, Default: r.Flip.P, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Probability of a horizontal flip."},
		{Key: "augment.rotate.p", Kind: pipeline.KindFloat, Default: r.Rotate.P, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Probability of a rotation."},
		{Key: "augment.rotate.degrees", Kind: pipeline.KindFloat, Default: r.Rotate.Degrees, Doc: "Rotation angle drawn from ±degrees (at most 180)."},
		{Key: "augment.crop.p", Kind: pipeline.KindFloat, Default: r.Crop.P, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Probability of a random resized crop."},
		{Key: "augment.crop.scale", Kind: pipeline.KindFloats, Default: []float64{r.Crop.Scale.Min, r.Crop.Scale.Max}, Doc: "Crop area as a fraction of the image, [min, max]."},
		{Key: "augment.crop.ratio", Kind: pipeline.KindFloats, Default: []float64{r.Crop.Ratio.Min, r.Crop.Ratio.Max}, Doc: "Crop width/height ratio, [min, max] (log-uniform)."},
		{Key: "augment.translate.p", Kind: pipeline.KindFloat, Default: r.Translate.P, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Probability of a translation."},
		{Key: "augment.translate.fraction", Kind: pipeline.KindFloat, Default: r.Translate.Fraction, Doc: "Largest shift as a fraction of width and height."},
		{Key: "augment.grayscale.p", Kind: pipeline.KindFloat, Default: r.Grayscale.P, Min: pipeline.Num(0), Max: pipeline.Num(1), Doc: "Probability of converting to grayscale."},
		{Key: "augment.contact_sheet.copies", Kind: pipeline.KindInt, Default: 4, Min: pipeline.Num(1), Max: pipeline.Num(16), Doc: "Augmented copies shown per group on the report's contact sheet."},
	}
	fields = append(fields, jitterFields("brightness", r.Brightness, "Additive brightness shift, fraction of full scale in [-1, 1],")...)
	fields = append(fields, jitterFields("contrast", r.Contrast, "Contrast change as a fraction in [-1, 1],")...)
	fields = append(fields, jitterFields("saturation", r.Saturation, "Saturation change as a fraction in [-1, 5],")...)
	fields = append(fields, jitterFields("hue", r.Hue, "Hue rotation in degrees,")...)
	fields = append(fields, jitterFields("gamma", r.Gamma, "Gamma (1 = no change),")...)
	fields = append(fields, jitterFields("blur", r.Blur, "Gaussian blur sigma in output pixels,")...)
	fields = append(fields, jitterFields("noise", r.Noise, "Gaussian noise standard deviation in levels (0-255),")...)
	fields = append(fields, jitterFields("jpeg", r.JPEG, "JPEG re-compression quality (1-100),")...)
	return pipeline.Section{
		Name:   "augment",
		Doc:    "Image augmentation of the training set (package augment, built on gift). Parameters of every image follow from the run seed, sample id, copy and epoch, so the same plan gives the same pixels.",
		Fields: fields,
	}
}()

// jitter reads one jitter operation, checking its range has two numbers.
func jitter(cfg *pipeline.Config, op string) (augment.Jitter, error) {
	r, err := rangeOf(cfg, "augment."+op+".range")
	if err != nil {
		return augment.Jitter{}, err
	}
	return augment.Jitter{P: cfg.Float("augment." + op + ".p"), Range: r}, nil
}

func rangeOf(cfg *pipeline.Config, key string) (augment.Range, error) {
	r := cfg.Floats(key)
	if len(r) != 2 {
		return augment.Range{}, fmt.Errorf("%s: expected [min, max], got %d numbers", key, len(r))
	}
	return augment.Range{Min: r[0], Max: r[1]}, nil
}

// augmentOptions maps the augment section onto augment.Options.
func augmentOptions(cfg *pipeline.Config) (augment.Options, error) {
	o := augment.DefaultOptions()
	o.Mode = augment.Mode(cfg.String("augment.mode"))
	o.Originals = cfg.Bool("augment.originals")
	o.Workers = cfg.Int("augment.workers")
	r := &o.Recipe
	r.Flip = augment.Toggle{P: cfg.Float("augment.flip.p")}
	r.Grayscale = augment.Toggle{P: cfg.Float("augment.grayscale.p")}
	r.Rotate = augment.Rotate{P: cfg.Float("augment.rotate.p"), Degrees: cfg.Float("augment.rotate.degrees")}
	r.Translate = augment.Translate{P: cfg.Float("augment.translate.p"), Fraction: cfg.Float("augment.translate.fraction")}
	var err error
	r.Crop.P = cfg.Float("augment.crop.p")
	if r.Crop.Scale, err = rangeOf(cfg, "augment.crop.scale"); err != nil {
		return o, err
	}
	if r.Crop.Ratio, err = rangeOf(cfg, "augment.crop.ratio"); err != nil {
		return o, err
	}
	for op, dst := range map[string]*augment.Jitter{"brightness": &r.Brightness, "contrast": &r.Contrast, "saturation": &r.Saturation,
		"hue": &r.Hue, "gamma": &r.Gamma, "blur": &r.Blur, "noise": &r.Noise, "jpeg": &r.JPEG} {
		if *dst, err = jitter(cfg, op); err != nil {
			return o, err
		}
	}
	return o, o.Validate()
}

// augmentStage materialises the training images (offline mode) and draws
// the contact sheet the report shows.
type augmentStage struct{ stageBase }

func newAugmentStage() augmentStage {
	return augmentStage{stageBase{name: stageAugment, version: "1",
		sections: []string{"augment", "balance.by", "run.seed"}, inputs: []string{stageIngest, stageSplit, stageBalance}}}
}

// augmentReport is augment.json.
type augmentReport struct {
	Mode      string `json:"mode"`
	Images    int    `json:"images_written"`
	Augmented int    `json:"augmented"`
}

func (s augmentStage) Run(ctx context.Context, sc *pipeline.StageContext) (pipeline.Stats, error) {
	opts, err := augmentOptions(sc.Config)
	if err != nil {
		return pipeline.Stats{}, err
	}
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
	rows := augment.SheetRows(samples, plan, sc.Config.Strings("balance.by"), sc.Config.Int("augment.contact_sheet.copies"))
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
