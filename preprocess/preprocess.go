package preprocess

import (
	"context"
	"fmt"
	"image"
	"io"
	"os"
	"runtime"
	"sync"

	"fairage/dataset"
)

// Tensor is a batch of preprocessed images in the layout and dtype of a
// Spec: F32 holds the values for dtype float32, U8 for uint8.
type Tensor struct {
	Shape []int64
	F32   []float32
	U8    []uint8
}

// Len is the batch size (the first dimension).
func (t Tensor) Len() int {
	if len(t.Shape) == 0 {
		return 0
	}
	return int(t.Shape[0])
}

// NewTensor allocates a zeroed batch of n images.
func (s Spec) NewTensor(n int) Tensor {
	t := Tensor{Shape: s.Shape(n)}
	if s.DType == Uint8 {
		t.U8 = make([]uint8, n*s.PerImage())
	} else {
		t.F32 = make([]float32, n*s.PerImage())
	}
	return t
}

// Limits bound what reading an original file may cost, as Ingest's options
// do for the pack.
var (
	MaxFileBytes   int64 = 64 << 20
	MaxImagePixels int64 = 50_000_000
)

// Preprocessor fills tensors for one Spec. It keeps a resizer and scratch
// buffers, so it is not safe for concurrent use: give each goroutine its
// own (New is cheap).
type Preprocessor struct {
	spec Spec
	lut  [3][256]float32 // value of each byte in each output channel
	// uniform: every channel has the same table (one mean, std and
	// scale, or none), so RGB NHWC float32 is one flat lookup per byte.
	uniform bool
	rz      *dataset.Resizer
	rgb     []byte
}

// New validates spec and returns a Preprocessor for it.
func New(spec Spec) (*Preprocessor, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("preprocessing: %w", err)
	}
	rz, err := dataset.NewResizer(spec.Height, spec.Width, spec.Fit, spec.Resample)
	if err != nil {
		return nil, fmt.Errorf("preprocessing: %w", err)
	}
	p := &Preprocessor{spec: spec, rz: rz, rgb: make([]byte, spec.Height*spec.Width*3)}
	// The arithmetic order is part of the declaration: float32, mean
	// first, then std, then scale. Skipping a unit std or scale keeps the
	// bits of models that declare none (x / 1 and x × 1 are exact anyway).
	for c := range spec.Channels() {
		m, sd, sc := float32(spec.mean(c)), float32(spec.std(c)), float32(spec.Scale)
		for b := range 256 {
			v := float32(b) - m
			if sd != 1 {
				v /= sd
			}
			if sc != 1 {
				v *= sc
			}
			p.lut[c][b] = v
		}
	}
	p.uniform = spec.Channels() == 3 && p.lut[0] == p.lut[1] && p.lut[1] == p.lut[2]
	return p, nil
}

// Spec returns the spec the Preprocessor was made for.
func (p *Preprocessor) Spec() Spec { return p.spec }

