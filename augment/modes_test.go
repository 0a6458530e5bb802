package augment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"fairage/dataset"
	"fairage/regressor"
)

// packedFixture writes n distinct test images (h×w) to a packed file and
// returns it open, with their ids.
func packedFixture(t *testing.T, n int) (*dataset.Packed, []string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "images.pack")
	pw, err := dataset.CreatePacked(path, h, w)
	if err != nil {
		t.Fatal(err)
	}
	base := testImage(h, w)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("s%03d", i)
		img := append([]byte(nil), base...)
		for j := range img {
			img[j] += uint8(i) // distinct images
		}
		if err := pw.Append(ids[i], img); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := dataset.OpenPacked(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, ids
}

// planFixture gives sample i i%3 copies beyond the original.
func planFixture(ids []string) []dataset.PlanRow {
	var plan []dataset.PlanRow
	for i, id := range ids {
		for c := 0; c <= i%3; c++ {
			plan = append(plan, dataset.PlanRow{SampleID: id, Copy: int32(c), AugSeed: uint64(1000*i + c), Weight: 1})
		}
	}
	return plan
}

type countingTracker struct{ n, finished atomic.Int64 }

func (c *countingTracker) Add(n int) { c.n.Add(int64(n)) }
func (c *countingTracker) Finish()   { c.finished.Add(1) }

func TestMaterialize(t *testing.T) {
	src, ids := packedFixture(t, 12)
	plan := planFixture(ids)
	tests := []struct {
		name      string
		originals bool
		workers   int
	}{
		{"copies only, one worker", false, 1},
		{"copies only, three workers", false, 3},
		{"originals too", true, 2},
	}
	var reference []byte // the first file's images: worker count must not matter
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(Options{Mode: ModeOffline, Originals: tc.originals, Workers: tc.workers, Recipe: everything()})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "aug.pack")
			tr := &countingTracker{}
			stats, err := a.Materialize(t.Context(), src, plan, path, tr)
			if err != nil {
				t.Fatal(err)
			}
			out, err := dataset.OpenPacked(path)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			if out.Len() != len(plan) || out.Height() != h || out.Width() != w {
				t.Fatalf("file holds %d images of %dx%d, want %d of %dx%d", out.Len(), out.Height(), out.Width(), len(plan), h, w)
			}
			if tr.n.Load() != int64(len(plan)) || tr.finished.Load() != 1 {
				t.Fatalf("progress saw %d images and %d finishes", tr.n.Load(), tr.finished.Load())
			}
			var all []byte
			for i, row := range plan {
				if got := out.ID(i); got != CopyID(row.SampleID, row.Copy) {
					t.Fatalf("image %d has id %q, want %q", i, got, CopyID(row.SampleID, row.Copy))
				}
				j, _ := src.Index(row.SampleID)
				orig, img := src.Image(j), out.Image(i)
				same := bytes.Equal(orig, img)
				if augmented := row.Copy > 0 || tc.originals; augmented == same {
					t.Fatalf("row %d (copy %d): augmented=%v but unchanged=%v", i, row.Copy, augmented, same)
				}
				if row.Copy > 0 {
					all = append(all, img...)
				}
			}
			wantAug := 0
			for _, r := range plan {
				if r.Copy > 0 || tc.originals {
					wantAug++
				}
			}
			if stats.Images != len(plan) || stats.Augmented != wantAug {
				t.Fatalf("stats %+v, want %d images, %d augmented", stats, len(plan), wantAug)
			}
			if reference == nil {
				reference = all
			} else if !bytes.Equal(reference, all) {
				t.Fatal("copies differ between runs with other worker counts")
			}
		})
	}
}

func TestMaterializeFailsCleanly(t *testing.T) {
	src, ids := packedFixture(t, 6)
	a, err := New(Options{Mode: ModeOffline, Workers: 2, Recipe: everything()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ctx    func() context.Context
		plan   []dataset.PlanRow
		wantIs error
		want   string
	}{
		{name: "cancelled", ctx: func() context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}, plan: planFixture(ids), wantIs: context.Canceled},
		{name: "unknown sample", ctx: t.Context, plan: []dataset.PlanRow{{SampleID: "nobody", Copy: 1}},
			want: `augment: plan row 0: sample "nobody" is not in the packed images`},
		{name: "duplicate row", ctx: t.Context, plan: []dataset.PlanRow{{SampleID: ids[0], Copy: 1}, {SampleID: ids[0], Copy: 1}},
			want: "duplicate id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "aug.pack")
			_, err := a.Materialize(tc.ctx(), src, tc.plan, path, nil)
			if err == nil {
				t.Fatal("succeeded")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("error %v, want %v", err, tc.wantIs)
			}
			if tc.want != "" && !bytes.Contains([]byte(err.Error()), []byte(tc.want)) {
				t.Fatalf("error %q, want it to contain %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Fatalf("left %d files behind, e.g. %s", len(entries), entries[0].Name())
			}
		})
	}
}

