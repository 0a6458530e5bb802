package dataset

import (
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"

	"fairage/internal/atomicfile"
)

// WriteParquet writes rec to path as Parquet (zstd), atomically, with the
// Arrow schema stored beside it so readers get back dictionary columns and
// their order (pandas: an ordered categorical) rather than plain strings.
func WriteParquet(path string, rec arrow.Record) error {
	// A required Parquet column cannot hold nulls (the file would not
	// read back): a column with nulls is written optional.
	fields := slices.Clone(rec.Schema().Fields())
	for i := range fields {
		if !fields[i].Nullable && rec.Column(i).NullN() > 0 {
			fields[i].Nullable = true
		}
	}
	rec = array.NewRecord(arrow.NewSchema(fields, nil), rec.Columns(), rec.NumRows())
	defer rec.Release()
	tbl := array.NewTableFromRecords(rec.Schema(), []arrow.Record{rec})
	defer tbl.Release()
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(true))
	return atomicfile.WriteBuffered(path, func(w io.Writer) error {
		if err := pqarrow.WriteTable(tbl, w, max(1, min(tbl.NumRows(), 1<<20)), props,
			pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	})
}

// WithColumn returns rec with a constant string column in front (a
// dictionary of one value), such as the run name, so tables of several runs
// read as one (DuckDB: 'runs/*/analyze/metrics.parquet'). The caller
// releases the result; rec is left as it was.
func WithColumn(rec arrow.Record, name, value string) arrow.Record {
	col := DictColumn(int(rec.NumRows()), func(int) string { return value }, nil)
	defer col.Release()
	fields := append([]arrow.Field{{Name: name, Type: col.DataType()}}, rec.Schema().Fields()...)
	cols := append([]arrow.Array{col}, rec.Columns()...)
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows())
}

// ReplaceColumn returns rec with its column name replaced by col (same
// length); the caller releases the result, rec and col are left as they were.
func ReplaceColumn(rec arrow.Record, name string, col arrow.Array) (arrow.Record, error) {
	idx := rec.Schema().FieldIndices(name)
	if len(idx) != 1 {
		return nil, fmt.Errorf("no single column %q", name)
	}
	fields := slices.Clone(rec.Schema().Fields())
	cols := slices.Clone(rec.Columns())
	fields[idx[0]] = arrow.Field{Name: name, Type: col.DataType(), Nullable: true}
	cols[idx[0]] = col
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, rec.NumRows()), nil
}
