package dataset

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadExternalPredictionsRejectsBadRowsByNumber(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "preds.csv")
	body := "sample,age_hat\na,31.5\nb,not-a-number\nc,NaN\na,40\n,12\nd,7,extra\ne,22\n"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadExternalPredictions(context.Background(), path, "sample", "age_hat")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.ByID) != 2 || got.ByID["a"] != 31.5 || got.ByID["e"] != 22 {
		t.Fatalf("kept %v", got.ByID)
	}
	want := map[int64]string{2: ReasonInvalidPrediction, 3: ReasonInvalidPrediction, 4: ReasonDuplicateID, 5: ReasonMalformedRow, 6: ReasonMalformedRow}
	if len(got.Rejected) != len(want) {
		t.Fatalf("rejected %v", got.Rejected)
	}
	for _, r := range got.Rejected {
		if want[r.Row] != r.Reason {
			t.Errorf("row %d: reason %s, want %s (%s)", r.Row, r.Reason, want[r.Row], r.Detail)
		}
	}
	// Every input row is accounted for.
	if rows := strings.Count(body, "\n") - 1; len(got.ByID)+len(got.Rejected) != rows {
		t.Errorf("%d kept + %d rejected != %d rows", len(got.ByID), len(got.Rejected), rows)
	}
	if _, err := ReadExternalPredictions(context.Background(), path, "id", "age_hat"); err == nil || !strings.Contains(err.Error(), `no column "id"`) {
		t.Errorf("missing column: %v", err)
	}
}
