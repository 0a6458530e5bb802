package dataset

import (
	"context"
	"image/color"
	"math"
	"testing"
)

// appaFixture writes a small APPA-REAL release: three splits, face crops
// (24×24) and full images (40×30), one category row without an image row.
func appaFixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	gtHeader := []string{"file_name", "num_ratings", "apparent_age_avg", "apparent_age_std", "real_age"}
	catHeader := []string{"file", "gender", "race", "makeup", "time", "happiness"}
	writeCSV(t, root, "gt_avg_train.csv", [][]string{gtHeader,
		{"000000.jpg", "36", "25.4", "3.1", "24"},
		{"000001.jpg", "38", "61.2", "5.0", "65"},
	})
	writeCSV(t, root, "allcategories_train.csv", [][]string{catHeader,
		{"000000.jpg", "M", "caucasian", "nomakeup", "modernphoto", "happy"},
		{"000001.jpg", "F", "afroamerican", "makeup", "oldphoto", "slightlyhappy"},
		{"009999.jpg", "F", "asian", "makeup", "modernphoto", "neutral"},
	})
	writeCSV(t, root, "gt_avg_valid.csv", [][]string{gtHeader, {"004113.jpg", "40", "8.5", "2", "9"}})
	writeCSV(t, root, "allcategories_valid.csv", [][]string{catHeader, {"004113.jpg", "F", "asian", "nomakeup", "modernphoto", "neutral"}})
	writeCSV(t, root, "gt_avg_test.csv", [][]string{gtHeader, {"005613.jpg", "33", "44", "4.2", "41"}})
	writeCSV(t, root, "allcategories_test.csv", [][]string{catHeader, {"005613.jpg", "M", "caucasian", "nomakeup", "modernphoto", "other"}})
	// Distinct images: byte-identical files with other labels would be
	// conflicting duplicates.
	for i, f := range []string{"train/000000.jpg", "train/000001.jpg", "valid/004113.jpg", "test/005613.jpg"} {
		writeFile(t, root, f, encodeJPEG(t, solid(40, 30, color.RGBA{180, uint8(140 + 20*i), 120, 255})))
		writeFile(t, root, f+"_face.jpg", encodeJPEG(t, solid(24, 24, color.RGBA{180, uint8(140 + 20*i), 120, 255})))
	}
	return root
}

func TestAPPARealRoundTripsAttributesAndSplits(t *testing.T) {
	root := appaFixture(t)
	type row struct {
		split, gender, ethnicity, expression string
		age, realAge                         float64
	}
	want := map[string]row{
		"000000": {"train", "male", "caucasian", "happy", 25.4, 24},
		"000001": {"train", "female", "afroamerican", "slightlyhappy", 61.2, 65},
		"004113": {"valid", "female", "asian", "neutral", 8.5, 9},
		"005613": {"test", "male", "caucasian", "other", 44, 41},
	}
	tests := []struct {
		name      string
		opts      APPARealOptions
		width     int32
		targetAge func(row) float64
	}{
		{"apparent age, face crops", APPARealOptions{}, 24, func(r row) float64 { return r.age }},
		{"real age, full images", APPARealOptions{Target: "real", FullImages: true}, 40, func(r row) float64 { return r.realAge }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, err := OpenAPPAReal(root, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			samples, rejected, err := Ingest(context.Background(), src, testOptions(), "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(samples)+len(rejected) != src.Len() || len(samples) != 4 || len(rejected) != 1 {
				t.Fatalf("%d rows in, %d samples, rejected %v", src.Len(), len(samples), rejected)
			}
			if r := rejected[0]; r.Reason != ReasonUnmatchedRow || r.Source != "allcategories_train.csv" || r.Row != 3 {
				t.Errorf("rejection %+v, want unmatched allcategories_train.csv row 3", r)
			}
			for _, s := range samples {
				w, ok := want[s.ID]
				if !ok {
					t.Fatalf("unexpected sample %q", s.ID)
				}
				got := row{s.Split, s.Gender, s.Ethnicity, s.Expression, s.Age, s.RealAge}
				w.age = tc.targetAge(w)
				if got != w {
					t.Errorf("%s: got %+v, want %+v", s.ID, got, w)
				}
				if s.Width != tc.width {
					t.Errorf("%s: width %d, want %d (%s)", s.ID, s.Width, tc.width, s.Path)
				}
			}
			// The dataset's splits survive Split in auto mode.
			split, err := Split(samples, DefaultSplitOptions())
			if err != nil {
				t.Fatal(err)
			}
			for i := range split {
				if split[i].Split != samples[i].Split {
					t.Errorf("%s moved from %s to %s", split[i].ID, samples[i].Split, split[i].Split)
				}
			}
		})
	}
}

func TestAPPARealUnknownCodesAreRejected(t *testing.T) {
	root := appaFixture(t)
	writeCSV(t, root, "allcategories_valid.csv", [][]string{
		{"file", "gender", "race", "makeup", "time", "happiness"},
		{"004113.jpg", "X", "asian", "nomakeup", "modernphoto", "neutral"},
	})
	src, err := OpenAPPAReal(root, APPARealOptions{Splits: []string{"valid"}})
	if err != nil {
		t.Fatal(err)
	}
	samples, rejected, err := Ingest(context.Background(), src, testOptions(), "", nil)
	if err == nil || len(samples) != 0 || len(rejected) != 1 || rejected[0].Reason != ReasonUnknownValue {
		t.Fatalf("err %v, samples %d, rejected %v; want gender X rejected", err, len(samples), rejected)
	}
	t.Log(rejected[0])
}

func TestAPPARealOpenErrors(t *testing.T) {
	root := appaFixture(t)
	tests := []struct {
		name string
		root string
		opts APPARealOptions
	}{
		{"not a release", t.TempDir(), APPARealOptions{}},
		{"bad target", root, APPARealOptions{Target: "estimated"}},
		{"bad split", root, APPARealOptions{Splits: []string{"holdout"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := OpenAPPAReal(tc.root, tc.opts); err == nil {
				t.Error("no error")
			} else {
				t.Log(err)
			}
		})
	}
}

func TestAPPARealMissingCategoriesMeansUnknown(t *testing.T) {
	root := appaFixture(t)
	// Drop the category file: the image is still ingested, labels unknown.
	if err := removeFile(root, "allcategories_test.csv"); err != nil {
		t.Fatal(err)
	}
	src, err := OpenAPPAReal(root, APPARealOptions{Splits: []string{"test"}})
	if err != nil {
		t.Fatal(err)
	}
	samples, _, err := Ingest(context.Background(), src, testOptions(), "", nil)
	if err != nil || len(samples) != 1 {
		t.Fatalf("err %v, %d samples", err, len(samples))
	}
	if s := samples[0]; s.Gender != "" || s.Ethnicity != "" || s.Expression != "" || math.IsNaN(s.RealAge) {
		t.Errorf("got %+v, want unknown attributes and a real age", s)
	}
}
