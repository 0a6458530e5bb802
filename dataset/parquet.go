package dataset

import (
	"context"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// readParquetTable reads a Parquet file with Arrow's reader and renders
// every value as text, so Parquet metadata goes through the same column
// and value mapping as CSV. Nulls become empty fields.
func readParquetTable(ctx context.Context, path, name string) (*table, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("metadata %s: %w", name, err)
	}
	defer f.Close()
	tbl, err := pqarrow.ReadTable(ctx, f, parquet.NewReaderProperties(memory.DefaultAllocator),
		pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return nil, fmt.Errorf("metadata %s: not a readable Parquet file: %w", name, err)
	}
	defer tbl.Release()
	header := make([]string, tbl.NumCols())
	for i := range header {
		header[i] = tbl.Schema().Field(i).Name
	}
	t, err := newTable(name, header)
	if err != nil {
		return nil, fmt.Errorf("metadata %w", err)
	}
	n := int(tbl.NumRows())
	t.rows = make([]tableRow, n)
	for r := range t.rows {
		t.rows[r] = tableRow{num: int64(r + 1), fields: make([]string, len(header))}
	}
	for c := range header {
		row := 0
		for _, chunk := range tbl.Column(c).Data().Chunks() {
			for i := 0; i < chunk.Len(); i, row = i+1, row+1 {
				t.rows[row].fields[c] = valueText(chunk, i)
			}
		}
	}
	return t, nil
}

func valueText(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return ""
	}
	return a.ValueStr(i)
}
