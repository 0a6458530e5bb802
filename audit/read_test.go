package audit

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"fairage/dataset"
)

const sampleCSV = `id,age,pred,skin_tone,camera,brightness,person
a,30,31,II,cam1,0.1,p1
b,40,NaN,IV,cam2,0.5,p1
c,50,abc,II,cam1,0.9,p2
d,,44,NA,cam2,x,p2
a,20,22,II,cam1,0.2,p3
e,60,1e300,,cam1,0.6,p3
`

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func options(file string) *Options {
	o := DefaultOptions()
	o.File, o.YTrue, o.YPred, o.ID, o.Subject = file, "age", "pred", "id", "person"
	o.Bins = map[string]Edges{"brightness": {0.3, 0.6}}
	o.MaxRejectFraction = 1
	return &o
}

// A CSV with its own attribute columns loads with every row accounted
// for: unusable ones rejected with a reason, NaN and 1e300 kept for the
// analysis to screen, NA and empty as unknown, a numeric column binned.
func TestReadCSV(t *testing.T) {
	o := options(writeFile(t, "preds.csv", sampleCSV))
	tb, err := Read(context.Background(), o, []string{"skin_tone", "age_group", "camera", "brightness"})
	if err != nil {
		t.Fatal(err)
	}
	if tb.Rows != 6 || len(tb.Predictions.Rows) != 3 || len(tb.Rejected) != 3 {
		t.Fatalf("rows %d, loaded %d, rejected %+v", tb.Rows, len(tb.Predictions.Rows), tb.Rejected)
	}
	reasons := []string{tb.Rejected[0].Reason, tb.Rejected[1].Reason, tb.Rejected[2].Reason}
	if !slices.Equal(reasons, []string{ReasonYPredNotNumber, ReasonMissingYTrue, ReasonDuplicateID}) || tb.Rejected[0].Row != 3 {
		t.Errorf("rejections %+v", tb.Rejected)
	}
	if got := tb.Predictions.ExtraNames(); !slices.Equal(got, []string{"skin_tone", "camera", "brightness"}) {
		t.Errorf("columns %v (age_group is the analysis's)", got)
	}
	if lv := tb.Predictions.Extra[2].Levels; !slices.Equal(lv, []string{"<0.3", "0.3-0.6", ">=0.6"}) {
		t.Errorf("bins %v", lv)
	}
	r := tb.Predictions.Rows
	if !math.IsNaN(r[1].YPred) || r[2].YPred != 1e300 {
		t.Errorf("y_pred %v %v: NaN and 1e300 go on to the analysis's screening", r[1].YPred, r[2].YPred)
	}
	if !slices.Equal(r[0].Extra, []string{"II", "cam1", "<0.3"}) || !slices.Equal(r[2].Extra, []string{"", "cam1", ">=0.6"}) ||
		r[1].Extra[2] != "0.3-0.6" || r[0].Subject != "p1" || r[0].ID != "a" {
		t.Errorf("rows %+v", r)
	}
}

// Missing columns are named with the file's columns, before any row is read.
func TestReadMissingColumns(t *testing.T) {
	path := writeFile(t, "preds.csv", sampleCSV)
	for _, tc := range []struct {
		change func(*Options)
		attrs  []string
		want   string
	}{
		{func(o *Options) { o.YPred = "prediction" }, nil, `audit.y_pred: preds.csv has no column "prediction" (columns: id, age, pred, skin_tone, camera, brightness, person)`},
		{func(o *Options) { o.Bins = nil }, []string{"skin", "camera"}, `analysis.attributes: preds.csv has no column "skin" (columns: id, age`},
		{func(o *Options) { o.Subject = "subject" }, nil, `audit.subject: preds.csv has no column "subject"`},
		{func(o *Options) { o.Bins = map[string]Edges{"camera": {1}} }, []string{"skin_tone"}, "audit.bins.camera: \"camera\" is not among the audited attributes"},
	} {
		o := options(path)
		tc.change(o)
		_, err := Read(context.Background(), o, tc.attrs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

// Too many unusable rows is an error naming the reasons (the wrong column).
func TestReadRejectFraction(t *testing.T) {
	o := options(writeFile(t, "preds.csv", sampleCSV))
	o.MaxRejectFraction, o.Bins = 0.1, nil
	_, err := Read(context.Background(), o, nil)
	if err == nil || !strings.Contains(err.Error(), "3 of 6 rows could not be loaded") || !strings.Contains(err.Error(), "y_pred_not_a_number") {
		t.Errorf("got %v", err)
	}
}

// Parquet and Arrow files give the same rows as the CSV, numeric columns
// read as numbers and dictionary columns as their values.
func TestReadParquetAndArrow(t *testing.T) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "y_true", Type: arrow.PrimitiveTypes.Int64},
		{Name: "y_pred", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "skin_tone", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float64},
	}, nil))
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{30, 40, 50}, nil)
	b.Field(1).(*array.Float32Builder).AppendValues([]float32{31, 0, 52}, []bool{true, false, true})
	db := b.Field(2).(*array.BinaryDictionaryBuilder)
	db.AppendString("II")
	db.AppendNull()
	db.AppendString("V")
	b.Field(3).(*array.Float64Builder).AppendValues([]float64{0.1, 0.5, 0.9}, nil)
	rec := b.NewRecord()
	defer rec.Release()
	dir := t.TempDir()
	pq, arr := filepath.Join(dir, "p.parquet"), filepath.Join(dir, "p.arrow")
	if err := dataset.WriteParquet(pq, rec); err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteIPC(arr, rec); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{pq, arr} {
		o := DefaultOptions()
		o.File, o.MaxRejectFraction = path, 1
		o.Bins = map[string]Edges{"score": {0.5}}
		h, err := Header(path)
		if err != nil || !slices.Equal(h, []string{"y_true", "y_pred", "skin_tone", "score"}) {
			t.Fatalf("%s: header %v, %v", path, h, err)
		}
		tb, err := Read(context.Background(), &o, []string{"skin_tone", "score"})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r := tb.Predictions.Rows
		if len(r) != 2 || len(tb.Rejected) != 1 || tb.Rejected[0].Reason != ReasonMissingYPred || tb.Rejected[0].Row != 2 {
			t.Fatalf("%s: rows %+v, rejected %+v", path, r, tb.Rejected)
		}
		if r[0].YTrue != 30 || r[0].YPred != 31 || r[0].ID != "1" || !slices.Equal(r[0].Extra, []string{"II", "<0.5"}) ||
			!slices.Equal(r[1].Extra, []string{"V", ">=0.5"}) || r[1].ID != "3" {
			t.Errorf("%s: rows %+v", path, r)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		change func(*Options)
		want   string
	}{
		{func(o *Options) {}, ""},
		{func(o *Options) { o.File = "p.xlsx" }, `unknown table format ".xlsx"`},
		{func(o *Options) { o.YPred = o.YTrue }, `audit.y_pred: "y_true" is also audit.y_true`},
		{func(o *Options) { o.Bins = map[string]Edges{"b": {2, 1}} }, "audit.bins.b: [2 1] must be finite and strictly increasing"},
		{func(o *Options) { o.MaxRejectFraction = 2 }, "audit.max_reject_fraction"},
	} {
		o := DefaultOptions()
		o.File = "p.csv"
		tc.change(&o)
		err := o.Validate()
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}
