// Package arrowtab declares an Arrow table once, as a list of named columns
// bound to the fields of a Go row type, and reads and writes it by name.
// The declaration is the table's schema, its writer and its reader, so the
// three cannot drift apart; reading checks each column's presence and type
// and validates its buffers before touching a value, so a missing column, a
// wrong type or garbled bytes are an error naming the table and column
// (ReadFile adds the file), never a panic or a silently shifted value.
//
// It owns no table: dataset and analysis declare theirs with it.
package arrowtab

import (
	"errors"
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Column is one column of a table of rows T: its name, Arrow type and
// nullability, and how a row's field is appended and read back.
type Column[T any] struct {
	Name     string
	Type     arrow.DataType
	Nullable bool
	// optional columns may be absent from files written before they
	// existed; rows then keep the field's zero value.
	optional bool
	// rejectNulls refuses nulls on read: a null number would read as 0.
	// Strings without nulls read null as "", as they were written.
	rejectNulls bool
	put         func(b array.Builder, row *T)
	// read checks the column's buffers, then sets every row's field.
	read func(a arrow.Array, rows []T) error
}

// Optional marks a column that older files may lack.
func (c Column[T]) Optional() Column[T] { c.optional = true; return c }

// Table is a declared table.
type Table[T any] struct {
	name    string
	columns []Column[T]
	schema  *arrow.Schema
}

// New declares a table named name (for messages: "samples") with columns
// in the order they are written.
func New[T any](name string, columns ...Column[T]) *Table[T] {
	fields := make([]arrow.Field, len(columns))
	seen := map[string]bool{}
	for i, c := range columns {
		if seen[c.Name] {
			panic("arrowtab: table " + name + " declares column " + c.Name + " twice")
		}
		seen[c.Name] = true
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type, Nullable: c.Nullable}
	}
	return &Table[T]{name: name, columns: columns, schema: arrow.NewSchema(fields, nil)}
}

// Name is the table's name in messages.
func (t *Table[T]) Name() string { return t.name }

// Schema is the Arrow schema the table is written with.
func (t *Table[T]) Schema() *arrow.Schema { return t.schema }

// Record builds a record of rows; the caller releases it.
func (t *Table[T]) Record(rows []T) arrow.Record {
	b := array.NewRecordBuilder(memory.DefaultAllocator, t.schema)
	defer b.Release()
	for r := range rows {
		for i := range t.columns {
			t.columns[i].put(b.Field(i), &rows[r])
		}
	}
	return b.NewRecord()
}

// Decode reads rows from rec by column name. Columns rec has beyond the
// declared ones are ignored; a declared column that is missing (and not
// optional), of another type, or with invalid buffers is an error naming
// the table and column.
func (t *Table[T]) Decode(rec arrow.Record) (rows []T, err error) {
	current := ""
	defer func() {
		// The checks below cover the layouts we know; this is the last
		// line so that bad bytes never crash the process.
		if p := recover(); p != nil {
			rows, err = nil, fmt.Errorf("%s table: column %s: corrupt data (%v)", t.name, current, p)
		}
	}()
	schema := rec.Schema()
	n := rec.NumRows()
	if n < 0 {
		return nil, fmt.Errorf("%s table: corrupt row count %d", t.name, n)
	}
	// Find and check every column before allocating the rows: a garbled
	// file can declare billions of rows over a column of another type
	// (a null column takes no bytes), and the rows must never be sized
	// by a count the data does not back.
	cols := make([]arrow.Array, len(t.columns))
	var dataBytes int64
	for i, c := range t.columns {
		current = c.Name
		idx := schema.FieldIndices(c.Name)
		switch {
		case len(idx) == 0 && c.optional:
			continue
		case len(idx) == 0:
			return nil, fmt.Errorf("%s table: missing column %q (columns: %s)", t.name, c.Name, fieldNames(schema))
		case len(idx) > 1:
			return nil, fmt.Errorf("%s table: column %q appears %d times", t.name, c.Name, len(idx))
		}
		f := schema.Field(idx[0])
		if !arrow.TypeEqual(f.Type, c.Type) {
			return nil, fmt.Errorf("%s table: column %s is %s, expected %s", t.name, c.Name, f.Type, c.Type)
		}
		col := rec.Column(idx[0])
		if int64(col.Len()) != n {
			return nil, fmt.Errorf("%s table: column %s has %d values for %d rows", t.name, c.Name, col.Len(), n)
		}
		for _, b := range col.Data().Buffers() {
			if b != nil {
				dataBytes += int64(b.Len())
			}
		}
		cols[i] = col
	}
	// Every declared column stores at least 4 bytes a row (values,
	// offsets or dictionary indices).
	if n > dataBytes/4 {
		return nil, fmt.Errorf("%s table: %d rows declared over %d bytes of data", t.name, n, dataBytes)
	}
	rows = make([]T, n)
	for i, c := range t.columns {
		col := cols[i]
		if col == nil {
			continue // an optional column the file lacks
		}
		current = c.Name
		if err := checkValidity(col); err != nil {
			return nil, fmt.Errorf("%s table: column %s: %w", t.name, c.Name, err)
		}
		if c.rejectNulls && !c.Nullable && col.NullN() > 0 {
			return nil, fmt.Errorf("%s table: column %s has %d nulls but is declared without nulls", t.name, c.Name, col.NullN())
		}
		if err := c.read(col, rows); err != nil {
			return nil, fmt.Errorf("%s table: column %s: %w", t.name, c.Name, err)
		}
	}
	return rows, nil
}

