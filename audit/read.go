package audit

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"fairage/dataset"
)

// Rejection reasons of rows the audit cannot load.
const (
	ReasonMissingYTrue   = "missing_y_true"      // empty, null or a Missing marker
	ReasonMissingYPred   = "missing_y_pred"      // the model gave no prediction
	ReasonYTrueNotNumber = "y_true_not_a_number" // text that does not parse as a number
	ReasonYPredNotNumber = "y_pred_not_a_number" // text that does not parse as a number
	ReasonMissingID      = "missing_id"          // audit.id is set and the row has none
	ReasonDuplicateID    = "duplicate_id"        // the id of an earlier row
	ReasonMalformedRow   = dataset.ReasonMalformedRow
)

type format int

const (
	formatCSV format = iota
	formatTSV
	formatParquet
	formatArrow
)

// formatOf tells the table's format from its extension.
func formatOf(path string) (format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return formatCSV, nil
	case ".tsv", ".tab":
		return formatTSV, nil
	case ".parquet", ".pq":
		return formatParquet, nil
	case ".arrow", ".feather", ".ipc":
		return formatArrow, nil
	}
	return 0, fmt.Errorf("%s: unknown table format %q (use .csv, .tsv, .parquet or .arrow)", filepath.Base(path), filepath.Ext(path))
}

// Header returns the column names of the table at path, reading only its
// header (CSV) or schema (Parquet, Arrow).
func Header(path string) ([]string, error) {
	f, err := formatOf(path)
	if err != nil {
		return nil, err
	}
	var h []string
	switch f {
	case formatCSV, formatTSV:
		err = withCSV(path, f, func(header []string, _ *csv.Reader) error { h = header; return nil })
	case formatParquet:
		err = withParquet(path, func(fr *pqarrow.FileReader, s *arrow.Schema) error { h = fieldNames(s); return nil })
	case formatArrow:
		err = withArrow(path, func(s *arrow.Schema, _ func(func(arrow.Record) error) error) error { h = fieldNames(s); return nil })
	}
	return h, err
}

func fieldNames(s *arrow.Schema) []string {
	out := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		out[i] = f.Name
	}
	return out
}

// Table is an audited file as the analysis reads it.
type Table struct {
	// Predictions are the loaded rows; the attribute columns are
	// Predictions.Extra, in the order asked for.
	Predictions *dataset.PredictionTable
	// Rejected lists the rows that could not be loaded, with reasons.
	Rejected []dataset.Rejection
	// Rows counts the file's data rows.
	Rows int64
	// Columns are the file's columns.
	Columns []string
	// NotNumbers counts, per binned column, values that were not numbers
	// (analysed as unknown).
	NotNumbers map[string]int
}

// Read loads the table o.File with the attribute columns attributes (in
// that order; age_group is left to the analysis, which bins the true
// age). A missing column is an error listing the file's columns; a row
// that cannot be used is rejected with its row number and reason; more
// than o.MaxRejectFraction rejected rows is an error.
func Read(ctx context.Context, o *Options, attributes []string) (*Table, error) {
	name := filepath.Base(o.File)
	f, err := formatOf(o.File)
	if err != nil {
		return nil, fmt.Errorf("audit.file: %w", err)
	}
	attributes = slices.DeleteFunc(slices.Clone(attributes), func(a string) bool { return a == dataset.AttrAgeGroup })
	l := &loader{o: o, name: name, attrs: attributes, t: &Table{NotNumbers: map[string]int{}}}
	switch f {
	case formatCSV, formatTSV:
		err = withCSV(o.File, f, func(header []string, r *csv.Reader) error { return l.readCSV(ctx, header, r) })
	case formatParquet:
		err = withParquet(o.File, func(fr *pqarrow.FileReader, s *arrow.Schema) error { return l.readParquet(ctx, fr, s) })
	case formatArrow:
		err = withArrow(o.File, func(s *arrow.Schema, each func(func(arrow.Record) error) error) error {
			if err := l.setup(fieldNames(s)); err != nil {
				return err
			}
			return each(func(rec arrow.Record) error { return l.readRecord(ctx, rec, l.cols) })
		})
	}
	if err != nil {
		return nil, err
	}
	t := l.t
	t.Predictions = &dataset.PredictionTable{Rows: l.rows, Extra: l.columns()}
	if len(l.rows) == 0 {
		return nil, fmt.Errorf("audit.file: %s: no usable row among %d (%s)", name, t.Rows, reasonSummary(t.Rejected))
	}
	if frac := float64(len(t.Rejected)) / float64(max(t.Rows, 1)); frac > o.MaxRejectFraction {
		return nil, fmt.Errorf("audit.file: %s: %d of %d rows could not be loaded (%.0f%%, above audit.max_reject_fraction %g): %s",
			name, len(t.Rejected), t.Rows, 100*frac, o.MaxRejectFraction, reasonSummary(t.Rejected))
	}
	return t, nil
}

