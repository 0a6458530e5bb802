package dataset

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"fairage/internal/arrowtab"
)

// AgeGroupLabels names the age groups of inner edges e1 < e2 < … the way
// samples label them (data.age_edges), so samples, metrics and reports
// share one vocabulary: [20, 40, 60] gives 0-19, 20-39, 40-59, 60+ (for
// integer edges "a-b" is [a, b+1)). The edges must be valid (checked by
// the config); the first group starts at 0.
func AgeGroupLabels(inner []float64) []string {
	edges := append([]float64{0}, inner...)
	out := make([]string, len(edges))
	for i := range edges {
		out[i] = edgeLabel(edges, i)
	}
	return out
}

// AttrColumn is one of an audited table's own attribute columns (skin
// tone, camera, dataset…), beyond the predictions table's standard ones.
type AttrColumn struct {
	// Name is the column's name in the audited file.
	Name string
	// Levels are the column's groups in order when they are known in
	// advance (the bins of a numeric column); nil: the values found.
	Levels []string
}

// PredictionTable is a predictions table with its attribute columns
// beyond the standard ones: row i's value of Extra[k] is Rows[i].Extra[k].
// The evaluate stage's tables have no extra columns.
type PredictionTable struct {
	Rows  []Prediction
	Extra []AttrColumn
}

// ExtraNames lists the extra columns' names.
func (t *PredictionTable) ExtraNames() []string {
	out := make([]string, len(t.Extra))
	for i, c := range t.Extra {
		out[i] = c.Name
	}
	return out
}

// Column returns the extra column called name.
func (t *PredictionTable) Column(name string) (AttrColumn, bool) {
	for _, c := range t.Extra {
		if c.Name == name {
			return c, true
		}
	}
	return AttrColumn{}, false
}

// Accessor returns the function reading attribute name of a row: an extra
// column of t when t has one of that name, else a standard attribute
// (Prediction.Attr); ok is false for a name that is neither.
func Accessor(extra []string, name string) (get func(*Prediction) string, ok bool) {
	if k := slices.Index(extra, name); k >= 0 {
		return func(p *Prediction) string {
			if k < len(p.Extra) {
				return p.Extra[k]
			}
			return ""
		}, true
	}
	if IsAttribute(name) {
		return func(p *Prediction) string { return p.Attr(name) }, true
	}
	return nil, false
}

// extraColumnMeta marks an extra column in the Arrow schema, so a reader
// tells it from a standard one.
const extraColumnMeta = "fairage.extra_attribute"

// levelsMeta counts an extra column's levels: the dictionary's leading
// entries (values outside the levels follow them).
const levelsMeta = "fairage.levels"

// PredictionTableRecord builds the predictions record of t: the standard
// columns, then one dictionary column per extra attribute (ordered, with
// its levels as the dictionary, when it has levels). The caller releases it.
func PredictionTableRecord(t *PredictionTable) arrow.Record {
	base := PredictionsToRecord(t.Rows)
	if len(t.Extra) == 0 {
		return base
	}
	defer base.Release()
	fields := slices.Clone(base.Schema().Fields())
	cols := slices.Clone(base.Columns())
	var extra []arrow.Array
	for k, c := range t.Extra {
		arr := DictColumn(len(t.Rows), func(i int) string {
			if k < len(t.Rows[i].Extra) {
				return t.Rows[i].Extra[k]
			}
			return ""
		}, c.Levels)
		extra = append(extra, arr)
		meta := arrow.NewMetadata([]string{extraColumnMeta}, []string{"true"})
		if c.Levels != nil {
			meta = arrow.NewMetadata([]string{extraColumnMeta, levelsMeta}, []string{"true", strconv.Itoa(len(c.Levels))})
		}
		fields = append(fields, arrow.Field{Name: c.Name, Type: arr.DataType(), Nullable: true, Metadata: meta})
		cols = append(cols, arr)
	}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(t.Rows)))
	for _, a := range extra {
		a.Release()
	}
	return rec
}

