package augment

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
)

// recompress round-trips img through JPEG at the given quality, in place,
// to imitate the compression artefacts of photos found on the web.
func recompress(img *image.NRGBA, quality int, s *scratch) error {
	if quality <= 0 {
		return nil
	}
	s.jpeg.Reset()
	// The image is opaque, so its bytes are also a valid RGBA image, which
	// the encoder converts without a generic per-pixel path.
	rgba := &image.RGBA{Pix: img.Pix, Stride: img.Stride, Rect: img.Rect}
	if err := jpeg.Encode(&s.jpeg, rgba, &jpeg.Options{Quality: quality}); err != nil {
		return fmt.Errorf("jpeg re-compression at quality %d: %w", quality, err)
	}
	dec, err := jpeg.Decode(bytes.NewReader(s.jpeg.Bytes()))
	if err != nil {
		return fmt.Errorf("jpeg re-compression at quality %d: %w", quality, err)
	}
	ycc, ok := dec.(*image.YCbCr)
	if !ok {
		return fmt.Errorf("jpeg re-compression: decoded %T, expected YCbCr", dec)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := 0; y < h; y++ {
		out := img.Pix[y*img.Stride : y*img.Stride+w*4]
		for x := 0; x < w; x++ {
			yi, ci := ycc.YOffset(x, y), ycc.COffset(x, y)
			r, g, b := color.YCbCrToRGB(ycc.Y[yi], ycc.Cb[ci], ycc.Cr[ci])
			out[x*4], out[x*4+1], out[x*4+2] = r, g, b
		}
	}
	return nil
}