func reasonSummary(rs []dataset.Rejection) string {
	if len(rs) == 0 {
		return "no rows"
	}
	s := dataset.FormatReasonCounts(dataset.CountByReason(rs))
	return fmt.Sprintf("%s; first: row %d, %s", s, rs[0].Row, rs[0].Detail)
}

// loader turns rows of any format into predictions.
type loader struct {
	o     *Options
	name  string
	attrs []string
	t     *Table

	// Positions of the columns in the file (-1 absent), then of the
	// attributes.
	yt, yp, id, subj, split int
	attrPos                 []int
	cols                    []int // every position read, for the Arrow readers
	bins                    []Edges
	labels                  [][]string
	missing                 map[string]bool
	intern                  []map[string]string // per attribute, then subject, split
	ids                     map[string]struct{}
	rows                    []dataset.Prediction
	extra                   []string // backing store of the rows' Extra
}

// setup finds the columns in header.
func (l *loader) setup(header []string) error {
	l.t.Columns = header
	checkErr := l.o.Check(header, l.name, l.attrs)
	pos := func(col string) int {
		if col == "" {
			return -1
		}
		return findColumn(header, col)
	}
	l.yt, l.yp, l.id, l.subj, l.split = pos(l.o.YTrue), pos(l.o.YPred), pos(l.o.ID), pos(l.o.Subject), pos(l.o.Split)
	var missingCols []string
	for _, a := range l.attrs {
		p := pos(a)
		if p < 0 {
			missingCols = append(missingCols, a)
		}
		l.attrPos = append(l.attrPos, p)
		edges := l.o.Bins[a]
		l.bins = append(l.bins, edges)
		if edges != nil {
			l.labels = append(l.labels, edges.Labels())
		} else {
			l.labels = append(l.labels, nil)
		}
	}
	if len(missingCols) > 0 {
		checkErr = errors.Join(checkErr, fmt.Errorf("analysis.attributes: %s has no column %s (columns: %s)", l.name, quoteList(missingCols), strings.Join(header, ", ")))
	}
	if checkErr != nil {
		return checkErr
	}
	l.cols = []int{l.yt, l.yp}
	for _, p := range append([]int{l.id, l.subj, l.split}, l.attrPos...) {
		if p >= 0 && !slices.Contains(l.cols, p) {
			l.cols = append(l.cols, p)
		}
	}
	l.missing = map[string]bool{"": true}
	for _, m := range l.o.Missing {
		l.missing[strings.ToLower(strings.TrimSpace(m))] = true
	}
	l.intern = make([]map[string]string, len(l.attrs)+2)
	for i := range l.intern {
		l.intern[i] = map[string]string{}
	}
	if l.id >= 0 {
		l.ids = map[string]struct{}{}
	}
	return nil
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = strconv.Quote(v)
	}
	return strings.Join(q, ", ")
}

