package dataset

import (
	"context"
	"image/color"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ingestOutcome ingests src and returns "id:reason" per rejected row and
// the ids of the samples, in input order.
func ingestOutcome(t *testing.T, src Source) (samples []string, rejected []string, details []string) {
	t.Helper()
	ss, rr, err := Ingest(context.Background(), src, testOptions(), filepath.Join(t.TempDir(), "images.pack"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss)+len(rr) != src.Len() {
		t.Fatalf("rows in %d != samples %d + rejected %d", src.Len(), len(ss), len(rr))
	}
	for _, s := range ss {
		samples = append(samples, s.ID)
	}
	for _, r := range rr {
		rejected = append(rejected, r.ID+":"+r.Reason)
		details = append(details, r.String())
	}
	return samples, rejected, details
}

func distinct(t *testing.T, i int) []byte {
	return encodePNG(t, solid(16, 16, color.RGBA{uint8(10 * i), uint8(255 - 10*i), 7, 255}))
}

// Ids come from the cleaned path relative to the image folder, so names
// with dots and the same name in two folders are distinct samples, and
// a path outside the root is reported as such, not as a duplicate id.
func TestUTKFaceIdsKeepFoldersAndDots(t *testing.T) {
	root := t.TempDir()
	for i, f := range []string{"a.1.jpg", "a.2.jpg", "sub/x.jpg", "x.jpg"} {
		writeFile(t, root, "images/"+f, distinct(t, i))
	}
	writeCSV(t, root, "metadata.csv", [][]string{{"file", "age", "gender", "ethnicity"},
		{"a.1.jpg", "20", "male", "white"}, {"a.2.jpg", "21", "male", "white"},
		{"sub/x.jpg", "22", "female", "asian"}, {"x.jpg", "23", "female", "asian"},
		{"/etc/passwd", "24", "male", "white"}, {"../../etc/passwd", "25", "male", "white"}})
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	samples, rejected, _ := ingestOutcome(t, src)
	if want := []string{"a.1", "a.2", "sub/x", "x"}; !slices.Equal(samples, want) {
		t.Errorf("samples %v, want %v", samples, want)
	}
	if want := []string{"/etc/passwd:" + ReasonPathEscapes, "../../etc/passwd:" + ReasonPathEscapes}; !slices.Equal(rejected, want) {
		t.Errorf("rejected %v, want %v", rejected, want)
	}
}

// One file listed twice, however its path is written, or two files with
// the same bytes: with other labels both rows are rejected
// (conflicting_duplicate); with the same labels the first is kept and
// the copy rejected as duplicate_file. Nothing is counted twice, and one
// image can no longer sit in train and test.
func TestCSVSameFileTwice(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "utk_000015.jpg", distinct(t, 1))
	writeFile(t, dir, "utk_000016.jpg", distinct(t, 2))
	writeFile(t, dir, "utk_000017.jpg", distinct(t, 3))
	writeFile(t, dir, "copy_of_17.jpg", distinct(t, 3))
	writeFile(t, dir, "utk_000018.jpg", distinct(t, 4))
	writeFile(t, dir, "copy_of_18.jpg", distinct(t, 4))
	writeFile(t, dir, "utk_000019.jpg", distinct(t, 5))
	writeFile(t, dir, "sub/keep.txt", nil)
	writeCSV(t, dir, "labels.csv", [][]string{{"file", "age", "gender", "split"},
		{"utk_000015.jpg", "30", "male", "train"},
		{"utk_000016.jpg", "40", "female", "train"},
		{"sub/../utk_000015.jpg", "35", "male", "test"}, // same file, other age
		{"./utk_000016.jpg", "40", "female", "test"},    // same file, same labels, other split
		{"utk_000017.jpg", "50", "male", "train"},
		{"copy_of_17.jpg", "52", "male", "test"}, // same bytes, other age
		{"utk_000018.jpg", "60", "female", "train"},
		{"copy_of_18.jpg", "60", "female", "valid"}, // same bytes, same labels
		{"utk_000019.jpg", "19", "female", "valid"},
	})
	src, err := OpenCSV(context.Background(), CSVOptions{Path: filepath.Join(dir, "labels.csv")})
	if err != nil {
		t.Fatal(err)
	}
	samples, rejected, details := ingestOutcome(t, src)
	if want := []string{"utk_000016", "utk_000018", "utk_000019"}; !slices.Equal(samples, want) {
		t.Errorf("samples %v, want %v", samples, want)
	}
	want := []string{
		"utk_000015:" + ReasonConflictingDuplicate,
		"utk_000015:" + ReasonConflictingDuplicate,
		"utk_000016:" + ReasonDuplicateFile,
		"utk_000017:" + ReasonConflictingDuplicate,
		"copy_of_17:" + ReasonConflictingDuplicate,
		"copy_of_18:" + ReasonDuplicateFile,
	}
	if !slices.Equal(rejected, want) {
		t.Errorf("rejected\n %v\nwant\n %v", rejected, want)
	}
	for _, d := range details {
		if !strings.Contains(d, "labels.csv row ") || !strings.Contains(d, "column file") {
			t.Errorf("detail %q does not name the rows and column", d)
		}
	}
	if !strings.Contains(strings.Join(details, "\n"), "age 30 vs 35") {
		t.Errorf("the conflict does not say which labels differ:\n%s", strings.Join(details, "\n"))
	}
	// The packed file holds exactly the kept samples.
	pack := filepath.Join(t.TempDir(), "images.pack")
	ss, _, err := Ingest(context.Background(), src, testOptions(), pack, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := OpenPacked(pack)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Len() != len(ss) {
		t.Fatalf("packed %d images for %d samples", p.Len(), len(ss))
	}
	for i, s := range ss {
		if p.ID(i) != s.ID {
			t.Errorf("image %d is %s, sample %s", i, p.ID(i), s.ID)
		}
	}
}

// A FIFO in the image folder never blocks: the file walk that
// fingerprints the dataset skips it, a listed one is a rejected row with a
// reason, and a FIFO given as the metadata file is an error naming it.
func TestFIFOsNeverBlock(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "images/a.png", distinct(t, 1))
	writeFile(t, root, "images/b.png", distinct(t, 2))
	for _, f := range []string{"images/listed.png", "images/unlisted.png", "stray.fifo"} {
		if err := syscall.Mkfifo(filepath.Join(root, f), 0o644); err != nil {
			t.Skipf("cannot make a FIFO here: %v", err)
		}
	}
	writeCSV(t, root, "metadata.csv", [][]string{{"file", "age", "gender", "ethnicity"},
		{"a.png", "20", "male", "white"}, {"listed.png", "21", "male", "white"}, {"b.png", "22", "male", "white"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		files, err := (&UTKFaceOptions{}).InputFiles(ctx, OpenEnv{Root: root})
		if err != nil {
			t.Error(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, ".fifo") || strings.HasSuffix(f, "listed.png") {
				t.Errorf("the walk lists the FIFO %s", f)
			}
		}
		src, err := OpenUTKFace(root, UTKFaceOptions{})
		if err != nil {
			t.Error(err)
			return
		}
		samples, rejected, err := Ingest(ctx, src, testOptions(), filepath.Join(t.TempDir(), "images.pack"), nil)
		if err != nil {
			t.Error(err)
			return
		}
		if len(samples) != 2 || len(rejected) != 1 || rejected[0].Reason != ReasonUnreadable || !strings.Contains(rejected[0].Detail, "not a regular file") {
			t.Errorf("samples %d, rejected %+v", len(samples), rejected)
		}
		fifoMeta := filepath.Join(root, "meta.csv")
		if err := syscall.Mkfifo(fifoMeta, 0o644); err != nil {
			t.Error(err)
			return
		}
		if _, err := OpenUTKFace(root, UTKFaceOptions{Metadata: "meta.csv"}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("a FIFO as metadata: %v", err)
		}
		if _, err := ReadSamples(fifoMeta); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("a FIFO as a table: %v", err)
		}
		if _, err := OpenPacked(fifoMeta); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("a FIFO as packed images: %v", err)
		}
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("blocked on a FIFO")
	}
}

// The walk stops when its context is cancelled.
func TestWalkHonoursContext(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "a/b.png", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := walkRegularFiles(ctx, root); err == nil {
		t.Fatal("a cancelled walk returned no error")
	}
}

// A 1×1 (or any image below data.min_side) is rejected, not upscaled.
func TestTinyImagesAreRejected(t *testing.T) {
	root := t.TempDir()
	writeFile(t, root, "images/dot.png", encodePNG(t, solid(1, 1, color.RGBA{1, 2, 3, 255})))
	writeFile(t, root, "images/strip.png", encodePNG(t, solid(200, 15, color.RGBA{1, 2, 3, 255})))
	writeFile(t, root, "images/ok.png", distinct(t, 1))
	writeCSV(t, root, "metadata.csv", [][]string{{"file", "age", "gender", "ethnicity"},
		{"dot.png", "20", "male", "white"}, {"strip.png", "21", "male", "white"}, {"ok.png", "22", "male", "white"}})
	src, err := OpenUTKFace(root, UTKFaceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	samples, rejected, details := ingestOutcome(t, src)
	if !slices.Equal(samples, []string{"ok"}) || !slices.Equal(rejected, []string{"dot:" + ReasonImageTooSmall, "strip:" + ReasonImageTooSmall}) {
		t.Errorf("samples %v, rejected %v", samples, rejected)
	}
	if !strings.Contains(details[0], "1x1") || !strings.Contains(details[0], "data.min_side 16") {
		t.Errorf("detail %q", details[0])
	}
	opts := testOptions()
	opts.MinSide = 0
	if err := opts.Validate(); err == nil || !strings.Contains(err.Error(), "data.min_side") {
		t.Errorf("min_side 0: %v", err)
	}
}

// Decoding memory is bounded by pixels in flight: with a budget of one
// image's pixels the ingest still decodes everything, in order, and its
// output equals the unbounded one's.
func TestPixelBudgetBoundsDecodingNotResults(t *testing.T) {
	root, _ := colourFixture(t, 12)
	var packs [][]byte
	for _, budget := range []int64{0, 1, 40 * 40} {
		src, err := OpenUTKFace(root, UTKFaceOptions{})
		if err != nil {
			t.Fatal(err)
		}
		opts := testOptions()
		opts.Workers, opts.MaxPixelsInFlight = 4, budget
		pack := filepath.Join(t.TempDir(), "images.pack")
		if _, _, err := Ingest(context.Background(), src, opts, pack, nil); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(pack)
		if err != nil {
			t.Fatal(err)
		}
		packs = append(packs, b)
	}
	if !slices.Equal(packs[0], packs[1]) || !slices.Equal(packs[0], packs[2]) {
		t.Error("the pixel budget changed the packed images")
	}
	b := newPixelBudget(100)
	if !b.acquire(context.Background(), 1000) { // above the budget: takes all of it
		t.Fatal("acquire failed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if b.acquire(ctx, 1) {
		t.Fatal("acquired pixels beyond the budget")
	}
	b.release(1000)
	if !b.acquire(context.Background(), 100) {
		t.Fatal("released pixels are not available again")
	}
}
