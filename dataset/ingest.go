package dataset

import (
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
	// MaxImagePixels refuses images declaring more pixels (default 50e6),
	// before they are decoded.
	MaxImagePixels int64 `yaml:"-"`
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
	if o.MaxImagePixels <= 0 || o.MaxFileBytes <= 0 {
		errs = append(errs, fmt.Errorf("max image pixels (%d) and max file bytes (%d) must be positive", o.MaxImagePixels, o.MaxFileBytes))
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
	rec    Record
	rel    string // image path relative to the root, checked lexically
	sample Sample
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		produce(ctx, src, newValidator(src, &opts, root), jobs, order)
	}()
	pool := &sync.Pool{New: func() any { b := make([]byte, opts.Size*opts.Size*3); return &b }}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newWorker(&opts, root, pool)
			for j := range jobs {
				if ctx.Err() == nil {
					w.process(j)
				}
				close(j.done)
			}
		}()
	}

	samples = make([]Sample, 0, src.Len())
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
		if j.rej != nil {
			rejected = append(rejected, *j.rej)
		} else {
			if pack != nil {
				if err := pack.Append(j.sample.ID, *j.pixels); err != nil {
					return nil, nil, fmt.Errorf("ingest %s: %w", src.Name(), err)
				}
			}
			pool.Put(j.pixels)
			samples = append(samples, j.sample)
		}
		tracker.Add(1)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("ingest %s: %w", src.Name(), err)
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

// produce feeds records in input order: rows rejected by the cheap checks
// go straight to the packer, the rest also to the workers.
func produce(ctx context.Context, src Source, v *validator, jobs, order chan<- *job) {
	defer close(jobs)
	defer close(order)
	for rec := range src.Records() {
		j := &job{rec: rec, done: make(chan struct{})}
		j.rel, j.rej = v.check(&j.rec)
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
