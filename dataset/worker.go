package dataset

import (
	"fmt"
	"image"
	"path/filepath"
	"sync"
)

// worker reads, hashes, decodes and resizes images. Each decoding
// goroutine owns one, so its resizer's caches need no locking.
type worker struct {
	opts *IngestOptions
	root *imageRoot
	pool *sync.Pool // *[]byte buffers of Size*Size*3
	rz   *resizer
}

func newWorker(opts *IngestOptions, root *imageRoot, pool *sync.Pool) *worker {
	interp, _ := opts.Resample.interpolator() // checked by IngestOptions.check
	return &worker{opts: opts, root: root, pool: pool, rz: newResizer(opts.Size, opts.Fit, interp)}
}

// process fills j.sample and j.pixels, or j.rej.
func (w *worker) process(j *job) {
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
		if img, reason, err = decodeImage(data, w.opts.MaxImagePixels); err != nil {
			reject(reason, err)
			return
		}
		path = filepath.ToSlash(j.rel)
	}
	buf := w.pool.Get().(*[]byte)
	w.rz.toRGB(img, *buf)
	b := img.Bounds()
	j.pixels = buf
	j.sample = Sample{
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
	}
}
