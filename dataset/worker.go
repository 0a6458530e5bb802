package dataset

import (
	"context"
	"fmt"
	"image"
	"path/filepath"
	"sync"
)

// worker reads, hashes, decodes and resizes images. Each decoding
// goroutine owns one, so its resizer's caches need no locking.
type worker struct {
	opts   *IngestOptions
	root   *imageRoot
	pool   *sync.Pool // *[]byte buffers of Size*Size*3
	rz     *resizer
	budget *pixelBudget
}

func newWorker(opts *IngestOptions, root *imageRoot, pool *sync.Pool, budget *pixelBudget) *worker {
	interp, _ := opts.Resample.interpolator() // checked by IngestOptions.check
	return &worker{opts: opts, root: root, pool: pool, rz: newResizer(opts.Size, opts.Fit, interp), budget: budget}
}

// process fills j.sample and j.pixels, or j.rej. Decoding waits for its
// image's pixels in the shared budget, so memory is bounded by pixels in
// flight whatever the image sizes.
func (w *worker) process(ctx context.Context, j *job) {
	rec := &j.rec
	col := rec.columns()
	reject := func(reason string, err error) {
		j.rej = &Rejection{Source: rec.Source, Row: rec.Row, ID: rec.ID, Reason: reason,
			Detail: fmt.Sprintf("column %s: %q: %v", col.File, rec.File, err)}
	}
	var img image.Image
	var sum, path string
	if rec.Render != nil {
		rgba := rec.Render()
		if rgba == nil || rgba.Bounds().Empty() {
			j.rej = &Rejection{Source: rec.Source, Row: rec.Row, ID: rec.ID, Reason: ReasonUndecodable,
				Detail: "the generator drew no image"}
			return
		}
		img, sum = rgba, sha256Hex(rgba.Pix)
	} else {
		data, reason, err := w.root.readFile(j.rel, w.opts.MaxFileBytes)
		if err != nil {
			reject(reason, err)
			return
		}
		sum = sha256Hex(data)
		cfg, format, reason, err := decodeConfig(data, w.opts.MaxImagePixels)
		if err != nil {
			reject(reason, err)
			return
		}
		if side := min(cfg.Width, cfg.Height); side < w.opts.MinSide {
			reject(ReasonImageTooSmall, fmt.Errorf("%s is %dx%d, its shorter side is below data.min_side %d", format, cfg.Width, cfg.Height, w.opts.MinSide))
			return
		}
		px := int64(cfg.Width) * int64(cfg.Height)
		if !w.budget.acquire(ctx, px) {
			return // cancelled; the packer checks ctx
		}
		defer w.budget.release(px)
		if img, reason, err = decodePixels(data, format); err != nil {
			reject(reason, err)
			return
		}
		path = filepath.ToSlash(j.rel)
	}
	buf := w.pool.Get().(*[]byte)
	w.rz.toRGB(img, *buf)
	b := img.Bounds()
	j.pixels = buf
	j.sample.rowSource, j.sample.row = rec.Source, rec.Row
	j.sample.Sample = Sample{
		ID:           rec.ID,
		Split:        rec.Split,
		Path:         path,
		Age:          rec.Age,
		RealAge:      rec.RealAge,
		Gender:       rec.Gender,
		Ethnicity:    rec.Ethnicity,
		Expression:   rec.Expression,
		AgeGroup:     w.opts.AgeGroups.Label(rec.Age),
		Width:        int32(b.Dx()),
		Height:       int32(b.Dy()),
		SHA256:       sum,
		NearDupGroup: rec.NearDupGroup,
		Subject:      rec.Subject,
	}
}

// pixelBudget is a weighted semaphore of pixels being decoded. A request
// above the whole budget takes all of it, so any image allowed by
// MaxImagePixels decodes, alone.
type pixelBudget struct {
	mu    sync.Mutex
	cond  *sync.Cond
	free  int64
	total int64
}

func newPixelBudget(total int64) *pixelBudget {
	b := &pixelBudget{free: total, total: total}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// acquire waits for n pixels (at most the whole budget); false when ctx
// ended first.
func (b *pixelBudget) acquire(ctx context.Context, n int64) bool {
	n = min(n, b.total)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.free < n {
		// Wake this waiter when its context ends.
		stop := context.AfterFunc(ctx, func() {
			b.mu.Lock()
			b.cond.Broadcast()
			b.mu.Unlock()
		})
		defer stop()
	}
	for b.free < n && ctx.Err() == nil {
		b.cond.Wait()
	}
	if ctx.Err() != nil {
		return false
	}
	b.free -= n
	return true
}

func (b *pixelBudget) release(n int64) {
	n = min(n, b.total)
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	b.cond.Broadcast()
}
