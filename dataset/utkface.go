package dataset

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"

	"fairage/internal/spec"
)

// UTKFaceOptions says where a UTKFace folder keeps its images and labels.
type UTKFaceOptions struct {
	// Labels is "auto" (or empty: the metadata file when it exists, else
	// the file names), "metadata" or "filename".
	Labels UTKFaceLabels `yaml:"labels" doc:"Labels from metadata.csv or from UTKFace file names (age_gender_race_date.jpg); auto uses the metadata file when present."`
	// Metadata is the label file relative to the root (default
	// "metadata.csv") with columns file, age, gender, ethnicity and
	// optionally expression and near_dup_group.
	Metadata string `yaml:"metadata" doc:"Metadata file, relative to data.root."`
	// Images is the image folder relative to the root (default "images"
	// when that folder exists, else the root itself).
	Images string `yaml:"-"`
}

// UTKFaceLabels says where UTKFace labels come from.
type UTKFaceLabels string

// Values lists the label sources.
func (UTKFaceLabels) Values() []string { return []string{"auto", "metadata", "filename"} }

// DefaultUTKFaceOptions returns the defaults: labels from metadata.csv when
// present.
func DefaultUTKFaceOptions() UTKFaceOptions {
	return UTKFaceOptions{Labels: "auto", Metadata: "metadata.csv"}
}

func init() {
	RegisterAdapter(Adapter{Name: "utkface", Doc: "A folder of UTKFace crops with metadata.csv (file, age, gender, ethnicity[, expression][, near_dup_group]), or labels from UTKFace file names.",
		New: func() AdapterConfig { o := DefaultUTKFaceOptions(); return &o }})
}

// Validate checks the settings (data.utkface.*).
func (o *UTKFaceOptions) Validate() error { return spec.Check("data.utkface", o) }

// Open reads the folder data.root.
func (o *UTKFaceOptions) Open(_ context.Context, env OpenEnv) (Source, error) {
	if env.Root == "" {
		return nil, errors.New("data.root: the utkface adapter needs the dataset folder")
	}
	return OpenUTKFace(env.Root, *o)
}

// InputFiles lists every regular file under data.root.
func (o *UTKFaceOptions) InputFiles(ctx context.Context, env OpenEnv) ([]string, error) {
	return walkRegularFiles(ctx, env.Root)
}

// UTKFace label codes: gender 0 male, 1 female; race 0 white, 1 black,
// 2 asian, 3 indian, 4 others. Metadata files may use the codes or names.
var (
	utkGender    = map[string]string{"0": "male", "1": "female", "m": "male", "f": "female"}
	utkEthnicity = map[string]string{"0": "white", "1": "black", "2": "asian", "3": "indian", "4": "others"}
)

// metadataColumns names the metadata.csv columns in messages; the id is
// the file name.
var metadataColumns = &Columns{ID: "file", File: "file", Age: "age", RealAge: "real_age", Gender: AttrGender,
	Ethnicity: AttrEthnicity, Expression: AttrExpression, Split: "split", NearDupGroup: "near_dup_group"}

// fileNameColumns names the parts of a UTKFace file name in messages.
var fileNameColumns = &Columns{ID: "file name", File: "file name", Age: "file name (age)",
	Gender: "file name (gender)", Ethnicity: "file name (race)", Expression: "expression", Split: "split"}

// OpenUTKFace reads a folder of UTKFace crops. Labels come from a metadata
// CSV (the layout of the shared development set: images/ plus
// metadata.csv) or from UTKFace's file names,
// age_gender_race_date.jpg.chip.jpg. Sample ids are the cleaned paths
// relative to the image folder without the image extension ("sub/x.jpg"
// → "sub/x", "a.1.jpg" → "a.1").
func OpenUTKFace(root string, opts UTKFaceOptions) (Source, error) {
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("utkface: dataset folder %s: not found or not a folder", root)
	}
	if opts.Metadata == "" {
		opts.Metadata = "metadata.csv"
	}
	if opts.Images == "" {
		opts.Images = "."
		if st, err := os.Stat(filepath.Join(root, "images")); err == nil && st.IsDir() {
			opts.Images = "images"
		}
	}
	if !filepath.IsLocal(filepath.Clean(opts.Images)) && filepath.Clean(opts.Images) != "." {
		return nil, fmt.Errorf("utkface: images folder %q must lie inside the dataset folder", opts.Images)
	}
	_, metaErr := os.Stat(filepath.Join(root, opts.Metadata))
	mode := string(opts.Labels)
	if mode == "" || mode == "auto" {
		mode = "filename"
		if metaErr == nil {
			mode = "metadata"
		}
	}
	src := &listSource{name: "utkface", root: root, vocab: map[string][]string{
		AttrGender: GenderValues, AttrEthnicity: UTKFaceEthnicities}}
	var err error
	switch mode {
	case "metadata":
		src.records, err = utkMetadataRecords(root, opts)
	case "filename":
		src.records, err = utkFileNameRecords(root, opts.Images)
	default:
		err = fmt.Errorf("labels %q must be auto, metadata or filename", opts.Labels)
	}
	if err != nil {
		return nil, fmt.Errorf("utkface: %w", err)
	}
	return src, nil
}

