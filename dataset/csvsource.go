package dataset

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"fairage/internal/spec"
)

// CSVOptions describes a user's own metadata table and images.
type CSVOptions struct {
	// Path is the metadata file: .csv, .tsv or .parquet (by extension).
	Path string `yaml:"path" path:"config" doc:"Metadata table (.csv, .tsv or .parquet)."`
	// Root is the folder the file column is relative to and that every
	// image must stay inside (default: the folder of Path).
	Root string `yaml:"-"`
	// Columns maps fields to the table's column names; an unset field uses
	// the column of the same name (file, age, gender, ...) when present.
	// File and age are required.
	Columns ColumnMap `yaml:"columns"`
	// Values maps raw labels to fairage's, per attribute (gender,
	// ethnicity, expression, split), e.g. {"gender": {"0": "male", "1":
	// "female"}}. Matching ignores case; unmapped labels pass through
	// lower-cased.
	Values map[string]map[string]string `yaml:"values" doc:"Value mapping per attribute, e.g. {gender: {'0': male, '1': female}}; matching ignores case."`
	// Allowed lists the accepted values per attribute after mapping; an
	// attribute without an entry accepts any value.
	Allowed map[string][]string `yaml:"-"`
	// Comma is the field delimiter of text files (default ',' or '\t' for
	// .tsv).
	Comma rune `yaml:"-"`
}

// ColumnMap names the table columns holding each field. ID defaults to the
// file path without its extension when the table has no id column; an
// unset field uses the column of the same name.
type ColumnMap struct {
	ID           string `yaml:"id" doc:"Column with the sample id (default: the file path without extension)."`
	File         string `yaml:"file" doc:"Column with the image path, relative to data.root (required; default column: file)."`
	Age          string `yaml:"age" doc:"Column with the target age in years (required; default column: age)."`
	RealAge      string `yaml:"real_age" doc:"Column with the real age, when the target is an apparent age."`
	Gender       string `yaml:"gender" doc:"Column with gender."`
	Ethnicity    string `yaml:"ethnicity" doc:"Column with ethnicity."`
	Expression   string `yaml:"expression" doc:"Column with expression."`
	Split        string `yaml:"split" doc:"Column with the dataset's own split (train, valid, test)."`
	NearDupGroup string `yaml:"near_dup_group" doc:"Column tying near-duplicate images together."`
	Subject      string `yaml:"subject" doc:"Column identifying the person shown, for splits that keep a person's images together and the within-subject comparison (default column: subject, when present)."`
}

func init() {
	RegisterAdapter(Adapter{Name: "csv", Doc: "Any CSV/TSV/Parquet table with column and value mappings; images under data.root (default: the table's folder).",
		New: func() AdapterConfig { return &CSVOptions{} }})
}

// Validate checks the settings (data.csv.*).
func (o *CSVOptions) Validate() error {
	errs := []error{spec.Check("data.csv", o)}
	for _, attr := range slices.Sorted(maps.Keys(o.Values)) {
		switch attr {
		case AttrGender, AttrEthnicity, AttrExpression, "split":
		default:
			errs = append(errs, fmt.Errorf("data.csv.values.%s: %q is not gender, ethnicity, expression or split", attr, attr))
		}
	}
	return errors.Join(errs...)
}

// Open reads the table data.csv.path.
func (o *CSVOptions) Open(ctx context.Context, env OpenEnv) (Source, error) {
	if o.Path == "" {
		return nil, errors.New("data.csv.path: the csv adapter needs the metadata table")
	}
	opts := *o
	opts.Root, opts.Allowed = env.Root, env.Allowed
	return OpenCSV(ctx, opts)
}

// InputFiles lists the table and every regular file under the image root
// (data.root, default the table's folder).
func (o *CSVOptions) InputFiles(ctx context.Context, env OpenEnv) ([]string, error) {
	root := env.Root
	if root == "" && o.Path != "" {
		root = filepath.Dir(o.Path)
	}
	files, err := walkRegularFiles(ctx, root)
	if err != nil {
		return nil, err
	}
	if o.Path != "" && !slices.Contains(files, o.Path) {
		files = append(files, o.Path)
	}
	return files, nil
}

// OpenCSV reads a CSV, TSV or Parquet metadata table with a configurable
// column and value mapping.
func OpenCSV(ctx context.Context, opts CSVOptions) (Source, error) {
	if opts.Path == "" {
		return nil, fmt.Errorf("csv: no metadata file given")
	}
	if opts.Root == "" {
		opts.Root = filepath.Dir(opts.Path)
	}
	values, err := lowerValueMaps(opts.Values)
	if err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	for attr := range opts.Allowed {
		if attr != AttrGender && attr != AttrEthnicity && attr != AttrExpression {
			return nil, fmt.Errorf("csv: allowed values for %q: only gender, ethnicity and expression have a vocabulary", attr)
		}
	}
	name := filepath.Base(opts.Path)
	if rel, err := filepath.Rel(opts.Root, opts.Path); err == nil && filepath.IsLocal(rel) {
		name = filepath.ToSlash(rel)
	}
	t, err := readAnyTable(ctx, opts.Path, name, opts.Comma)
	if err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	m, cols, err := resolveColumns(t, opts.Columns)
	if err != nil {
		return nil, fmt.Errorf("csv: %w", err)
	}
	src := &listSource{name: "csv", root: opts.Root, vocab: opts.Allowed, records: make([]Record, len(t.rows))}
	for i := range t.rows {
		src.records[i] = csvRecord(t, &t.rows[i], m, cols, values)
	}
	return src, nil
}

