package dataset

import (
	"bytes"
	"context"
	"errors"

	"image/color"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// badRowsFixture builds a UTKFace-layout folder (images/ + metadata.csv)
// with one row per problem Ingest must catch, and returns the root and,
// per id in row order, the expected rejection reason ("" for ingested).
func badRowsFixture(t *testing.T) (string, []struct{ id, reason string }) {
	t.Helper()
	root := t.TempDir()
	outside := t.TempDir()
	face := encodeJPEG(t, solid(24, 24, color.RGBA{200, 120, 90, 255}))
	writeFile(t, root, "images/ok_a.jpg", face)
	// Each accepted row needs its own image: a byte-identical copy under
	// another name with other labels is a conflicting duplicate.
	writeFile(t, root, "images/ok_b.jpg", encodeJPEG(t, solid(24, 24, color.RGBA{20, 120, 190, 255})))
	writeFile(t, root, "images/neg.jpg", face)
	writeFile(t, root, "images/unk.jpg", face)
	writeFile(t, root, "images/trunc.jpg", face[:len(face)/2])
	big := encodeJPEG(t, noisyImage(64, 64, 1))
	writeFile(t, root, "images/trunc_scan.jpg", big[:len(big)*9/10]) // cut inside the pixel data
	writeFile(t, root, "images/notimg.jpg", []byte("this is not an image\n"))
	writeFile(t, root, "images/ok_png.png", encodePNG(t, solid(20, 20, color.RGBA{10, 200, 30, 255})))
	writeFile(t, root, "images/wide.jpg", encodeJPEG(t, solid(40, 20, color.RGBA{50, 50, 220, 255})))
	writeFile(t, outside, "secret.jpg", face)
	if err := os.Symlink(filepath.Join(outside, "secret.jpg"), filepath.Join(root, "images", "link.jpg")); err != nil {
		t.Fatal(err)
	}
	writeCSV(t, root, "metadata.csv", [][]string{
		{"file", "age", "gender", "ethnicity", "expression", "near_dup_group"},
		{"ok_a.jpg", "25", "male", "white", "", ""},
		{"missing.jpg", "30", "female", "black", "", ""},
		{"trunc.jpg", "40", "male", "asian", "", ""},
		{"trunc_scan.jpg", "41", "male", "asian", "", ""},
		{"neg.jpg", "-3", "female", "indian", "", ""},
		{"unk.jpg", "33", "x", "white", "", ""},
		{"./ok_a.jpg", "25", "male", "white", "", ""},
		{"../../etc/passwd", "30", "male", "white", "", ""},
		{"link.jpg", "30", "male", "white", "", ""},
		{"/etc/hostname", "30", "male", "white", "", ""},
		{"ok_c.jpg", "20"},
		{"abc.jpg", "abc", "male", "white", "", ""},
		{"ok_png.png", "50", "female", "others", "", ""},
		{"wide.jpg", "61", "Female", "1", "", ""},
		{"notimg.jpg", "22", "male", "white", "", ""},
		{"ok_b.jpg", "8", "male", "black", "", "nd1"},
	})
	return root, []struct{ id, reason string }{
		{"ok_a", ""},
		{"missing", ReasonMissingFile},
		{"trunc", ReasonUndecodable},
		{"trunc_scan", ReasonUndecodable},
		{"neg", ReasonAgeOutOfRange},
		{"unk", ReasonUnknownValue},
		{"ok_a", ReasonDuplicateFile},
		{"../../etc/passwd", ReasonPathEscapes},
		{"link", ReasonPathEscapes},
		{"/etc/hostname", ReasonPathEscapes},
		{"ok_c", ReasonMalformedRow},
		{"abc", ReasonInvalidAge},
		{"ok_png", ""},
		{"wide", ""},
		{"notimg", ReasonUndecodable},
		{"ok_b", ""},
	}
}

func TestIngestRejectsBadRowsAndKeepsTheRest(t *testing.T) {
	root, want := badRowsFixture(t)
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	samples, rejected, err := Ingest(context.Background(), src, testOptions(), filepath.Join(t.TempDir(), "images.pack"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(samples) + len(rejected); got != src.Len() || got != len(want) {
		t.Fatalf("rows in %d (want %d) != samples %d + rejected %d", src.Len(), len(want), len(samples), len(rejected))
	}
	var wantSamples []string
	var wantRejected []string
	for _, w := range want {
		if w.reason == "" {
			wantSamples = append(wantSamples, w.id)
		} else {
			wantRejected = append(wantRejected, w.id+":"+w.reason)
		}
	}
	var gotSamples, gotRejected []string
	for _, s := range samples {
		gotSamples = append(gotSamples, s.ID)
	}
	for _, r := range rejected {
		gotRejected = append(gotRejected, r.ID+":"+r.Reason)
		if r.Source != "metadata.csv" || r.Row <= 0 || r.Detail == "" {
			t.Errorf("rejection lacks its place or detail: %+v", r)
		}
	}
	if !slices.Equal(gotSamples, wantSamples) {
		t.Errorf("samples %v, want %v", gotSamples, wantSamples)
	}
	if !slices.Equal(gotRejected, wantRejected) {
		t.Errorf("rejected\n %v\nwant\n %v", gotRejected, wantRejected)
	}
	for _, r := range rejected {
		t.Logf("%s [%s]", r, r.Reason)
	}
	// The message names file, row and column, as the stage prints it.
	for _, r := range rejected {
		if r.ID == "neg" {
			if got, want := r.String(), `metadata.csv row 5: column age: "-3" is outside [0, 120]`; got != want {
				t.Errorf("message %q, want %q", got, want)
			}
		}
	}
	byID := map[string]Sample{}
	for _, s := range samples {
		byID[s.ID] = s
	}
	if s := byID["wide"]; s.Width != 40 || s.Height != 20 || s.AgeGroup != "60+" || s.Gender != "female" || s.Ethnicity != "black" {
		t.Errorf("wide.jpg: got %+v; want 40x20, 60+, female, black (code 1)", s)
	}
	if s := byID["ok_b"]; s.NearDupGroup != "nd1" || s.AgeGroup != "0-19" || s.Path != "images/ok_b.jpg" || len(s.SHA256) != 64 {
		t.Errorf("ok_b.jpg: got %+v", s)
	}
}

func TestIngestFailsAboveMaxRejectFraction(t *testing.T) {
	root, want := badRowsFixture(t)
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.MaxRejectFraction = 0.1
	pack := filepath.Join(t.TempDir(), "images.pack")
	samples, rejected, err := Ingest(context.Background(), src, opts, pack, nil)
	var tooMany *TooManyRejectionsError
	if !errors.As(err, &tooMany) {
		t.Fatalf("err = %v, want *TooManyRejectionsError", err)
	}
	if tooMany.Rows != len(want) || tooMany.Rejected != len(rejected) || len(samples)+len(rejected) != len(want) {
		t.Errorf("summary %d of %d rows; got %d samples and %d rejected", tooMany.Rejected, tooMany.Rows, len(samples), len(rejected))
	}
	counts := map[string]int{}
	for _, c := range tooMany.ByReason {
		counts[c.Reason] = c.Count
	}
	if counts[ReasonPathEscapes] != 3 || counts[ReasonUndecodable] != 3 || counts[ReasonDuplicateFile] != 1 {
		t.Errorf("counts by reason %v", tooMany.ByReason)
	}
	if _, err := os.Stat(pack); !os.IsNotExist(err) {
		t.Errorf("a failed ingest left a packed file (stat err %v)", err)
	}
	t.Log(err)
}

// colourFixture writes n PNG images of distinct colours listed in a
// metadata.csv, and returns the root and the colours by id.
func colourFixture(t *testing.T, n int) (string, map[string]color.RGBA) {
	t.Helper()
	root := t.TempDir()
	rows := [][]string{{"file", "age", "gender", "ethnicity"}}
	colours := map[string]color.RGBA{}
	for i := range n {
		c := color.RGBA{uint8(i * 7), uint8(255 - i*5), uint8(i * 13 % 256), 255}
		id := "img" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		colours[id] = c
		writeFile(t, root, "images/"+id+".png", encodePNG(t, solid(30+i%5, 30, c)))
		rows = append(rows, []string{id + ".png", "30", "female", "white"})
	}
	writeCSV(t, root, "metadata.csv", rows)
	return root, colours
}

func TestIngestPackedReadsBackWithIdsAndPixels(t *testing.T) {
	root, colours := colourFixture(t, 40)
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.MaxRejectFraction = 0
	pack := filepath.Join(t.TempDir(), "images.pack")
	samples, rejected, err := Ingest(context.Background(), src, opts, pack, nil)
	if err != nil || len(rejected) != 0 {
		t.Fatalf("err %v, rejected %v", err, rejected)
	}
	p, err := OpenPacked(pack)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Len() != len(samples) || p.Height() != 16 || p.Width() != 16 {
		t.Fatalf("packed %d images of %dx%d, want %d of 16x16", p.Len(), p.Height(), p.Width(), len(samples))
	}
	for i, s := range samples {
		if p.ID(i) != s.ID {
			t.Fatalf("packed image %d is %q, sample is %q", i, p.ID(i), s.ID)
		}
		c := colours[s.ID]
		px := p.Image(i)
		for j := 0; j < len(px); j += 3 {
			if px[j] != c.R || px[j+1] != c.G || px[j+2] != c.B {
				t.Fatalf("%s pixel %d = %v, want %v", s.ID, j/3, px[j:j+3], c)
			}
		}
	}
}

func TestIngestIsDeterministicAcrossWorkerCounts(t *testing.T) {
	root, _ := badRowsFixture(t)
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var first []byte
	var firstSamples []Sample
	for _, wk := range []struct{ workers, window int }{{1, 1}, {3, 2}, {8, 64}} {
		opts := testOptions()
		opts.Workers, opts.Window = wk.workers, wk.window
		pack := filepath.Join(t.TempDir(), "images.pack")
		samples, _, err := Ingest(context.Background(), src, opts, pack, nil)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(pack)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first, firstSamples = data, samples
			continue
		}
		if !bytes.Equal(data, first) {
			t.Errorf("workers %d window %d: packed file differs", wk.workers, wk.window)
		}
		if len(samples) != len(firstSamples) {
			t.Fatalf("workers %d: %d samples, want %d", wk.workers, len(samples), len(firstSamples))
		}
		for i := range samples {
			a, b := samples[i], firstSamples[i]
			if a.ID != b.ID || a.SHA256 != b.SHA256 || a.Age != b.Age {
				t.Errorf("workers %d: sample %d differs: %+v vs %+v", wk.workers, i, a, b)
			}
		}
	}
}

func TestIngestFit(t *testing.T) {
	red := color.RGBA{255, 0, 0, 255}
	tests := []struct {
		name       string
		fit        Fit
		corner     [3]byte // top-left pixel of the 16×16 output
		centre     [3]byte
		cornerName string
	}{
		{"crop keeps the centre square", FitCrop, [3]byte{255, 0, 0}, [3]byte{255, 0, 0}, "red"},
		{"pad adds black bars", FitPad, [3]byte{0, 0, 0}, [3]byte{255, 0, 0}, "black"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeFile(t, root, "images/w.png", encodePNG(t, solid(64, 32, red)))
			writeCSV(t, root, "metadata.csv", [][]string{{"file", "age", "gender", "ethnicity"}, {"w.png", "5", "", ""}})
			src, err := OpenUTKFace(root, UTKFaceOptions{})
			if err != nil {
				t.Fatal(err)
			}
			opts := testOptions()
			opts.Fit = tc.fit
			pack := filepath.Join(t.TempDir(), "p")
			if _, _, err := Ingest(context.Background(), src, opts, pack, nil); err != nil {
				t.Fatal(err)
			}
			p, err := OpenPacked(pack)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			px := p.Image(0)
			if got := [3]byte(px[0:3]); got != tc.corner {
				t.Errorf("corner %v, want %s", got, tc.cornerName)
			}
			c := (8*16 + 8) * 3
			if got := [3]byte(px[c : c+3]); got != tc.centre {
				t.Errorf("centre %v, want red", got)
			}
		})
	}
}

func TestIngestHonoursCancelledContext(t *testing.T) {
	root, _ := colourFixture(t, 10)
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	pack := filepath.Join(t.TempDir(), "images.pack")
	_, _, err = Ingest(ctx, src, testOptions(), pack, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := os.Stat(pack); !os.IsNotExist(err) {
		t.Errorf("a cancelled ingest left a packed file")
	}
}

func TestIngestOptionErrors(t *testing.T) {
	root, _ := colourFixture(t, 1)
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		modify func(*IngestOptions)
	}{
		{"zero size", func(o *IngestOptions) { o.Size = 0 }},
		{"bad fit", func(o *IngestOptions) { o.Fit = "stretch" }},
		{"bad resample", func(o *IngestOptions) { o.Resample = "lanczos" }},
		{"inverted ages", func(o *IngestOptions) { o.MinAge, o.MaxAge = 50, 10 }},
		{"groups above min age", func(o *IngestOptions) { o.AgeGroups = AgeGroups{Edges: []float64{10, 20}} }},
		{"reject fraction above 1", func(o *IngestOptions) { o.MaxRejectFraction = 2 }},
		{"allowed for unknown attribute", func(o *IngestOptions) { o.Allowed = map[string][]string{"mood": {"a"}} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := testOptions()
			tc.modify(&opts)
			if _, _, err := Ingest(context.Background(), src, opts, "", nil); err == nil {
				t.Error("Ingest accepted bad options")
			} else {
				t.Log(err)
			}
		})
	}
}

func TestIngestAgeGroupsFromEdgesOnly(t *testing.T) {
	root, _ := colourFixture(t, 2) // ages 30
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.AgeGroups = AgeGroups{Edges: []float64{0, 18, 65}}
	samples, _, err := Ingest(context.Background(), src, opts, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if samples[0].AgeGroup != "18-64" {
		t.Errorf("age group %q, want 18-64", samples[0].AgeGroup)
	}
}

func TestIngestAllowedOverridesVocabulary(t *testing.T) {
	root, _ := colourFixture(t, 3) // every row is female, white
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions()
	opts.Allowed = map[string][]string{AttrEthnicity: {"caucasian"}}
	samples, rejected, err := Ingest(context.Background(), src, opts, "", nil)
	var tooMany *TooManyRejectionsError
	if !errors.As(err, &tooMany) {
		t.Fatalf("err = %v; with every row rejected want *TooManyRejectionsError even at max fraction 1", err)
	}
	if len(samples) != 0 || len(rejected) != 3 || rejected[0].Reason != ReasonUnknownValue {
		t.Errorf("got %d samples, rejected %v", len(samples), rejected)
	}
}

func TestAgeGroups(t *testing.T) {
	tests := []struct {
		edges  []float64
		age    float64
		want   string
		labels []string
	}{
		{[]float64{0, 20, 40, 60}, 0, "0-19", nil},
		{[]float64{0, 20, 40, 60}, 19.9, "0-19", nil},
		{[]float64{0, 20, 40, 60}, 20, "20-39", nil},
		{[]float64{0, 20, 40, 60}, 116, "60+", nil},
		{[]float64{0, 12.5}, 3, "0-12.5", nil},
		{[]float64{5, 10}, 3, "", nil},
		{[]float64{0, 18}, 30, "adult", []string{"minor", "adult"}},
	}
	for _, tc := range tests {
		g, err := NewAgeGroups(tc.edges, tc.labels)
		if err != nil {
			t.Fatal(err)
		}
		if got := g.Label(tc.age); got != tc.want {
			t.Errorf("edges %v age %g: %q, want %q", tc.edges, tc.age, got, tc.want)
		}
	}
	if !slices.Equal(DefaultAgeGroups().Labels, []string{"0-19", "20-39", "40-59", "60+"}) {
		t.Errorf("default labels %v", DefaultAgeGroups().Labels)
	}
	for _, bad := range [][]float64{nil, {10, 5}, {0, 0}} {
		if _, err := NewAgeGroups(bad, nil); err == nil {
			t.Errorf("edges %v accepted", bad)
		}
	}
}

func TestIngestFileLimits(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, root string)
		modify func(*IngestOptions)
		reason string
	}{
		{"too many pixels", func(t *testing.T, root string) {
			writeFile(t, root, "images/x.png", encodePNG(t, solid(20, 20, color.RGBA{1, 1, 1, 255})))
		}, func(o *IngestOptions) { o.MaxImagePixels = 399 }, ReasonImageTooLarge},
		{"file too large", func(t *testing.T, root string) {
			writeFile(t, root, "images/x.png", encodePNG(t, solid(20, 20, color.RGBA{1, 1, 1, 255})))
		}, func(o *IngestOptions) { o.MaxFileBytes = 10 }, ReasonUnreadable},
		{"a folder, not a file", func(t *testing.T, root string) {
			if err := os.MkdirAll(filepath.Join(root, "images", "x.png"), 0o755); err != nil {
				t.Fatal(err)
			}
		}, func(*IngestOptions) {}, ReasonUnreadable},
		{"dangling symlink", func(t *testing.T, root string) {
			if err := os.MkdirAll(filepath.Join(root, "images"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink("gone.png", filepath.Join(root, "images", "x.png")); err != nil {
				t.Fatal(err)
			}
		}, func(*IngestOptions) {}, ReasonMissingFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			tc.setup(t, root)
			writeCSV(t, root, "metadata.csv", [][]string{{"file", "age", "gender", "ethnicity"}, {"x.png", "30", "male", "white"}})
			src, err := OpenUTKFace(root, UTKFaceOptions{Labels: "metadata"})
			if err != nil {
				t.Fatal(err)
			}
			opts := testOptions()
			tc.modify(&opts)
			_, rejected, _ := Ingest(context.Background(), src, opts, "", nil)
			if len(rejected) != 1 || rejected[0].Reason != tc.reason {
				t.Fatalf("rejected %v, want one %s", rejected, tc.reason)
			}
			t.Log(rejected[0])
		})
	}
}

// A symlink inside the root that points elsewhere inside it is fine, even
// written as an absolute path (which os.Root alone would refuse).
func TestIngestFollowsSymlinksInsideTheRoot(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "store/real.png", encodePNG(t, solid(16, 16, color.RGBA{5, 6, 7, 255})))
	writeFile(t, root, "store/real2.png", encodePNG(t, solid(16, 16, color.RGBA{50, 6, 7, 255})))
	if err := os.MkdirAll(filepath.Join(root, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../store/real.png", filepath.Join(root, "images", "rel.png")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(root, "store", "real2.png"), filepath.Join(root, "images", "abs.png")); err != nil {
		t.Fatal(err)
	}
	writeCSV(t, root, "metadata.csv", [][]string{{"file", "age", "gender", "ethnicity"},
		{"rel.png", "30", "male", "white"}, {"abs.png", "31", "male", "white"}})
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	samples, rejected, err := Ingest(context.Background(), src, testOptions(), "", nil)
	if err != nil || len(samples) != 2 {
		t.Fatalf("err %v, %d samples, rejected %v", err, len(samples), rejected)
	}
}
