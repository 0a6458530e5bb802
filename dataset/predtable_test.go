package dataset

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// A table's own attribute columns survive the Arrow file, binned ones with
// their levels in order, and a plain predictions file still reads.
func TestPredictionTableRoundTrip(t *testing.T) {
	in := &PredictionTable{
		Rows: []Prediction{
			{ID: "a", Split: SplitTest, YTrue: 30, YPred: 31, Extra: []string{"IV", "[0.6,∞)"}},
			{ID: "b", Split: SplitTest, YTrue: 40, YPred: 35, Extra: []string{"", "(-∞,0.3)"}},
			{ID: "c", Split: SplitTest, YTrue: 50, YPred: 55, Extra: []string{"II", "odd"}},
		},
		Extra: []AttrColumn{{Name: "skin tone"}, {Name: "brightness", Levels: []string{"(-∞,0.3)", "[0.3,0.6)", "[0.6,∞)"}}},
	}
	path := filepath.Join(t.TempDir(), "p.arrow")
	if err := WritePredictionTable(path, in); err != nil {
		t.Fatal(err)
	}
	got, err := ReadPredictionTable(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Extra) != 2 || got.Extra[0].Name != "skin tone" || got.Extra[0].Levels != nil ||
		!slices.Equal(got.Extra[1].Levels, in.Extra[1].Levels) {
		t.Errorf("columns %+v", got.Extra)
	}
	for i := range in.Rows {
		if !slices.Equal(got.Rows[i].Extra, in.Rows[i].Extra) || got.Rows[i].ID != in.Rows[i].ID {
			t.Errorf("row %d: %+v, want %+v", i, got.Rows[i], in.Rows[i])
		}
	}
	get, ok := Accessor(got.ExtraNames(), "skin tone")
	if !ok || get(&got.Rows[0]) != "IV" {
		t.Error("accessor of an extra column")
	}
	if get, ok := Accessor(nil, AttrGender); !ok || get(&Prediction{Gender: "female"}) != "female" {
		t.Error("accessor of a standard attribute")
	}
	if _, ok := Accessor(nil, "skin tone"); ok {
		t.Error("accessor of an unknown name")
	}

	plain := filepath.Join(t.TempDir(), "plain.arrow")
	if err := WritePredictions(plain, []Prediction{{ID: "x", YTrue: 1, YPred: 2}}); err != nil {
		t.Fatal(err)
	}
	if tb, err := ReadPredictionTable(plain); err != nil || len(tb.Extra) != 0 || len(tb.Rows) != 1 {
		t.Errorf("plain table: %+v, %v", tb, err)
	}
}

func TestDictColumnOrdered(t *testing.T) {
	vals := []string{"20-39", "", "0-19", "60+"}
	arr := DictColumn(len(vals), func(i int) string { return vals[i] }, []string{"0-19", "20-39", "40-59", "60+"})
	defer arr.Release()
	d := arr.(*array.Dictionary)
	if !d.DataType().(*arrow.DictionaryType).Ordered || d.Dictionary().Len() != 4 || !d.IsNull(1) {
		t.Fatalf("dictionary %v", d)
	}
	if d.GetValueIndex(0) != 1 || d.GetValueIndex(2) != 0 || d.GetValueIndex(3) != 3 {
		t.Errorf("codes %v", d.Indices())
	}
	if AgeGroupLabels([]float64{20, 40, 60})[3] != "60+" {
		t.Error("age labels")
	}
}
