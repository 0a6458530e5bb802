package regressor

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"fairage/dataset"
	"fairage/internal/progress"
)

// PredictPacked hands the model the examples' pack positions in order,
// keeps usable ages, and turns every result with a reason into a rejected
// row (NaN age, never averaged in); a model returning the wrong number of
// results, or no images, is an error.
func TestPredictPacked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.pack")
	w, err := dataset.CreatePacked(path, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		if err := w.Append(id, make([]byte, 12)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	pk, err := dataset.OpenPacked(path)
	if err != nil {
		t.Fatal(err)
	}
	defer pk.Close()
	data := Data{Images: pk, Examples: []Example{{Index: 2, ID: "c"}, {Index: 0, ID: "a"}, {Index: 1, ID: "b"}}}
	type res struct {
		age    float64
		reason string
	}
	var seen []int
	predict := func(_ context.Context, _ *dataset.Packed, index []int, _ progress.Tracker) ([]res, error) {
		seen = index
		return []res{{30, ""}, {math.Inf(1), "non_finite_output"}, {12, ""}}, nil
	}
	result := func(r res) (float64, string, string) { return r.age, r.reason, "detail " + r.reason }
	out, err := PredictPacked(context.Background(), data, "model.onnx", nil, predict, result)
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 || seen[0] != 2 || seen[1] != 0 || seen[2] != 1 {
		t.Errorf("pack positions %v, want [2 0 1]", seen)
	}
	if out.Ages[0] != 30 || !math.IsNaN(out.Ages[1]) || out.Ages[2] != 12 {
		t.Errorf("ages %v", out.Ages)
	}
	if len(out.Rejected) != 1 || out.Rejected[0].Index != 1 || out.Rejected[0].ID != "a" ||
		out.Rejected[0].Source != "model.onnx" || out.Rejected[0].Reason != "non_finite_output" {
		t.Errorf("rejected %+v", out.Rejected)
	}

	short := func(context.Context, *dataset.Packed, []int, progress.Tracker) ([]res, error) {
		return []res{{1, ""}}, nil
	}
	if _, err := PredictPacked(context.Background(), data, "m", nil, short, result); err == nil || !strings.Contains(err.Error(), "number of results") {
		t.Errorf("short result: %v", err)
	}
	if _, err := PredictPacked(context.Background(), Data{}, "m", nil, predict, result); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("no images: %v", err)
	}
}