// DictColumn builds a string dictionary column of n values (value(i), ""
// null). With levels, the dictionary is the levels in order and marked
// ordered (pandas reads it as an ordered categorical); values outside
// them are appended after. Without, the dictionary is in order of first
// appearance. The caller releases the array.
func DictColumn(n int, value func(i int) string, levels []string) arrow.Array {
	index := make(map[string]int32, len(levels))
	dict := slices.Clone(levels)
	for i, l := range levels {
		index[l] = int32(i)
	}
	ib := array.NewInt32Builder(memory.DefaultAllocator)
	defer ib.Release()
	ib.Reserve(n)
	for i := 0; i < n; i++ {
		v := value(i)
		if v == "" {
			ib.AppendNull()
			continue
		}
		code, ok := index[v]
		if !ok {
			code = int32(len(dict))
			index[v] = code
			dict = append(dict, v)
		}
		ib.Append(code)
	}
	indices := ib.NewArray()
	defer indices.Release()
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	defer sb.Release()
	sb.AppendValues(dict, nil)
	values := sb.NewArray()
	defer values.Release()
	dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String, Ordered: levels != nil}
	return array.NewDictionaryArray(dt, indices, values)
}

// WritePredictionTable writes t as Arrow IPC, atomically. A table without
// extra columns is the plain predictions table (WritePredictions).
func WritePredictionTable(path string, t *PredictionTable) error {
	rec := PredictionTableRecord(t)
	defer rec.Release()
	return WriteIPC(path, rec)
}

// ReadPredictionTable reads a predictions table with or without extra
// attribute columns (an evaluate stage's or an audit's).
func ReadPredictionTable(path string) (*PredictionTable, error) {
	rec, err := ReadIPC(path)
	if err != nil {
		return nil, err
	}
	defer rec.Release()
	t, err := PredictionTableFromRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// PredictionTableFromRecord decodes the standard columns as
// PredictionsFromRecord does and the extra attribute columns beside them.
func PredictionTableFromRecord(rec arrow.Record) (*PredictionTable, error) {
	var stdIdx, extraIdx []int
	for i, f := range rec.Schema().Fields() {
		if f.HasMetadata() && f.Metadata.FindKey(extraColumnMeta) >= 0 {
			extraIdx = append(extraIdx, i)
		} else {
			stdIdx = append(stdIdx, i)
		}
	}
	std := rec
	if len(extraIdx) > 0 {
		fields := make([]arrow.Field, len(stdIdx))
		cols := make([]arrow.Array, len(stdIdx))
		for j, i := range stdIdx {
			fields[j], cols[j] = rec.Schema().Field(i), rec.Column(i)
		}
		std = array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
		defer std.Release()
	}
	rows, err := PredictionsFromRecord(std)
	if err != nil {
		return nil, err
	}
	t := &PredictionTable{Rows: rows}
	if len(extraIdx) == 0 {
		return t, nil
	}
	vals := make([]string, len(rows)*len(extraIdx))
	for k, i := range extraIdx {
		f := rec.Schema().Field(i)
		dict, ok := rec.Column(i).(*array.Dictionary)
		if !ok {
			return nil, fmt.Errorf("predictions table: extra column %q is %s, expected a string dictionary", f.Name, f.Type)
		}
		words, err := arrowtab.CheckDictionary(dict)
		if err != nil {
			return nil, fmt.Errorf("predictions table: extra column %q: %w", f.Name, err)
		}
		col := AttrColumn{Name: f.Name}
		if j := f.Metadata.FindKey(levelsMeta); j >= 0 {
			n, err := strconv.Atoi(f.Metadata.Values()[j])
			if err != nil || n < 0 || n > words.Len() {
				return nil, fmt.Errorf("predictions table: extra column %q: bad level count %q", f.Name, f.Metadata.Values()[j])
			}
			col.Levels = make([]string, n)
			for l := range col.Levels {
				col.Levels[l] = words.Value(l)
			}
		}
		t.Extra = append(t.Extra, col)
		for r := range rows {
			if !dict.IsNull(r) {
				vals[r*len(extraIdx)+k] = words.Value(dict.GetValueIndex(r))
			}
		}
	}
	for r := range rows {
		rows[r].Extra = vals[r*len(extraIdx) : (r+1)*len(extraIdx) : (r+1)*len(extraIdx)]
	}
	return t, nil
}
