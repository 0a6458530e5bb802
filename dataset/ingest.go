package dataset

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"

	"fairage/internal/progress"
	"fairage/internal/spec"
)

// IngestOptions controls validation, decoding and packing. Start from
// DefaultIngestOptions: Ingest checks the options and does not guess
// values that change its output (only Workers and Window, which affect
// speed and memory but never the result, default when zero).
type IngestOptions struct {
	// Size is the side of the square packed images in pixels (default 64).
	Size int `yaml:"image_size" range:"[16,1024]" doc:"Side of the square images packed for training, in pixels."`
	// Fit turns non-square images square: FitCrop (default) or FitPad.
	Fit Fit `yaml:"fit" doc:"How non-square images become square: central crop or pad."`
	// Resample is the interpolation kernel (default ResampleBiLinear: after
	// the box pre-reduction a tent filter anti-aliases well at half the
	// cost of CatmullRom, which is sharper and costs about 0.2 ms more per
	// 200×200 image).
	Resample Resample `yaml:"resample" doc:"Resizing kernel."`
	// MinAge and MaxAge bound the accepted target (and real) age, inclusive
	// (default 0 and 120).
	MinAge float64 `yaml:"age_min" range:"[0,150]" doc:"Rows with an age below are rejected (age_out_of_range)."`
	MaxAge float64 `yaml:"age_max" range:"[0,150]" doc:"Rows with an age above are rejected."`
	// AgeGroups bins the target age into age_group (default
	// DefaultAgeGroups: 0-19, 20-39, 40-59, 60+).
	AgeGroups AgeGroups `yaml:"age_edges" doc:"Inner edges of the samples' age_group (used by balance and split): [20, 40, 60] gives 0-19, 20-39, 40-59, 60+."`
	// Allowed overrides, per attribute (gender, ethnicity, expression), the
	// values the source's Vocabulary accepts. An empty list accepts any.
	Allowed map[string][]string `yaml:"allowed" doc:"Accepted values per attribute after mapping, e.g. {gender: [female, male]}; other values are rejected (unknown_value). Unset: the adapter's vocabulary."`
	// MaxRejectFraction is the largest fraction of rows that may be
	// rejected before Ingest fails (default 0.05; 0 means none may be).
	MaxRejectFraction float64 `yaml:"max_reject_fraction" range:"[0,1]" doc:"Above this fraction of rejected rows the ingest fails with a summary; below it, it warns with counts."`
	// MinSide rejects images whose shorter side is below it (default 16):
	// resizing a 1×1 or 10×10 image up to image_size makes a training
	// example that carries no face.
	MinSide int `yaml:"min_side" range:"[1,4096]" doc:"Images whose shorter side is below this many pixels are rejected (image_too_small) instead of being upscaled."`
	// MaxImagePixels refuses images declaring more pixels (default 50e6),
	// before they are decoded.
	MaxImagePixels int64 `yaml:"-"`
	// MaxPixelsInFlight bounds the pixels being decoded at once across all
	// workers (default MaxImagePixels), so memory is bounded by pixels,
	// not by images: one 49-megapixel PNG decodes alone while small
	// images keep every worker busy.
	MaxPixelsInFlight int64 `yaml:"-"`
	// MaxFileBytes refuses larger image files (default 64 MiB).
	MaxFileBytes int64 `yaml:"-"`
	// Workers decode in parallel (0: GOMAXPROCS).
	Workers int `yaml:"workers" range:"[0,1024]" fingerprint:"-" doc:"Decoding goroutines (0: one per CPU); the output does not depend on it."`
	// Window bounds the images being decoded or waiting to be packed in
	// input order, and so the memory (0: 4 × Workers).
	Window int `yaml:"-"`
}

// DefaultIngestOptions returns the defaults documented on each field.
func DefaultIngestOptions() IngestOptions {
	return IngestOptions{
		Size:              64,
		Fit:               FitCrop,
		Resample:          ResampleBiLinear,
		MinAge:            0,
		MaxAge:            120,
		AgeGroups:         DefaultAgeGroups(),
		MaxRejectFraction: 0.05,
		MinSide:           16,
		MaxImagePixels:    50_000_000,
		MaxFileBytes:      64 << 20,
	}
}

// Validate checks the options, naming the data.* keys.
func (o *IngestOptions) Validate() error {
	return errors.Join(spec.Check("data", o), o.rules())
}

