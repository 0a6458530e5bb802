package dataset

import (
	"context"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// userTable is a user's own metadata with its own column names and codes.
var userTable = [][]string{
	{"img", "years", "sex", "race", "mood", "fold"},
	{"a.jpg", "30", "0", "White", "happy", "tr"},
	{"b.jpg", "45", "1", "Black", "", "va"},
	{"c.jpg", "12", "2", "Asian", "neutral", "te"},
	{"sub/d.png", "70", "1", "white", "sad", "tr"},
	{"a2.jpg", "50", "0", "asian", "neutral", "holdout"},
}

func userCSVOptions(path, root string) CSVOptions {
	return CSVOptions{
		Path: path,
		Root: root,
		Columns: ColumnMap{File: "img", Age: "years", Gender: "sex", Ethnicity: "race",
			Expression: "mood", Split: "fold"},
		Values: map[string]map[string]string{
			AttrGender: {"0": "male", "1": "female"},
			"split":    {"TR": "train", "va": "valid", "te": "test"},
		},
		Allowed: map[string][]string{AttrGender: GenderValues, AttrEthnicity: {"white", "black", "asian"}},
	}
}

func userImages(t *testing.T, root string) {
	for i, f := range []string{"a.jpg", "b.jpg", "c.jpg", "a2.jpg"} {
		writeFile(t, root, "pics/"+f, encodeJPEG(t, solid(16, 16, color.RGBA{100, uint8(50 * i), 100, 255})))
	}
	writeFile(t, root, "pics/sub/d.png", encodePNG(t, solid(16, 16, color.RGBA{1, 2, 3, 255})))
}

// writeUserParquet writes userTable as Parquet, with ages and sex codes as
// integers, the way a pandas export would type them.
func writeUserParquet(t *testing.T, path string) {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "img", Type: arrow.BinaryTypes.String},
		{Name: "years", Type: arrow.PrimitiveTypes.Int64},
		{Name: "sex", Type: arrow.PrimitiveTypes.Int64},
		{Name: "race", Type: arrow.BinaryTypes.String},
		{Name: "mood", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "fold", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for _, row := range userTable[1:] {
		age, _ := strconv.ParseInt(row[1], 10, 64)
		sex, _ := strconv.ParseInt(row[2], 10, 64)
		b.Field(0).(*array.StringBuilder).Append(row[0])
		b.Field(1).(*array.Int64Builder).Append(age)
		b.Field(2).(*array.Int64Builder).Append(sex)
		b.Field(3).(*array.StringBuilder).Append(row[3])
		if row[4] == "" {
			b.Field(4).(*array.StringBuilder).AppendNull()
		} else {
			b.Field(4).(*array.StringBuilder).Append(row[4])
		}
		b.Field(5).(*array.StringBuilder).Append(row[5])
	}
	rec := b.NewRecord()
	defer rec.Release()
	tbl := array.NewTableFromRecords(schema, []arrow.Record{rec})
	defer tbl.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// WriteTable closes f.
	if err := pqarrow.WriteTable(tbl, f, 1024, nil, pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}

func TestCSVSourceMapsColumnsAndValues(t *testing.T) {
	dir := t.TempDir()
	userImages(t, dir)
	writeCSV(t, dir, "labels.csv", userTable)
	writeUserParquet(t, filepath.Join(dir, "labels.parquet"))
	tests := []struct{ name, file string }{{"csv", "labels.csv"}, {"parquet", "labels.parquet"}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := OpenCSV(context.Background(), userCSVOptions(filepath.Join(dir, tc.file), filepath.Join(dir, "pics")))
			if err != nil {
				t.Fatal(err)
			}
			samples, rejected, err := Ingest(context.Background(), src, testOptions(), "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(samples)+len(rejected) != src.Len() || src.Len() != len(userTable)-1 {
				t.Fatalf("rows in %d != %d samples + %d rejected", src.Len(), len(samples), len(rejected))
			}
			var got []string
			for _, s := range samples {
				got = append(got, s.ID+" "+s.Split+" "+s.Gender+" "+s.Ethnicity+" "+s.Expression+" "+fmtAge(s.Age)+" "+s.Path)
			}
			want := []string{
				"a train male white happy 30 a.jpg",
				"b valid female black  45 b.jpg",
				"sub/d train female white sad 70 sub/d.png",
			}
			if !slices.Equal(got, want) {
				t.Errorf("samples\n %q\nwant\n %q", got, want)
			}
			var reasons []string
			for _, r := range rejected {
				reasons = append(reasons, r.ID+" "+r.Reason)
				t.Log(r)
			}
			if want := []string{"c unknown_value", "a2 unknown_value"}; !slices.Equal(reasons, want) {
				t.Errorf("rejected %q, want %q", reasons, want)
			}
		})
	}
}

func TestCSVSourceErrors(t *testing.T) {
	dir := t.TempDir()
	writeCSV(t, dir, "labels.csv", userTable)
	writeFile(t, dir, "labels.xlsx", []byte("x"))
	writeFile(t, dir, "bad.parquet", []byte("not parquet"))
	writeFile(t, dir, "empty.csv", nil)
	writeCSV(t, dir, "twice.csv", [][]string{{"file", "age", "File"}})
	tests := []struct {
		name string
		opts CSVOptions
	}{
		{"no path", CSVOptions{}},
		{"missing file", CSVOptions{Path: filepath.Join(dir, "nope.csv")}},
		{"unknown extension", CSVOptions{Path: filepath.Join(dir, "labels.xlsx")}},
		{"not parquet", CSVOptions{Path: filepath.Join(dir, "bad.parquet")}},
		{"empty file", CSVOptions{Path: filepath.Join(dir, "empty.csv")}},
		{"repeated column", CSVOptions{Path: filepath.Join(dir, "twice.csv")}},
		{"default file column absent", CSVOptions{Path: filepath.Join(dir, "labels.csv")}},
		{"mapped column absent", CSVOptions{Path: filepath.Join(dir, "labels.csv"), Columns: ColumnMap{File: "img", Age: "age_years"}}},
		{"allowed values for a non-attribute", CSVOptions{Path: filepath.Join(dir, "labels.csv"), Columns: ColumnMap{File: "img", Age: "years"}, Allowed: map[string][]string{"mood": {"x"}}}},
		{"value map for a non-attribute", CSVOptions{Path: filepath.Join(dir, "labels.csv"), Values: map[string]map[string]string{"age": {"1": "2"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := OpenCSV(context.Background(), tc.opts); err == nil {
				t.Error("no error")
			} else {
				t.Log(err)
			}
		})
	}
}

func TestCSVSourceMalformedLines(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "x.jpg", encodeJPEG(t, solid(16, 16, color.RGBA{9, 9, 9, 255})))
	// Row 2 has a stray quote, row 3 too many fields, row 4 no age.
	writeFile(t, dir, "labels.csv", []byte("file,age\nx.jpg,30\ny\"z.jpg,3\nx.jpg,4,5\nw.jpg,\n"))
	src, err := OpenCSV(context.Background(), CSVOptions{Path: filepath.Join(dir, "labels.csv")})
	if err != nil {
		t.Fatal(err)
	}
	samples, rejected, err := Ingest(context.Background(), src, testOptions(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rejected {
		got = append(got, strconv.FormatInt(r.Row, 10)+" "+r.Reason)
		t.Log(r)
	}
	if want := []string{"2 malformed_row", "3 malformed_row", "4 invalid_age"}; len(samples) != 1 || !slices.Equal(got, want) {
		t.Errorf("%d samples, rejected %q; want 1 and %q", len(samples), got, want)
	}
}
