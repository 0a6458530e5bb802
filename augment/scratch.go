package augment

import (
	"bytes"
	"image"
	"sync"
)

// scratch holds the buffers one augmentation needs, reused from image to
// image so that steady-state augmentation allocates no pixel memory. Each
// goroutine takes its own from scratchPool.
type scratch struct {
	reduced []byte      // box-reduced source region, RGB
	acc     []uint32    // one row of sums (box reduction, vertical blur)
	a, b    image.NRGBA // ping-pong working images at output size
	blur    []uint16    // horizontal blur pass
	pad     []uint16    // one edge-padded row for the horizontal blur
	ramp    [2]image.NRGBA64
	rampOut image.NRGBA
	jpeg    bytes.Buffer
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// sized re-slices img to w×h, growing its pixels only when too small.
func sized(img *image.NRGBA, w, h int) *image.NRGBA {
	n := w * h * 4
	if cap(img.Pix) < n {
		img.Pix = make([]uint8, n)
	}
	img.Pix = img.Pix[:n]
	img.Stride = 4 * w
	img.Rect = image.Rect(0, 0, w, h)
	return img
}

func grow[T any](buf []T, n int) []T {
	if cap(buf) < n {
		return make([]T, n)
	}
	return buf[:n]
}

// toRGB packs an opaque NRGBA image into HWC RGB bytes.
func toRGB(dst []byte, img *image.NRGBA) {
	pix := img.Pix
	for i, j := 0, 0; j+2 < len(dst); i, j = i+4, j+3 {
		dst[j], dst[j+1], dst[j+2] = pix[i], pix[i+1], pix[i+2]
	}
}

// fromRGB unpacks HWC RGB bytes into an opaque NRGBA image of the same size.
func fromRGB(img *image.NRGBA, src []byte) {
	pix := img.Pix
	for i, j := 0, 0; j+2 < len(src); i, j = i+4, j+3 {
		pix[i], pix[i+1], pix[i+2], pix[i+3] = src[j], src[j+1], src[j+2], 0xff
	}
}