func fieldNames(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// checkValidity checks that a column's null bitmap covers its values.
func checkValidity(a arrow.Array) error {
	d := a.Data()
	if d.Offset() < 0 || d.Len() < 0 {
		return fmt.Errorf("corrupt offset %d or length %d", d.Offset(), d.Len())
	}
	if a.NullN() < 0 || a.NullN() > a.Len() {
		return fmt.Errorf("corrupt null count %d for %d values", a.NullN(), a.Len())
	}
	if a.NullN() == 0 {
		return nil
	}
	bufs := d.Buffers()
	if len(bufs) == 0 || bufs[0] == nil {
		return errors.New("null count without a validity bitmap")
	}
	if need := (d.Offset() + d.Len() + 7) / 8; bufs[0].Len() < need {
		return fmt.Errorf("validity bitmap has %d bytes, %d needed", bufs[0].Len(), need)
	}
	return nil
}

// checkStrings checks that a string array's offsets are non-decreasing and
// lie inside its data buffer, so Value never slices out of range.
func checkStrings(s *array.String) error {
	d := s.Data()
	bufs := d.Buffers()
	if len(bufs) < 3 {
		return errors.New("string column without offsets and data buffers")
	}
	dataLen := 0
	if bufs[2] != nil {
		dataLen = bufs[2].Len()
	}
	if d.Len() == 0 {
		return nil
	}
	if bufs[1] == nil || bufs[1].Len() < (d.Offset()+d.Len()+1)*4 {
		return errors.New("string offsets buffer too short")
	}
	offs := arrow.Int32Traits.CastFromBytes(bufs[1].Bytes())[d.Offset() : d.Offset()+d.Len()+1]
	prev := offs[0]
	if prev < 0 || int(prev) > dataLen {
		return fmt.Errorf("string offset %d outside the %d data bytes", prev, dataLen)
	}
	for i, o := range offs[1:] {
		if o < prev || int(o) > dataLen {
			return fmt.Errorf("row %d: string offsets %d..%d outside the %d data bytes", i, prev, o, dataLen)
		}
		prev = o
	}
	return nil
}

// CheckDictionary checks a dictionary-encoded string column read from a
// file (valid dictionary strings, every index of a non-null row inside it)
// and returns its values, for readers of columns a Table does not declare.
func CheckDictionary(d *array.Dictionary) (*array.String, error) { return checkDictionary(d) }

// checkDictionary checks a dictionary-encoded string column: valid
// dictionary strings and every index of a non-null row inside it.
func checkDictionary(d *array.Dictionary) (*array.String, error) {
	dict, ok := d.Dictionary().(*array.String)
	if !ok {
		return nil, fmt.Errorf("dictionary holds %s, expected strings", d.Dictionary().DataType())
	}
	if err := checkValidity(dict); err != nil {
		return nil, fmt.Errorf("dictionary: %w", err)
	}
	if err := checkStrings(dict); err != nil {
		return nil, fmt.Errorf("dictionary: %w", err)
	}
	idx, ok := d.Indices().(*array.Int32)
	if !ok {
		return nil, fmt.Errorf("dictionary indices are %s, expected int32", d.Indices().DataType())
	}
	if err := checkValidity(idx); err != nil {
		return nil, fmt.Errorf("dictionary indices: %w", err)
	}
	for i := 0; i < d.Len(); i++ {
		if d.IsNull(i) {
			continue
		}
		if k := idx.Value(i); k < 0 || int(k) >= dict.Len() {
			return nil, fmt.Errorf("row %d: dictionary index %d outside the %d values", i, k, dict.Len())
		}
		if dict.IsNull(int(idx.Value(i))) {
			return nil, fmt.Errorf("row %d: dictionary value is null", i)
		}
	}
	return dict, nil
}
