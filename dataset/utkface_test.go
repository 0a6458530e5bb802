package dataset

import (
	"context"
	"image/color"
	"maps"
	"path/filepath"
	"testing"
	"time"

	"fairage/internal/testdata"
)

// The shared development set's counts, from its README.md.
var (
	utkGenderCounts    = map[string]int{"female": 9132, "male": 9868}
	utkEthnicityCounts = map[string]int{"white": 8061, "black": 3686, "indian": 3152, "asian": 2763, "others": 1338}
	utkGenderEthnicity = map[string]int{
		"female/asian": 1501, "female/black": 1809, "female/indian": 1388, "female/others": 758, "female/white": 3676,
		"male/asian": 1262, "male/black": 1877, "male/indian": 1764, "male/others": 580, "male/white": 4385,
	}
	// Age decades 0-9 + 10-19, 20-29 + 30-39, ... of the README.
	utkAgeGroupCounts = map[string]int{"0-19": 2482 + 1203, "20-39": 5826 + 3701, "40-59": 1790 + 1854,
		"60+": 1042 + 556 + 410 + 110 + 26}
)

func TestUTKFaceRealIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes 19,000 images; skipped with -short")
	}
	root := testdata.UTKFace(t)
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultIngestOptions()
	opts.Size = 64
	opts.MaxRejectFraction = 0
	pack := filepath.Join(t.TempDir(), "images.pack")
	start := time.Now()
	samples, rejected, err := Ingest(context.Background(), src, opts, pack, nil)
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	t.Logf("ingested %d images in %v (%.0f images/s)", len(samples), el.Round(time.Millisecond), float64(len(samples))/el.Seconds())
	if len(samples) != 19000 || len(rejected) != 0 {
		t.Fatalf("%d samples, %d rejected (first: %v); want 19000 and 0", len(samples), len(rejected), rejected[:min(3, len(rejected))])
	}
	gender, eth, ge, groups := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	dupImages, dupGroups := 0, map[string]bool{}
	for _, s := range samples {
		gender[s.Gender]++
		eth[s.Ethnicity]++
		ge[s.Gender+"/"+s.Ethnicity]++
		groups[s.AgeGroup]++
		if s.NearDupGroup != "" {
			dupImages++
			dupGroups[s.NearDupGroup] = true
		}
		if s.Width != 200 || s.Height != 200 || s.Expression != "" {
			t.Fatalf("%s: %dx%d expression %q; the README says 200x200, no expression", s.ID, s.Width, s.Height, s.Expression)
		}
	}
	for _, c := range []struct {
		name      string
		got, want map[string]int
	}{
		{"gender", gender, utkGenderCounts},
		{"ethnicity", eth, utkEthnicityCounts},
		{"gender x ethnicity", ge, utkGenderEthnicity},
		{"age group", groups, utkAgeGroupCounts},
	} {
		if !maps.Equal(c.got, c.want) {
			t.Errorf("%s counts %v, README says %v", c.name, c.got, c.want)
		}
	}
	if dupImages != 1245 || len(dupGroups) != 598 {
		t.Errorf("%d images in %d near-duplicate groups; README says 1,245 in 598", dupImages, len(dupGroups))
	}
	p, err := OpenPacked(pack)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Len() != 19000 || p.ID(0) != samples[0].ID || p.ID(18999) != samples[18999].ID {
		t.Errorf("packed file has %d images, ids %s..%s", p.Len(), p.ID(0), p.ID(p.Len()-1))
	}
}

func TestUTKFaceFileNameLabels(t *testing.T) {
	root := t.TempDir()
	for i, name := range []string{
		"25_0_0_20170116174525125.jpg.chip.jpg",
		"3_1_2_20161219140530307.jpg.chip.jpg",
		"61_1_20170109142408075.jpg.chip.jpg", // no race field, as in the real set
		"40_1_7_20170101000000000.jpg.chip.jpg",
		"x_0_1_20170101000000000.jpg.chip.jpg",
	} {
		writeFile(t, root, name, encodeJPEG(t, solid(20, 20, color.RGBA{90, uint8(40 * i), 70, 255})))
	}
	writeFile(t, root, "README.txt", []byte("not an image"))
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Len() != 5 {
		t.Fatalf("%d records, want the 5 images", src.Len())
	}
	samples, rejected, err := Ingest(context.Background(), src, testOptions(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range samples {
		got[s.ID] = s.Gender + "/" + s.Ethnicity + "/" + fmtAge(s.Age)
	}
	for _, r := range rejected {
		got[r.ID] = r.Reason
	}
	want := map[string]string{
		"25_0_0_20170116174525125": "male/white/25",
		"3_1_2_20161219140530307":  "female/asian/3",
		"61_1_20170109142408075":   ReasonUnparseableName,
		"40_1_7_20170101000000000": ReasonUnknownValue,
		"x_0_1_20170101000000000":  ReasonInvalidAge,
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	for _, r := range rejected {
		t.Log(r)
	}
}

func TestUTKFaceOpenErrors(t *testing.T) {
	empty := t.TempDir()
	noCols := t.TempDir()
	writeCSV(t, noCols, "metadata.csv", [][]string{{"file", "age"}, {"a.jpg", "3"}})
	tests := []struct {
		name string
		root string
		opts UTKFaceOptions
	}{
		{"missing folder", filepath.Join(empty, "nope"), UTKFaceOptions{}},
		{"no images", empty, UTKFaceOptions{}},
		{"metadata lacks columns", noCols, UTKFaceOptions{}},
		{"bad label mode", noCols, UTKFaceOptions{Labels: "guess"}},
		{"metadata mode without file", empty, UTKFaceOptions{Labels: "metadata"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := OpenUTKFace(tc.root, tc.opts); err == nil {
				t.Error("no error")
			} else {
				t.Log(err)
			}
		})
	}
}