// columns describes the loaded attribute columns.
func (l *loader) columns() []dataset.AttrColumn {
	out := make([]dataset.AttrColumn, len(l.attrs))
	for i, a := range l.attrs {
		out[i] = dataset.AttrColumn{Name: a, Levels: l.labels[i]}
	}
	return out
}

// cells reads the fields of one row: text (ok false for a null) and, for
// numeric columns, the number directly.
type cells interface {
	text(col int) (string, bool)
	number(col int) (v float64, isNum bool)
}

// add loads row num (1-based) or rejects it.
func (l *loader) add(num int64, c cells) {
	l.t.Rows++
	reject := func(id, reason, detail string) {
		l.t.Rejected = append(l.t.Rejected, dataset.Rejection{Source: l.name, Row: num, ID: id, Reason: reason, Detail: detail})
	}
	id := ""
	if l.id >= 0 {
		s, ok := c.text(l.id)
		id = strings.TrimSpace(s)
		if !ok || l.isMissing(id) {
			reject("", ReasonMissingID, fmt.Sprintf("column %s: no id", l.o.ID))
			return
		}
	}
	yt, problem, detail := l.age(c, l.yt, l.o.YTrue, ReasonMissingYTrue, ReasonYTrueNotNumber)
	if problem != "" {
		reject(id, problem, detail)
		return
	}
	yp, problem, detail := l.age(c, l.yp, l.o.YPred, ReasonMissingYPred, ReasonYPredNotNumber)
	if problem != "" {
		reject(id, problem, detail)
		return
	}
	if l.id >= 0 {
		if _, dup := l.ids[id]; dup {
			reject(id, ReasonDuplicateID, fmt.Sprintf("column %s: id %q is on an earlier row", l.o.ID, id))
			return
		}
		l.ids[id] = struct{}{}
	} else {
		id = strconv.FormatInt(num, 10)
	}
	p := dataset.Prediction{ID: id, YTrue: yt, YPred: yp}
	if l.subj >= 0 {
		p.Subject = l.category(c, l.subj, len(l.attrs))
	}
	if l.split >= 0 {
		p.Split = l.category(c, l.split, len(l.attrs)+1)
	}
	if n := len(l.attrs); n > 0 {
		if len(l.extra) < n {
			l.extra = make([]string, n*4096)
		}
		vals := l.extra[:n:n]
		l.extra = l.extra[n:]
		for k, pos := range l.attrPos {
			if l.bins[k] != nil {
				vals[k] = l.binned(c, pos, k)
			} else {
				vals[k] = l.category(c, pos, k)
			}
		}
		p.Extra = vals
	}
	l.rows = append(l.rows, p)
}

func (l *loader) isMissing(s string) bool {
	if s == "" {
		return true
	}
	return len(l.missing) > 1 && l.missing[strings.ToLower(s)]
}

// age reads a true or predicted age: a number (NaN and ±Inf included: the
// analysis rejects them with their own reasons), or a problem.
func (l *loader) age(c cells, col int, name, missing, notNumber string) (float64, string, string) {
	if v, ok := c.number(col); ok {
		return v, "", ""
	}
	s, ok := c.text(col)
	s = strings.TrimSpace(s)
	if !ok || l.isMissing(s) {
		return 0, missing, fmt.Sprintf("column %s: no value", name)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return v, "", "" // ±Inf or 0 from overflow: the analysis screens it
		}
		return 0, notNumber, fmt.Sprintf("column %s: %q is not a number", name, s)
	}
	return v, "", ""
}

// category reads a categorical value, interned ("" unknown).
func (l *loader) category(c cells, col, slot int) string {
	s, ok := c.text(col)
	if !ok {
		return ""
	}
	s = strings.TrimSpace(s)
	if l.isMissing(s) {
		return ""
	}
	if v, ok := l.intern[slot][s]; ok {
		return v
	}
	s = strings.Clone(s) // the reader may reuse its buffer
	l.intern[slot][s] = s
	return s
}

