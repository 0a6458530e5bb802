package arrowtab

import (
	"math"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// DictString is the type of dictionary-encoded string columns (small
// vocabularies: split, gender, reasons).
var DictString = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// String is a string column; nullable ones store "" as null.
func String[T any](name string, nullable bool, field func(*T) *string) Column[T] {
	return Column[T]{Name: name, Type: arrow.BinaryTypes.String, Nullable: nullable,
		put: func(b array.Builder, row *T) {
			sb := b.(*array.StringBuilder)
			if v := *field(row); v != "" || !nullable {
				sb.Append(v)
			} else {
				sb.AppendNull()
			}
		},
		read: func(a arrow.Array, rows []T) error {
			s := a.(*array.String)
			if err := checkStrings(s); err != nil {
				return err
			}
			for i := range rows {
				if !s.IsNull(i) {
					*field(&rows[i]) = s.Value(i)
				}
			}
			return nil
		}}
}

// Dict is a dictionary-encoded string column. "" is written as null
// whether or not the column is declared nullable (an unassigned split is
// null), so Nullable only documents whether a value is expected.
func Dict[T any](name string, nullable bool, field func(*T) *string) Column[T] {
	return Column[T]{Name: name, Type: DictString, Nullable: nullable,
		put: func(b array.Builder, row *T) {
			db := b.(*array.BinaryDictionaryBuilder)
			v := *field(row)
			if v == "" {
				db.AppendNull()
				return
			}
			// AppendString only fails on an index overflow, impossible
			// with int32 indices for the vocabularies stored.
			_ = db.AppendString(v)
		},
		read: func(a arrow.Array, rows []T) error {
			d := a.(*array.Dictionary)
			dict, err := checkDictionary(d)
			if err != nil {
				return err
			}
			idx := d.Indices().(*array.Int32)
			for i := range rows {
				if !d.IsNull(i) {
					*field(&rows[i]) = dict.Value(int(idx.Value(i)))
				}
			}
			return nil
		}}
}

// Float64 is a float64 column without nulls.
func Float64[T any](name string, field func(*T) *float64) Column[T] {
	return Column[T]{Name: name, Type: arrow.PrimitiveTypes.Float64, rejectNulls: true,
		put: func(b array.Builder, row *T) { b.(*array.Float64Builder).Append(*field(row)) },
		read: func(a arrow.Array, rows []T) error {
			f := a.(*array.Float64)
			for i := range rows {
				*field(&rows[i]) = f.Value(i)
			}
			return nil
		}}
}

// NullFloat64 is a nullable float64 column: NaN is written as null (and
// with finiteOnly, ±Inf too), and null reads as NaN.
func NullFloat64[T any](name string, finiteOnly bool, field func(*T) *float64) Column[T] {
	return Column[T]{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true,
		put: func(b array.Builder, row *T) {
			fb := b.(*array.Float64Builder)
			v := *field(row)
			if math.IsNaN(v) || (finiteOnly && math.IsInf(v, 0)) {
				fb.AppendNull()
				return
			}
			fb.Append(v)
		},
		read: func(a arrow.Array, rows []T) error {
			f := a.(*array.Float64)
			for i := range rows {
				if f.IsNull(i) {
					*field(&rows[i]) = math.NaN()
				} else {
					*field(&rows[i]) = f.Value(i)
				}
			}
			return nil
		}}
}

// Int32 is an int32 column without nulls.
func Int32[T any](name string, field func(*T) *int32) Column[T] {
	return Column[T]{Name: name, Type: arrow.PrimitiveTypes.Int32, rejectNulls: true,
		put: func(b array.Builder, row *T) { b.(*array.Int32Builder).Append(*field(row)) },
		read: func(a arrow.Array, rows []T) error {
			v := a.(*array.Int32)
			for i := range rows {
				*field(&rows[i]) = v.Value(i)
			}
			return nil
		}}
}

// Int64 is an int64 column without nulls.
func Int64[T any](name string, field func(*T) *int64) Column[T] {
	return Column[T]{Name: name, Type: arrow.PrimitiveTypes.Int64, rejectNulls: true,
		put: func(b array.Builder, row *T) { b.(*array.Int64Builder).Append(*field(row)) },
		read: func(a arrow.Array, rows []T) error {
			v := a.(*array.Int64)
			for i := range rows {
				*field(&rows[i]) = v.Value(i)
			}
			return nil
		}}
}

// Uint64 is a uint64 column without nulls.
func Uint64[T any](name string, field func(*T) *uint64) Column[T] {
	return Column[T]{Name: name, Type: arrow.PrimitiveTypes.Uint64, rejectNulls: true,
		put: func(b array.Builder, row *T) { b.(*array.Uint64Builder).Append(*field(row)) },
		read: func(a arrow.Array, rows []T) error {
			v := a.(*array.Uint64)
			for i := range rows {
				*field(&rows[i]) = v.Value(i)
			}
			return nil
		}}
}
