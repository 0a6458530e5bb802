package dataset

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"fairage/internal/spec"
)

// APPARealOptions selects what to read from an APPA-REAL release.
type APPARealOptions struct {
	// Target is the regression target: "apparent" (default: the mean of the
	// raters' apparent ages) or "real".
	Target APPARealTarget `yaml:"target" doc:"Regression target: the raters' mean apparent age or the real age."`
	// FullImages reads the uncropped images instead of the "_face.jpg"
	// face crops the study used.
	FullImages bool `yaml:"full_images" doc:"Use the uncropped images instead of the _face.jpg crops."`
	// Splits lists the splits to read. Empty: each of train, valid and test
	// whose gt_avg file exists (at least one must); listed splits must exist.
	Splits []string `yaml:"-"`
}

// APPARealTarget is the APPA-REAL regression target.
type APPARealTarget string

// Values lists the targets.
func (APPARealTarget) Values() []string { return []string{"apparent", "real"} }

func init() {
	RegisterAdapter(Adapter{Name: "appa-real", Doc: "The APPA-REAL release layout: gt_avg_{train,valid,test}.csv, allcategories_{train,valid,test}.csv and the train/ valid/ test/ folders; the dataset's splits are kept.",
		New: func() AdapterConfig { return &APPARealOptions{Target: "apparent"} }})
}

// Validate checks the settings (data.appa_real.*).
func (o *APPARealOptions) Validate() error { return spec.Check("data.appa_real", o) }

// Open reads the release folder data.root.
func (o *APPARealOptions) Open(_ context.Context, env OpenEnv) (Source, error) {
	if env.Root == "" {
		return nil, errors.New("data.root: the appa-real adapter needs the dataset folder")
	}
	return OpenAPPAReal(env.Root, *o)
}

// InputFiles lists every regular file under data.root.
func (o *APPARealOptions) InputFiles(ctx context.Context, env OpenEnv) ([]string, error) {
	return walkRegularFiles(ctx, env.Root)
}

// APPA-REAL label codes mapped to fairage's values; names already equal to
// ours pass through mapValue unchanged.
var (
	appaGender     = map[string]string{"m": "male", "f": "female"}
	appaEthnicity  = map[string]string{"afro-american": "afroamerican", "african american": "afroamerican", "white": "caucasian"}
	appaExpression = map[string]string{"slightly happy": "slightlyhappy", "slightly_happy": "slightlyhappy"}
)

// OpenAPPAReal reads the APPA-REAL release layout: gt_avg_{split}.csv
// (file_name, num_ratings, apparent_age_avg, apparent_age_std, real_age),
// allcategories_{split}.csv (file, gender, race, makeup, time, happiness)
// and the images in train/, valid/ and test/. Samples keep the dataset's
// split; ids are file names without extension ("000123"). Gender M/F
// becomes male/female, race stays asian/afroamerican/caucasian and
// happiness becomes expression (happy, slightlyhappy, neutral, other).
// Makeup and time are not carried. An image without a category row is
// ingested with unknown attributes; a category row without an age row is
// rejected as unmatched.
func OpenAPPAReal(root string, opts APPARealOptions) (Source, error) {
	if opts.Target == "" {
		opts.Target = "apparent"
	}
	if opts.Target != "apparent" && opts.Target != "real" {
		return nil, fmt.Errorf("appa-real: target %q must be apparent or real", opts.Target)
	}
	splits := opts.Splits
	if len(splits) == 0 {
		for _, s := range []string{SplitTrain, SplitValid, SplitTest} {
			if _, err := os.Stat(filepath.Join(root, "gt_avg_"+s+".csv")); err == nil {
				splits = append(splits, s)
			}
		}
		if len(splits) == 0 {
			return nil, fmt.Errorf("appa-real: %s has none of gt_avg_train.csv, gt_avg_valid.csv, gt_avg_test.csv; is it the APPA-REAL release folder?", root)
		}
	}
	src := &listSource{name: "appa-real", root: root, vocab: map[string][]string{
		AttrGender: GenderValues, AttrEthnicity: APPARealEthnicities, AttrExpression: APPARealExpressions}}
	for _, split := range splits {
		if split != SplitTrain && split != SplitValid && split != SplitTest {
			return nil, fmt.Errorf("appa-real: split %q must be train, valid or test", split)
		}
		recs, err := appaSplit(root, split, opts)
		if err != nil {
			return nil, fmt.Errorf("appa-real: %w", err)
		}
		src.records = append(src.records, recs...)
	}
	return src, nil
}

