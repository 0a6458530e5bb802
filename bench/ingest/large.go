package main

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
)

// writeLargeSet writes a UTKFace-layout folder (images/ and metadata.csv)
// of n side×side PNGs (49 megapixels at 7000) among 40 small ones, the
// case where decoding memory must be bounded by pixels, not images.
func writeLargeSet(dir string, n, side int) error {
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		return err
	}
	meta, err := os.Create(filepath.Join(dir, "metadata.csv"))
	if err != nil {
		return err
	}
	defer meta.Close()
	fmt.Fprintln(meta, "file,age,gender,ethnicity")
	write := func(name string, w, h, seed int) error {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				i := (y*w + x) * 4
				img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(x^y+seed), uint8(x*y), uint8(y), 255
			}
		}
		f, err := os.Create(filepath.Join(dir, "images", name))
		if err != nil {
			return err
		}
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		if err := enc.Encode(f, img); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	for i := range n {
		if err := write(fmt.Sprintf("big%d.png", i), side, side, i); err != nil {
			return err
		}
		fmt.Fprintf(meta, "big%d.png,%d,male,white\n", i, 30+i)
	}
	for i := range 40 {
		if err := write(fmt.Sprintf("s%02d.png", i), 200, 200, 100+i); err != nil {
			return err
		}
		fmt.Fprintf(meta, "s%02d.png,%d,female,asian\n", i, 20+i)
	}
	return nil
}