// PutRGB writes image i of t from HWC RGB bytes of exactly the spec's
// height×width (a packed image at the model's size). It never resizes: a
// different size is an error.
func (p *Preprocessor) PutRGB(t Tensor, i int, rgb []byte, height, width int) error {
	s := p.spec
	if height != s.Height || width != s.Width {
		return fmt.Errorf("image is %dx%d, the model takes %dx%d: resize from the original file (PutImage, PutFile) or pack at the model's size, never rescale a pack", height, width, s.Height, s.Width)
	}
	if len(rgb) != height*width*3 {
		return fmt.Errorf("image has %d bytes, expected %d (%dx%dx3 RGB)", len(rgb), height*width*3, height, width)
	}
	if i < 0 || i >= t.Len() {
		return fmt.Errorf("image %d is outside the batch of %d", i, t.Len())
	}
	if want := t.Len() * s.PerImage(); (s.DType == Uint8 && len(t.U8) != want) || (s.DType != Uint8 && len(t.F32) != want) {
		return fmt.Errorf("tensor does not hold %d images of %s (make it with Spec.NewTensor)", t.Len(), s)
	}
	hw := height * width
	c := s.Channels()
	// src[k] is the RGB channel that becomes output channel k.
	src := [3]int{0, 1, 2}
	if s.Color == BGR {
		src = [3]int{2, 1, 0}
	}
	off := i * s.PerImage()
	if s.Color == Gray && len(s.GrayWeights) == 3 {
		// In float32, in the declared order: weighted sum, mean, std, scale.
		w0, w1, w2 := float32(s.GrayWeights[0]), float32(s.GrayWeights[1]), float32(s.GrayWeights[2])
		m, sd, sc := float32(s.mean(0)), float32(s.std(0)), float32(s.Scale)
		for j := range hw {
			v := w0*float32(rgb[3*j]) + w1*float32(rgb[3*j+1]) + w2*float32(rgb[3*j+2]) - m
			if sd != 1 {
				v /= sd
			}
			if sc != 1 {
				v *= sc
			}
			t.F32[off+j] = v
		}
		return nil
	}
	if s.Color == Gray {
		for j := range hw {
			y := gray(rgb[3*j], rgb[3*j+1], rgb[3*j+2])
			if s.DType == Uint8 {
				t.U8[off+j] = y
			} else {
				t.F32[off+j] = p.lut[0][y]
			}
		}
		return nil
	}
	switch {
	case s.DType == Uint8 && s.Layout == NHWC:
		dst := t.U8[off : off+hw*3]
		for j := range hw {
			dst[3*j], dst[3*j+1], dst[3*j+2] = rgb[3*j+src[0]], rgb[3*j+src[1]], rgb[3*j+src[2]]
		}
	case s.DType == Uint8: // NCHW
		for k := range c {
			dst := t.U8[off+k*hw : off+(k+1)*hw]
			for j := range hw {
				dst[j] = rgb[3*j+src[k]]
			}
		}
	case s.Layout == NHWC && s.Color == RGB && p.uniform:
		// The common Keras declaration (RGB, one scale): bytes map one to
		// one onto values, with no bounds checks in the loop.
		dst := t.F32[off : off+hw*3]
		dst = dst[:len(rgb)]
		lut := &p.lut[0]
		for j, b := range rgb {
			dst[j] = lut[b]
		}
	case s.Layout == NHWC:
		dst := t.F32[off : off+hw*3]
		l0, l1, l2 := &p.lut[0], &p.lut[1], &p.lut[2]
		for j := range hw {
			dst[3*j], dst[3*j+1], dst[3*j+2] = l0[rgb[3*j+src[0]]], l1[rgb[3*j+src[1]]], l2[rgb[3*j+src[2]]]
		}
	default: // float32 NCHW
		for k := range c {
			dst := t.F32[off+k*hw : off+(k+1)*hw]
			lut := &p.lut[k]
			for j := range hw {
				dst[j] = lut[rgb[3*j+src[k]]]
			}
		}
	}
	return nil
}