// appaCategories are one image's labels from allcategories_{split}.csv.
type appaCategories struct {
	gender, ethnicity, expression string
	used                          bool
}

func appaSplit(root, split string, opts APPARealOptions) ([]Record, error) {
	gt, err := readCSVTable(filepath.Join(root, "gt_avg_"+split+".csv"), "gt_avg_"+split+".csv", ',')
	if err != nil {
		return nil, err
	}
	var cFile, cApparent, cReal int
	for _, c := range []struct {
		name string
		pos  *int
	}{{"file_name", &cFile}, {"apparent_age_avg", &cApparent}, {"real_age", &cReal}} {
		if *c.pos, err = gt.mustCol(c.name); err != nil {
			return nil, err
		}
	}
	catName := "allcategories_" + split + ".csv"
	cats, catRecs, err := appaReadCategories(filepath.Join(root, catName), catName)
	if err != nil {
		return nil, err
	}
	cols := &Columns{ID: "file_name", File: "file_name", Age: "apparent_age_avg", RealAge: "real_age",
		Gender: "gender (" + catName + ")", Ethnicity: "race (" + catName + ")", Expression: "happiness (" + catName + ")", Split: "split"}
	if opts.Target == "real" {
		cols.Age = "real_age"
	}
	out := make([]Record, 0, len(gt.rows)+len(catRecs))
	for i := range gt.rows {
		row := &gt.rows[i]
		name := row.field(cFile)
		r := Record{Source: gt.name, Row: row.num, ID: stripExt(name), Split: split, Columns: cols,
			RealAge: math.NaN(), Problem: gt.rowProblem(row)}
		if r.Problem == nil && name == "" {
			r.Problem = &Problem{ReasonMalformedRow, "column file_name: the file name is empty"}
		}
		if r.Problem == nil {
			r.File = split + "/" + name
			if !opts.FullImages {
				r.File += "_face.jpg"
			}
			var apparent float64
			apparent, r.Problem = parseAge(row.field(cApparent), "apparent_age_avg")
			if r.Problem == nil {
				r.RealAge, r.Problem = parseAge(row.field(cReal), "real_age")
			}
			r.Age = apparent
			if opts.Target == "real" {
				r.Age = r.RealAge
			}
			if c, ok := cats[name]; ok {
				c.used = true
				r.Gender, r.Ethnicity, r.Expression = c.gender, c.ethnicity, c.expression
			}
		}
		out = append(out, r)
	}
	// Category rows no image row claimed are input rows too: reject them
	// rather than drop them.
	for _, cr := range catRecs {
		if cr.Problem == nil && !cats[cr.File].used {
			cr.Problem = &Problem{ReasonUnmatchedRow, fmt.Sprintf("column file: %q has no row in %s", cr.File, gt.name)}
		}
		if cr.Problem != nil {
			cr.File = ""
			out = append(out, cr)
		}
	}
	return out, nil
}

// appaReadCategories reads allcategories_{split}.csv (optional: absent
// means unknown attributes). It returns the labels by file name and one
// record per row, with a Problem for rows that cannot be used.
func appaReadCategories(path, name string) (map[string]*appaCategories, []Record, error) {
	t, err := readCSVTable(path, name, ',')
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]*appaCategories{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	cFile, err := t.mustCol("file")
	if err != nil {
		return nil, nil, err
	}
	pos := func(name string) int {
		if i, ok := t.col(name); ok {
			return i
		}
		return -1
	}
	cGender, cRace, cHappy := pos("gender"), pos("race"), pos("happiness")
	cats := map[string]*appaCategories{}
	first := map[string]int64{}
	recs := make([]Record, len(t.rows))
	for i := range t.rows {
		row := &t.rows[i]
		file := row.field(cFile)
		r := Record{Source: name, Row: row.num, ID: stripExt(file), File: file, RealAge: math.NaN(), Problem: t.rowProblem(row)}
		switch {
		case r.Problem != nil:
		case file == "":
			r.Problem = &Problem{ReasonMalformedRow, "column file: the file name is empty"}
		case first[file] > 0:
			r.Problem = &Problem{ReasonDuplicateID, fmt.Sprintf("column file: %q is already listed at row %d", file, first[file])}
		default:
			first[file] = row.num
			cats[file] = &appaCategories{
				gender:     mapValue(appaGender, row.field(cGender)),
				ethnicity:  mapValue(appaEthnicity, row.field(cRace)),
				expression: mapValue(appaExpression, row.field(cHappy)),
			}
		}
		recs[i] = r
	}
	return cats, recs, nil
}
