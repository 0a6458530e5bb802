package dataset

import (
	"math"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// appendDict appends s to a dictionary-encoded string column, "" as null.
func appendDict(b array.Builder, s string) {
	db := b.(*array.BinaryDictionaryBuilder)
	if s == "" {
		db.AppendNull()
		return
	}
	// AppendString only fails on an index overflow, impossible with int32
	// indices for the cardinalities we store.
	_ = db.AppendString(s)
}

func appendFloatOrNull(b array.Builder, v float64) {
	fb := b.(*array.Float64Builder)
	if math.IsNaN(v) {
		fb.AppendNull()
		return
	}
	fb.Append(v)
}

func appendStringOrNull(b array.Builder, s string) {
	sb := b.(*array.StringBuilder)
	if s == "" {
		sb.AppendNull()
		return
	}
	sb.Append(s)
}

// dictValue reads row i of a dictionary-encoded string column ("" if null).
func dictValue(col arrow.Array, i int) string {
	d := col.(*array.Dictionary)
	if d.IsNull(i) {
		return ""
	}
	return d.Dictionary().(*array.String).Value(d.GetValueIndex(i))
}

func floatOrNaN(col arrow.Array, i int) float64 {
	if col.IsNull(i) {
		return math.NaN()
	}
	return col.(*array.Float64).Value(i)
}

func stringOrEmpty(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return ""
	}
	return col.(*array.String).Value(i)
}