// rules checks what the field declarations cannot: relations between
// fields, and that the age groups are well formed.
func (o *IngestOptions) rules() error {
	var errs []error
	if !(o.MinAge < o.MaxAge) {
		errs = append(errs, fmt.Errorf("data.age_min: %g must be below data.age_max (%g)", o.MinAge, o.MaxAge))
	}
	// NewAgeGroups also labels groups given by edges only.
	switch g, err := NewAgeGroups(o.AgeGroups.Edges, o.AgeGroups.Labels); {
	case err != nil:
		errs = append(errs, fmt.Errorf("data.age_edges: %w", err))
	case g.Edges[0] > o.MinAge:
		errs = append(errs, fmt.Errorf("data.age_edges: age groups start at %g but ages from %g are accepted; lower the first edge or raise data.age_min", g.Edges[0], o.MinAge))
	default:
		o.AgeGroups = g
	}
	if o.MaxImagePixels <= 0 || o.MaxFileBytes <= 0 || o.MaxPixelsInFlight < 0 {
		errs = append(errs, fmt.Errorf("max image pixels (%d) and max file bytes (%d) must be positive, max pixels in flight (%d) not negative",
			o.MaxImagePixels, o.MaxFileBytes, o.MaxPixelsInFlight))
	}
	if o.Window < 0 {
		errs = append(errs, fmt.Errorf("window (%d) must not be negative", o.Window))
	}
	for _, attr := range slices.Sorted(maps.Keys(o.Allowed)) {
		if attr != AttrGender && attr != AttrEthnicity && attr != AttrExpression {
			errs = append(errs, fmt.Errorf("data.allowed.%s: %q is not gender, ethnicity or expression", attr, attr))
		}
	}
	return errors.Join(errs...)
}

// job is one record on its way through the pipeline. The producer creates
// it, a worker (or the producer, for early rejections) fills it and closes
// done, and the packer consumes jobs in input order.
type job struct {
	seq    int // position in input order
	rec    Record
	rel    string // image path relative to the root, checked lexically
	sample rowSample
	pixels *[]byte
	rej    *Rejection
	done   chan struct{}
}

// Ingest validates, decodes, resizes and packs every record of src.
//
// Each record either becomes a Sample (with age_group, width, height and
// the sha256 of the file bytes) and an image in the packed file at
// packPath, or a Rejection saying why: rows in = len(samples) +
// len(rejected), in input order, whatever the number of workers. An empty
// packPath validates and decodes without writing images.
//
// Decoding runs on opts.Workers goroutines; at most about opts.Window
// images are in flight, so memory stays bounded for any folder size.
//
// When more than opts.MaxRejectFraction of the rows are rejected, Ingest
// writes no packed file and returns the samples and rejections with a
// *TooManyRejectionsError; below it, the caller should report
// CountByReason(rejected). tracker (nil for none) advances once per row
// and is finished on return.
func Ingest(ctx context.Context, src Source, opts IngestOptions, packPath string, tracker progress.Tracker) (samples []Sample, rejected []Rejection, err error) {
	tracker = progress.OrDiscard(tracker)
	defer tracker.Finish()
	if err := opts.Validate(); err != nil {
		return nil, nil, fmt.Errorf("ingest %s: options: %w", src.Name(), err)
	}
	workers := opts.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	window := opts.Window
	if window == 0 {
		window = 4 * workers
	}

	var root *imageRoot
	if src.Root() != "" {
		if root, err = openImageRoot(src.Root()); err != nil {
			return nil, nil, fmt.Errorf("ingest %s: %w", src.Name(), err)
		}
		defer root.Close()
	}
	var pack *PackWriter
	if packPath != "" {
		if pack, err = CreatePacked(packPath, opts.Size, opts.Size); err != nil {
			return nil, nil, fmt.Errorf("ingest %s: %w", src.Name(), err)
		}
		defer func() {
			if err != nil {
				pack.Abort()
			}
		}()
	}

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Stop the producer and workers before root closes (deferred above,
	// so it runs after this).
	defer func() {
		cancel()
		wg.Wait()
	}()

	jobs := make(chan *job, window)  // to the workers, any order
	order := make(chan *job, window) // to the packer, input order
	pool := &sync.Pool{New: func() any { b := make([]byte, opts.Size*opts.Size*3); return &b }}
	budget := newPixelBudget(cmp.Or(opts.MaxPixelsInFlight, opts.MaxImagePixels))
	v := newValidator(src, &opts, root)
	wg.Add(1)
	go func() {
		defer wg.Done()
		produce(ctx, src, v, jobs, order)
	}()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker(&opts, root, pool, budget)
			for j := range jobs {
				if ctx.Err() == nil {
					w.process(ctx, j)
				}
				close(j.done)
			}
		}()
	}

	results := make([]result, 0, src.Len())
	dups := newContentDups()
	for j := range order {
		select {
		case <-j.done:
		case <-ctx.Done():
		}
		// Workers skip jobs once the context ends, so check it before
		// trusting the job.
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("ingest %s: %w", src.Name(), err)
		}
		if j.rej == nil && j.sample.Path != "" {
			j.rej = dups.check(j)
			if j.rej != nil {
				pool.Put(j.pixels)
			}
		}
		r := result{rej: j.rej}
		if j.rej == nil {
			if pack != nil {
				if err := pack.Append(j.sample.ID, *j.pixels); err != nil {
					return nil, nil, fmt.Errorf("ingest %s: %w", src.Name(), err)
				}
			}
			pool.Put(j.pixels)
			r.sample = j.sample
		}
		results = append(results, r)
		tracker.Add(1)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("ingest %s: %w", src.Name(), err)
	}
	// Rows that a later row showed to list the same image with other
	// labels are rejected too: neither label can be trusted.
	maps.Copy(v.conflicts, dups.conflicts)
	for seq, detail := range v.conflicts {
		r := &results[seq]
		if r.rej != nil {
			continue // already rejected for its own reason
		}
		if pack != nil {
			pack.Drop(r.sample.ID)
		}
		r.rej = &Rejection{Source: r.sample.rowSource, Row: r.sample.row, ID: r.sample.ID, Reason: ReasonConflictingDuplicate, Detail: detail}
	}
	samples = make([]Sample, 0, len(results))
	for i := range results {
		if r := &results[i]; r.rej != nil {
			rejected = append(rejected, *r.rej)
		} else {
			samples = append(samples, r.sample.Sample)
		}
	}
	if err := checkRejections(src.Name(), len(samples), rejected, opts.MaxRejectFraction); err != nil {
		return samples, rejected, err
	}
	if pack != nil {
		if err := pack.Close(); err != nil {
			return nil, nil, fmt.Errorf("ingest %s: %w", src.Name(), err)
		}
	}
	return samples, rejected, nil
}