func utkMetadataRecords(root string, opts UTKFaceOptions) ([]Record, error) {
	t, err := readCSVTable(filepath.Join(root, opts.Metadata), filepath.ToSlash(opts.Metadata), ',')
	if err != nil {
		return nil, err
	}
	var cols [4]int
	for i, name := range []string{"file", "age", AttrGender, AttrEthnicity} {
		if cols[i], err = t.mustCol(name); err != nil {
			return nil, err
		}
	}
	expr, ok := t.col(AttrExpression)
	if !ok {
		expr = -1
	}
	dup, ok := t.col("near_dup_group")
	if !ok {
		dup = -1
	}
	images := filepath.ToSlash(filepath.Clean(opts.Images))
	out := make([]Record, len(t.rows))
	for i := range t.rows {
		row := &t.rows[i]
		file := row.field(cols[0])
		r := Record{Source: t.name, Row: row.num, ID: idFromPath(file), RealAge: math.NaN(),
			Columns: metadataColumns, Problem: t.rowProblem(row)}
		if r.Problem == nil && file == "" {
			r.Problem = &Problem{ReasonMalformedRow, "column file: the file name is empty"}
		}
		if r.Problem == nil {
			r.File = joinListed(images, file)
			r.Age, r.Problem = parseAge(row.field(cols[1]), "age")
			r.Gender = mapValue(utkGender, row.field(cols[2]))
			r.Ethnicity = mapValue(utkEthnicity, row.field(cols[3]))
			r.Expression = mapValue(nil, row.field(expr))
			r.NearDupGroup = row.field(dup)
		}
		out[i] = r
	}
	return out, nil
}

func utkFileNameRecords(root, images string) ([]Record, error) {
	entries, err := os.ReadDir(filepath.Join(root, images))
	if err != nil {
		return nil, fmt.Errorf("images folder: %w", err)
	}
	source := filepath.ToSlash(filepath.Clean(images))
	var out []Record
	for _, e := range entries { // ReadDir sorts by name: a stable order
		name := e.Name()
		if e.IsDir() || !isImageName(name) {
			continue
		}
		file := path.Join(source, name)
		r := Record{Source: file, ID: utkFileNameID(name), File: file, RealAge: math.NaN(), Columns: fileNameColumns}
		parts := strings.Split(name, "_")
		if len(parts) < 4 {
			r.Problem = &Problem{ReasonUnparseableName, fmt.Sprintf("file name %q is not age_gender_race_date.jpg", name)}
		} else {
			r.Age, r.Problem = parseAge(parts[0], fileNameColumns.Age)
			r.Gender = mapValue(utkGender, parts[1])
			r.Ethnicity = mapValue(utkEthnicity, parts[2])
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("images folder %s has no .jpg, .jpeg or .png files", filepath.Join(root, images))
	}
	return out, nil
}

// utkFileNameID is the id of a file named in UTKFace's convention: the
// name without its ".jpg.chip.jpg" suffix (UTKFace's aligned crops), or
// else without its image extension.
func utkFileNameID(name string) string {
	const chip = ".jpg.chip.jpg"
	if len(name) > len(chip) && strings.EqualFold(name[len(name)-len(chip):], chip) {
		return name[:len(name)-len(chip)]
	}
	return idFromPath(name)
}

// joinListed puts a listed file name under a folder without cleaning it,
// so a path that tries to climb out is reported as written.
func joinListed(dir, file string) string {
	if dir == "." || dir == "" || path.IsAbs(file) {
		return file
	}
	return dir + "/" + file
}

func isImageName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}
