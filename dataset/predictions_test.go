package dataset

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

func TestPredictionsSubjectRoundTrip(t *testing.T) {
	rows := []Prediction{
		{ID: "a", Split: SplitTest, YTrue: 30, YPred: 31, Gender: "female", Expression: "happy", Subject: "s1"},
		{ID: "b", Split: SplitTest, YTrue: 30, YPred: 29, Gender: "female", Expression: "neutral", Subject: "s1"},
		{ID: "c", Split: SplitTest, YTrue: 50, YPred: 52},
	}
	path := filepath.Join(t.TempDir(), "predictions.arrow")
	if err := WritePredictions(path, rows); err != nil {
		t.Fatal(err)
	}
	back, err := ReadPredictions(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rows) {
		t.Errorf("round trip:\n got %+v\nwant %+v", back, rows)
	}
}

// TestPredictionsWithoutSubject reads a table written before the subject
// column existed (the first eight columns of today's layout).
func TestPredictionsWithoutSubject(t *testing.T) {
	old := arrow.NewSchema(PredictionsSchema.Fields()[:8], nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, old)
	defer b.Release()
	dict := func(i int, v string) {
		db := b.Field(i).(*array.BinaryDictionaryBuilder)
		if v == "" {
			db.AppendNull()
		} else if err := db.AppendString(v); err != nil {
			t.Fatal(err)
		}
	}
	b.Field(0).(*array.StringBuilder).Append("x")
	dict(1, SplitTest)
	b.Field(2).(*array.Float64Builder).Append(40)
	b.Field(3).(*array.Float64Builder).Append(42)
	dict(4, "male")
	dict(5, "")
	dict(6, "")
	dict(7, "")
	rec := b.NewRecord()
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "old.arrow")
	if err := WriteIPC(path, rec); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPredictions(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Prediction{{ID: "x", Split: SplitTest, YTrue: 40, YPred: 42, Gender: "male"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