// result is one row's outcome, in input order.
type result struct {
	sample rowSample
	rej    *Rejection
}

// rowSample is a sample with the row it came from, for rejecting it
// after the fact.
type rowSample struct {
	Sample
	rowSource string
	row       int64
}

// contentDups finds rows whose image files differ by path but not by
// content (the same photo copied under two names).
type contentDups struct {
	kept map[string]contentFirst // sha256 → first accepted row with it
	// conflicts are earlier rows (by sequence number) to reject, as in
	// validator.conflicts (kept apart: the producer writes that one).
	conflicts map[int]string
}

type contentFirst struct {
	seq    int
	where  string
	file   string
	labels labels
}

func newContentDups() *contentDups {
	return &contentDups{kept: map[string]contentFirst{}, conflicts: map[int]string{}}
}

// check returns the rejection of j if its image is byte-identical to an
// earlier accepted row's: a duplicate when the labels agree (the earlier
// row is kept), a conflict of both rows when they do not.
func (d *contentDups) check(j *job) *Rejection {
	sum := j.sample.SHA256
	first, dup := d.kept[sum]
	if !dup {
		d.kept[sum] = contentFirst{seq: j.seq, where: where(&j.rec), file: j.rec.File, labels: labelsOf(&j.rec)}
		return nil
	}
	col := j.rec.columns()
	rej := &Rejection{Source: j.rec.Source, Row: j.rec.Row, ID: j.rec.ID}
	if diff := first.labels.differ(labelsOf(&j.rec)); diff != "" {
		d.conflicts[first.seq] = fmt.Sprintf("column %s: %q has the same content (sha256 %s…) as %q at %s, which has other labels (%s); both rows are rejected",
			col.File, first.file, sum[:12], j.rec.File, where(&j.rec), diff)
		rej.Reason = ReasonConflictingDuplicate
		rej.Detail = fmt.Sprintf("column %s: %q has the same content (sha256 %s…) as %q at %s, with other labels (%s); both rows are rejected",
			col.File, j.rec.File, sum[:12], first.file, first.where, diff)
		return rej
	}
	rej.Reason = ReasonDuplicateFile
	rej.Detail = fmt.Sprintf("column %s: %q has the same content (sha256 %s…) as %q at %s, with the same labels; that row is kept",
		col.File, j.rec.File, sum[:12], first.file, first.where)
	return rej
}

// produce feeds records in input order: rows rejected by the cheap checks
// go straight to the packer, the rest also to the workers.
func produce(ctx context.Context, src Source, v *validator, jobs, order chan<- *job) {
	defer close(jobs)
	defer close(order)
	seq := 0
	for rec := range src.Records() {
		j := &job{seq: seq, rec: rec, done: make(chan struct{})}
		seq++
		j.rel, j.rej = v.check(&j.rec, j.seq)
		select {
		case order <- j:
		case <-ctx.Done():
			return
		}
		if j.rej != nil {
			close(j.done)
			continue
		}
		select {
		case jobs <- j:
		case <-ctx.Done():
			return
		}
	}
}

func checkRejections(source string, ingested int, rejected []Rejection, maxFrac float64) error {
	rows := ingested + len(rejected)
	if rows == 0 {
		return fmt.Errorf("ingest %s: the dataset has no rows", source)
	}
	if float64(len(rejected)) <= maxFrac*float64(rows) && ingested > 0 {
		return nil
	}
	return &TooManyRejectionsError{
		Source: "ingest " + source, Rows: rows, Rejected: len(rejected), Max: maxFrac,
		ByReason: CountByReason(rejected), Examples: rejected[:min(len(rejected), 5)],
	}
}