// gray is ITU-R 601-2 luma with the integer weights and rounding of
// Pillow's convert("L").
func gray(r, g, b byte) byte {
	return byte((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}

// PutImage resizes a decoded image to the spec's size, as Ingest does for
// the pack, and writes it as image i of t.
func (p *Preprocessor) PutImage(t Tensor, i int, img image.Image) error {
	if err := p.rz.RGB(img, p.rgb); err != nil {
		return err
	}
	return p.PutRGB(t, i, p.rgb, p.spec.Height, p.spec.Width)
}

// PutFile reads and decodes a JPEG or PNG file and writes it as image i of
// t. Errors name the file.
func (p *Preprocessor) PutFile(t Tensor, i int, path string) error {
	img, err := ReadImage(path)
	if err != nil {
		return err
	}
	if err := p.PutImage(t, i, img); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ReadImage reads and decodes a JPEG or PNG file within MaxFileBytes and
// MaxImagePixels.
func ReadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > MaxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFileBytes)
	}
	img, err := dataset.DecodeImage(data, MaxImagePixels)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// CheckPacked reports whether a pack can feed a model of this spec: its
// images must be exactly the model's input size.
func (s Spec) CheckPacked(pk *dataset.Packed) error {
	if pk.Height() != s.Height || pk.Width() != s.Width {
		return fmt.Errorf("the packed images are %dx%d but the model takes %dx%d: pack the data at the model's input size (data.size), since a model must see images resized from the original files, never rescaled from a pack",
			pk.Height(), pk.Width(), s.Height, s.Width)
	}
	return nil
}

// FromPacked fills a new tensor with the packed images at the given
// positions, in that order.
func (p *Preprocessor) FromPacked(pk *dataset.Packed, index []int) (Tensor, error) {
	t := p.spec.NewTensor(len(index))
	if err := p.PutPacked(t, pk, index); err != nil {
		return Tensor{}, err
	}
	return t, nil
}

// PutPacked writes the packed images at the given positions into t, which
// holds exactly len(index) images (a reused buffer: see Head).
func (p *Preprocessor) PutPacked(t Tensor, pk *dataset.Packed, index []int) error {
	if err := p.spec.CheckPacked(pk); err != nil {
		return err
	}
	if t.Len() != len(index) {
		return fmt.Errorf("tensor holds %d images, %d packed images asked for", t.Len(), len(index))
	}
	for i, k := range index {
		if k < 0 || k >= pk.Len() {
			return fmt.Errorf("packed image %d: outside the pack of %d images", k, pk.Len())
		}
		if err := p.PutRGB(t, i, pk.Image(k), pk.Height(), pk.Width()); err != nil {
			return fmt.Errorf("packed image %q: %w", pk.ID(k), err)
		}
	}
	return nil
}

// Head returns the first n images of t, sharing its memory, so that one
// buffer serves every batch of a run, the last and shorter one included.
func (t Tensor) Head(n int) Tensor {
	n = max(0, min(n, t.Len()))
	per := 0
	if t.Len() > 0 {
		per = (len(t.F32) + len(t.U8)) / t.Len()
	}
	h := Tensor{Shape: append([]int64{int64(n)}, t.Shape[1:]...)}
	if t.F32 != nil {
		h.F32 = t.F32[:n*per]
	}
	if t.U8 != nil {
		h.U8 = t.U8[:n*per]
	}
	return h
}

// LoadFiles reads, decodes and preprocesses files on workers goroutines (0:
// GOMAXPROCS) into one tensor, in order. A file that cannot be used leaves
// its image zeroed and its error in errs (nil where it worked); err is set
// only when the spec is invalid or ctx is done.
func LoadFiles(ctx context.Context, spec Spec, paths []string, workers int) (t Tensor, errs []error, err error) {
	if _, err := New(spec); err != nil {
		return Tensor{}, nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, len(paths)))
	t = spec.NewTensor(len(paths))
	errs = make([]error, len(paths))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, _ := New(spec) // validated above
			for i := range next {
				errs[i] = p.PutFile(t, i, paths[i])
			}
		}()
	}
feed:
	for i := range paths {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if ctx.Err() != nil {
		return Tensor{}, nil, ctx.Err()
	}
	return t, errs, nil
}

// PackedBatches preprocesses the packed images at index, step at a time,
// into one reused tensor, hands each batch to run and collects its
// results in order, checking ctx between batches: the batch loop every
// image model shares, with memory bounded by one batch. The caller checks
// the pack against spec first (CheckPacked), naming its model.
func PackedBatches[R any](ctx context.Context, spec Spec, pk *dataset.Packed, index []int, step int, run func(Tensor) ([]R, error)) ([]R, error) {
	p, err := New(spec)
	if err != nil {
		return nil, err
	}
	if len(index) == 0 {
		return nil, nil
	}
	step = max(1, step)
	results := make([]R, 0, len(index))
	buf := spec.NewTensor(min(step, len(index)))
	for lo := 0; lo < len(index); lo += step {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(len(index), lo+step)
		t := buf.Head(hi - lo)
		if err := p.PutPacked(t, pk, index[lo:hi]); err != nil {
			return nil, err
		}
		rows, err := run(t)
		if err != nil {
			return nil, err
		}
		results = append(results, rows...)
	}
	return results, nil
}