// binned reads a numeric attribute as its bin's label ("" unknown).
func (l *loader) binned(c cells, col, k int) string {
	v, ok := c.number(col)
	if !ok {
		s, present := c.text(col)
		s = strings.TrimSpace(s)
		if !present || l.isMissing(s) {
			return ""
		}
		var err error
		if v, err = strconv.ParseFloat(s, 64); err != nil {
			l.t.NotNumbers[l.attrs[k]]++
			return ""
		}
	}
	if math.IsNaN(v) {
		return ""
	}
	return l.labels[k][l.bins[k].bin(v)]
}

// withCSV opens a delimited file and hands its header and reader to fn.
func withCSV(path string, f format, fn func(header []string, r *csv.Reader) error) error {
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("audit.file: %w", err)
	}
	defer file.Close()
	r := csv.NewReader(file)
	if f == formatTSV {
		r.Comma = '\t'
	}
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err == io.EOF {
		return fmt.Errorf("audit.file: %s is empty (no header row)", filepath.Base(path))
	}
	if err != nil {
		return fmt.Errorf("audit.file: %s: header: %w", filepath.Base(path), err)
	}
	header = slices.Clone(header)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff") // spreadsheet exports
	}
	return fn(header, r)
}

// csvCells are one CSV record.
type csvCells []string

func (c csvCells) text(col int) (string, bool) {
	if col < 0 || col >= len(c) {
		return "", false
	}
	return c[col], true
}

func (c csvCells) number(int) (float64, bool) { return 0, false }

func (l *loader) readCSV(ctx context.Context, header []string, r *csv.Reader) error {
	if err := l.setup(header); err != nil {
		return err
	}
	for num := int64(1); ; num++ {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if num%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			l.t.Rows++
			l.t.Rejected = append(l.t.Rejected, dataset.Rejection{Source: l.name, Row: num, Reason: ReasonMalformedRow, Detail: fmt.Sprintf("unreadable line: %v", pe.Err)})
			continue
		case err != nil:
			return fmt.Errorf("audit.file: %s row %d: %w", l.name, num, err)
		case len(rec) != len(header):
			l.t.Rows++
			l.t.Rejected = append(l.t.Rejected, dataset.Rejection{Source: l.name, Row: num, Reason: ReasonMalformedRow, Detail: fmt.Sprintf("%d fields, the header has %d", len(rec), len(header))})
			continue
		}
		l.add(num, csvCells(rec))
	}
}

// withParquet opens a Parquet file and hands its Arrow reader to fn.
func withParquet(path string, fn func(fr *pqarrow.FileReader, s *arrow.Schema) error) error {
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("audit.file: %w", err)
		}
		return fmt.Errorf("audit.file: %s is not a readable Parquet file: %w", filepath.Base(path), err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("audit.file: %s: %w", filepath.Base(path), err)
	}
	s, err := fr.Schema()
	if err != nil {
		return fmt.Errorf("audit.file: %s: schema: %w", filepath.Base(path), err)
	}
	return fn(fr, s)
}

func (l *loader) readParquet(ctx context.Context, fr *pqarrow.FileReader, s *arrow.Schema) error {
	if err := l.setup(fieldNames(s)); err != nil {
		return err
	}
	// Read only the columns used, each a leaf of the flat schema.
	var leaves []int
	for _, c := range l.cols {
		f := fr.Manifest.Fields[c]
		if f.ColIndex < 0 {
			return fmt.Errorf("audit.file: %s: column %q is nested (%s); the audit reads flat columns", l.name, s.Field(c).Name, s.Field(c).Type)
		}
		leaves = append(leaves, f.ColIndex)
	}
	rr, err := fr.GetRecordReader(ctx, leaves, nil)
	if err != nil {
		return fmt.Errorf("audit.file: %s: %w", l.name, err)
	}
	defer rr.Release()
	// The reader's records hold the selected columns in that order.
	local := make([]int, len(l.cols))
	for i := range local {
		local[i] = i
	}
	for rr.Next() {
		if err := l.readRecord(ctx, rr.Record(), local); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return fmt.Errorf("audit.file: %s: %w", l.name, err)
	}
	return nil
}

