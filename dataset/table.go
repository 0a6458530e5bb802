package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// table is a metadata file read as rows of text fields, whatever its
// format, so every adapter validates rows the same way.
type table struct {
	name   string // for messages: the file name relative to the dataset root
	header []string
	index  map[string]int // lower-case header name → field position
	rows   []tableRow
}

// tableRow is one data row. A row the reader could not parse keeps its
// number and the parse error, so it becomes a rejection, not a gap.
type tableRow struct {
	num    int64 // 1-based, header not counted
	fields []string
	err    error
}

// field returns column i of the row trimmed of spaces ("" when absent).
func (r *tableRow) field(i int) string {
	if i < 0 || i >= len(r.fields) {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

func newTable(name string, header []string) (*table, error) {
	t := &table{name: name, header: header, index: map[string]int{}}
	for i, h := range header {
		key := strings.ToLower(strings.TrimSpace(h))
		if i == 0 {
			key = strings.TrimPrefix(key, "\ufeff") // byte-order mark of spreadsheet exports
		}
		if key == "" {
			continue
		}
		if _, dup := t.index[key]; dup {
			return nil, fmt.Errorf("%s: header: column %q appears twice", name, h)
		}
		t.index[key] = i
	}
	return t, nil
}

// col returns the position of a column, matched case-insensitively.
func (t *table) col(name string) (int, bool) {
	i, ok := t.index[strings.ToLower(strings.TrimSpace(name))]
	return i, ok
}

// mustCol returns the position of a required column, or an error naming
// the file and the columns it has.
func (t *table) mustCol(name string) (int, error) {
	if i, ok := t.col(name); ok {
		return i, nil
	}
	return -1, fmt.Errorf("%s: no column %q (columns: %s)", t.name, name, strings.Join(t.header, ", "))
}

// rowProblem reports a row the reader could not parse or whose field
// count differs from the header's.
func (t *table) rowProblem(r *tableRow) *Problem {
	if r.err != nil {
		return &Problem{Reason: ReasonMalformedRow, Detail: fmt.Sprintf("unreadable CSV line: %v", r.err)}
	}
	if len(r.fields) != len(t.header) {
		return &Problem{Reason: ReasonMalformedRow, Detail: fmt.Sprintf("%d fields, the header has %d", len(r.fields), len(t.header))}
	}
	return nil
}

// readCSVTable reads a delimited text file. name is used in messages.
func readCSVTable(path, name string, comma rune) (*table, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("metadata %s: %w", name, err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comma = comma
	cr.FieldsPerRecord = -1 // a short row is one rejection, not a failed file
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("metadata %s: the file is empty (no header row)", name)
	}
	if err != nil {
		return nil, fmt.Errorf("metadata %s: header: %w", name, err)
	}
	t, err := newTable(name, header)
	if err != nil {
		return nil, fmt.Errorf("metadata %w", err)
	}
	for num := int64(1); ; num++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return nil, fmt.Errorf("metadata %s row %d: %w", name, num, err)
		}
		t.rows = append(t.rows, tableRow{num: num, fields: rec, err: err})
	}
	return t, nil
}