func TestOnline(t *testing.T) {
	src := testImage(h, w)
	tests := []struct {
		name      string
		originals bool
		ex        regressor.Example
		changes   bool
	}{
		{"original kept", false, regressor.Example{Copy: 0, AugSeed: 5}, false},
		{"original augmented on request", true, regressor.Example{Copy: 0, AugSeed: 5}, true},
		{"copy always augmented", false, regressor.Example{Copy: 2, AugSeed: 6}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(Options{Mode: ModeOnline, Originals: tc.originals, Recipe: everything()})
			if err != nil {
				t.Fatal(err)
			}
			aug := a.Online()
			e1, e1again, e2 := make([]byte, len(src)), make([]byte, len(src)), make([]byte, len(src))
			aug(e1, src, h, w, tc.ex, 1)
			aug(e1again, src, h, w, tc.ex, 1)
			aug(e2, src, h, w, tc.ex, 2)
			if changed := !bytes.Equal(e1, src); changed != tc.changes {
				t.Fatalf("image changed: %v, want %v", changed, tc.changes)
			}
			if !bytes.Equal(e1, e1again) {
				t.Fatal("same epoch gave different pixels")
			}
			if tc.changes && bytes.Equal(e1, e2) {
				t.Fatal("epochs 1 and 2 gave the same pixels")
			}
		})
	}
}

func TestContactSheet(t *testing.T) {
	src, ids := packedFixture(t, 6)
	samples := make([]dataset.Sample, len(ids))
	for i, id := range ids {
		samples[i] = dataset.Sample{ID: id, Gender: []string{"female", "male"}[i%2], Ethnicity: []string{"asian", ""}[i/3%2]}
	}
	rows := SheetRows(samples, planFixture(ids), []string{"gender", "ethnicity"}, 3)
	want := []string{"female×asian", "female×unknown", "male×asian", "male×unknown"}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i, r := range rows {
		if r.Label != want[i] || len(r.Seeds) != 3 {
			t.Fatalf("row %d: %+v, want label %s with 3 seeds", i, r, want[i])
		}
	}
	// s002 (female×asian) has two copies in the plan, the most of its group.
	if rows[0].SampleID != "s002" || rows[0].Seeds[0] != 2001 || rows[0].Seeds[1] != 2002 {
		t.Fatalf("row 0 is %+v, want s002 with its plan seeds 2001, 2002 first", rows[0])
	}
	a, err := New(Options{Mode: ModeOffline, Recipe: DefaultRecipe()})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := a.ContactSheet(&buf, src, rows); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dy() < 4*h || b.Dx() < 4*w {
		t.Fatalf("sheet is %v, too small for 4 rows of 4 images", b)
	}
}

// Labels are measured in the real font, so none runs into its neighbour
// even with tiles narrower than the headings, and × has a glyph.
func TestContactSheetLabelsDoNotOverlap(t *testing.T) {
	face, err := labelFace()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := face.GlyphAdvance('×'); !ok {
		t.Fatal("the label font has no ×")
	}
	rows := []SheetRow{{Label: "female×group_c", Seeds: []uint64{1, 2}}, {Label: "a"}}
	l := layoutSheet(face, rows, 16)
	if l.labelW <= textWidth(face, "female×group_c") {
		t.Errorf("label column %d px is narrower than its widest label", l.labelW)
	}
	if l.colX(1)-l.colX(0) <= textWidth(face, "original") {
		t.Errorf("the original column (%d px) is narrower than its heading", l.colX(1)-l.colX(0))
	}
	if l.width < l.colX(1)+textWidth(face, "augmented copies") {
		t.Errorf("sheet %d px cuts the copies' heading", l.width)
	}
}