// withArrow opens an Arrow IPC file (or stream) and hands its schema and
// a record iterator to fn.
func withArrow(path string, fn func(s *arrow.Schema, each func(func(arrow.Record) error) error) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("audit.file: %w", err)
	}
	defer f.Close()
	if fr, err := ipc.NewFileReader(f, ipc.WithAllocator(memory.DefaultAllocator)); err == nil {
		defer fr.Close()
		return fn(fr.Schema(), func(visit func(arrow.Record) error) error {
			for i := 0; i < fr.NumRecords(); i++ {
				rec, err := fr.Record(i)
				if err != nil {
					return fmt.Errorf("audit.file: %s: record batch %d: %w", filepath.Base(path), i, err)
				}
				if err := visit(rec); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("audit.file: %w", err)
	}
	sr, err := ipc.NewReader(f, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return fmt.Errorf("audit.file: %s is not an Arrow IPC file or stream: %w", filepath.Base(path), err)
	}
	defer sr.Release()
	return fn(sr.Schema(), func(visit func(arrow.Record) error) error {
		for sr.Next() {
			if err := visit(sr.Record()); err != nil {
				return err
			}
		}
		if err := sr.Err(); err != nil && err != io.EOF {
			return fmt.Errorf("audit.file: %s: %w", filepath.Base(path), err)
		}
		return nil
	})
}

// arrowCells are one row of a record; cols maps file positions to the
// record's columns.
type arrowCells struct {
	cols []arrow.Array // by file position; nil where not read
	row  int
}

func (c *arrowCells) at(col int) (arrow.Array, bool) {
	if col < 0 || col >= len(c.cols) || c.cols[col] == nil || c.cols[col].IsNull(c.row) {
		return nil, false
	}
	return c.cols[col], true
}

func (c *arrowCells) text(col int) (string, bool) {
	a, ok := c.at(col)
	if !ok {
		return "", false
	}
	switch v := a.(type) {
	case *array.String:
		return v.Value(c.row), true
	case *array.LargeString:
		return v.Value(c.row), true
	case *array.Dictionary:
		d := v.Dictionary()
		i := v.GetValueIndex(c.row)
		switch w := d.(type) {
		case *array.String:
			return w.Value(i), true
		case *array.LargeString:
			return w.Value(i), true
		}
		return d.ValueStr(i), true
	}
	return a.ValueStr(c.row), true
}

func (c *arrowCells) number(col int) (float64, bool) {
	a, ok := c.at(col)
	if !ok {
		return 0, false
	}
	switch v := a.(type) {
	case *array.Float64:
		return v.Value(c.row), true
	case *array.Float32:
		return float64(v.Value(c.row)), true
	case *array.Int64:
		return float64(v.Value(c.row)), true
	case *array.Int32:
		return float64(v.Value(c.row)), true
	case *array.Int16:
		return float64(v.Value(c.row)), true
	case *array.Int8:
		return float64(v.Value(c.row)), true
	case *array.Uint64:
		return float64(v.Value(c.row)), true
	case *array.Uint32:
		return float64(v.Value(c.row)), true
	case *array.Uint16:
		return float64(v.Value(c.row)), true
	case *array.Uint8:
		return float64(v.Value(c.row)), true
	}
	return 0, false
}

// readRecord loads a record's rows; local[i] is the record column of
// l.cols[i].
func (l *loader) readRecord(ctx context.Context, rec arrow.Record, local []int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &arrowCells{cols: make([]arrow.Array, len(l.t.Columns))}
	for i, pos := range l.cols {
		c.cols[pos] = rec.Column(local[i])
	}
	for r := 0; r < int(rec.NumRows()); r++ {
		c.row = r
		l.add(l.t.Rows+1, c)
	}
	return nil
}
