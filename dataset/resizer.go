package dataset

import (
	"fmt"
	"image"
)

// Resizer turns decoded images into height×width HWC RGB bytes with the
// same box pre-reduction, kernel and fit that Ingest uses for the pack, so
// that a model fed from original files sees exactly what it would see from
// a pack made at its input size. A Resizer caches scalers and buffers and
// is not safe for concurrent use: give each goroutine its own.
type Resizer struct {
	r *resizer
}

// NewResizer returns a Resizer to height×width pixels.
func NewResizer(height, width int, fit Fit, resample Resample) (*Resizer, error) {
	if height <= 0 || width <= 0 || height > 4096 || width > 4096 {
		return nil, fmt.Errorf("resize to %dx%d: height and width must be in [1, 4096]", height, width)
	}
	if fit != FitCrop && fit != FitPad {
		return nil, fmt.Errorf("fit %q must be %q or %q", fit, FitCrop, FitPad)
	}
	interp, err := resample.interpolator()
	if err != nil {
		return nil, err
	}
	return &Resizer{r: newRectResizer(height, width, fit, interp)}, nil
}

// RGB resizes img into dst, which must hold height*width*3 bytes.
func (z *Resizer) RGB(img image.Image, dst []byte) error {
	if want := z.r.w * z.r.h * 3; len(dst) != want {
		return fmt.Errorf("resize to %dx%d: destination has %d bytes, expected %d", z.r.h, z.r.w, len(dst), want)
	}
	if img.Bounds().Empty() {
		return fmt.Errorf("resize to %dx%d: the image is empty", z.r.h, z.r.w)
	}
	z.r.toRGB(img, dst)
	return nil
}

// DecodeImage decodes JPEG or PNG bytes as Ingest does, refusing images
// that declare more than maxPixels pixels before allocating them.
func DecodeImage(data []byte, maxPixels int64) (image.Image, error) {
	img, _, err := decodeImage(data, maxPixels)
	return img, err
}