// readAnyTable reads a .csv, .tsv or .parquet table by its extension;
// comma 0 means ',' (or tab for .tsv).
func readAnyTable(ctx context.Context, path, name string, comma rune) (*table, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".parquet", ".pq":
		return readParquetTable(ctx, path, name)
	case ".csv", ".tsv", ".txt":
		if comma == 0 {
			comma = ','
			if ext == ".tsv" {
				comma = '\t'
			}
		}
		return readCSVTable(path, name, comma)
	default:
		return nil, fmt.Errorf("metadata %s: extension %q is not .csv, .tsv or .parquet", name, ext)
	}
}

// columnPos holds the position of each mapped column, -1 when absent.
type columnPos struct {
	id, file, age, realAge, gender, ethnicity, expression, split, nearDup, subject int
}

func resolveColumns(t *table, cm ColumnMap) (columnPos, *Columns, error) {
	var m columnPos
	names := &Columns{}
	for _, c := range []struct {
		set, def string
		pos      *int
		name     *string
		required bool
	}{
		{cm.ID, "id", &m.id, &names.ID, false},
		{cm.File, "file", &m.file, &names.File, true},
		{cm.Age, "age", &m.age, &names.Age, true},
		{cm.RealAge, "real_age", &m.realAge, &names.RealAge, false},
		{cm.Gender, AttrGender, &m.gender, &names.Gender, false},
		{cm.Ethnicity, AttrEthnicity, &m.ethnicity, &names.Ethnicity, false},
		{cm.Expression, AttrExpression, &m.expression, &names.Expression, false},
		{cm.Split, "split", &m.split, &names.Split, false},
		{cm.NearDupGroup, "near_dup_group", &m.nearDup, &names.NearDupGroup, false},
		{cm.Subject, "subject", &m.subject, &names.Subject, false},
	} {
		*c.pos, *c.name = -1, c.def
		if c.set != "" || c.required {
			col := orDefault(c.set, c.def)
			i, err := t.mustCol(col)
			if err != nil {
				return m, nil, err
			}
			*c.pos, *c.name = i, col
		} else if i, ok := t.col(c.def); ok {
			*c.pos = i
		}
	}
	if m.id < 0 {
		names.ID = names.File + " (without extension)"
	}
	return m, names, nil
}

func orDefault(set, def string) string {
	if set != "" {
		return set
	}
	return def
}

func csvRecord(t *table, row *tableRow, m columnPos, cols *Columns, values map[string]map[string]string) Record {
	file := row.field(m.file)
	r := Record{Source: t.name, Row: row.num, File: file, ID: row.field(m.id), Columns: cols,
		RealAge: math.NaN(), Problem: t.rowProblem(row)}
	if r.ID == "" && m.id < 0 {
		r.ID = idFromPath(file)
	}
	if r.Problem != nil {
		return r
	}
	if file == "" {
		r.Problem = &Problem{ReasonMalformedRow, fmt.Sprintf("column %s: the file name is empty", cols.File)}
		return r
	}
	if r.Age, r.Problem = parseAge(row.field(m.age), cols.Age); r.Problem != nil {
		return r
	}
	if r.RealAge, r.Problem = parseOptionalAge(row.field(m.realAge), cols.RealAge); r.Problem != nil {
		return r
	}
	r.Gender = mapValue(values[AttrGender], row.field(m.gender))
	r.Ethnicity = mapValue(values[AttrEthnicity], row.field(m.ethnicity))
	r.Expression = mapValue(values[AttrExpression], row.field(m.expression))
	r.Split = mapValue(values["split"], row.field(m.split))
	r.NearDupGroup = row.field(m.nearDup)
	r.Subject = row.field(m.subject)
	return r
}

// lowerValueMaps checks the value maps' attributes and lower-cases their
// keys, since matching ignores case.
func lowerValueMaps(in map[string]map[string]string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for attr, m := range in {
		if attr != AttrGender && attr != AttrEthnicity && attr != AttrExpression && attr != "split" {
			return nil, fmt.Errorf("value map for %q: only gender, ethnicity, expression and split are mapped", attr)
		}
		lm := map[string]string{}
		for k, v := range m {
			lk := strings.ToLower(strings.TrimSpace(k))
			if prev, dup := lm[lk]; dup && prev != v {
				return nil, fmt.Errorf("value map for %s: %q maps to both %q and %q (matching ignores case)", attr, lk, prev, v)
			}
			lm[lk] = v
		}
		out[attr] = lm
	}
	return out, nil
}
