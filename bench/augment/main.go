// Command augment-bench measures augmentation throughput of package
// augment on UTKFace faces: JPEGs decoded to 200×200 RGB (decoding is not
// timed), then a fixed recipe (flip, rotate ±10°, random resized crop to
// 64×64, colour jitter, Gaussian blur) on a pool of goroutines. run.sh
// runs it beside the Pillow + albumentations peer (peer.py) on the same
// images and prints the ratio.
package main

import (
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/disintegration/gift"

	"fairage/augment"
)

// recipe is the benchmark's recipe; peer.py mirrors it with albumentations.
var recipe = augment.Recipe{
	Flip:       augment.Toggle{P: 0.5},
	Rotate:     augment.Rotate{P: 1, Degrees: 10},
	Crop:       augment.Crop{P: 1, Scale: augment.Range{Min: 0.8, Max: 1}, Ratio: augment.Range{Min: 0.9, Max: 1.1}},
	Brightness: augment.Jitter{P: 1, Range: augment.Range{Min: -0.2, Max: 0.2}},
	Contrast:   augment.Jitter{P: 1, Range: augment.Range{Min: -0.2, Max: 0.2}},
	Saturation: augment.Jitter{P: 1, Range: augment.Range{Min: -0.2, Max: 0.2}},
	Hue:        augment.Jitter{P: 1, Range: augment.Range{Min: -10, Max: 10}},
	Blur:       augment.Jitter{P: 1, Range: augment.Range{Min: 0.1, Max: 1}},
}

func main() {
	dir := flag.String("dir", "../shared/datasets/utkface/images", "folder of UTKFace JPEGs")
	n := flag.Int("n", 2000, "images to augment (the first n by name)")
	workers := flag.Int("workers", 2, "goroutines")
	size := flag.Int("size", 64, "output height and width")
	flag.Parse()
	if err := run(*dir, *n, *workers, *size); err != nil {
		fmt.Fprintln(os.Stderr, "augment-bench:", err)
		os.Exit(1)
	}
}

func run(dir string, n, workers, size int) error {
	imgs, h, w, err := load(dir, n)
	if err != nil {
		return err
	}
	a, err := augment.New(augment.Options{Mode: augment.ModeOnline, Recipe: recipe})
	if err != nil {
		return err
	}
	// Warm up (page in code, fill buffer pools) outside the timing.
	if _, err := pass(a, imgs[:min(100, len(imgs))], h, w, size, workers); err != nil {
		return err
	}
	elapsed, err := pass(a, imgs, h, w, size, workers)
	if err != nil {
		return err
	}
	fmt.Printf("go workers=%d images=%d size=%dx%d->%dx%d seconds=%.3f images_per_s=%.1f\n",
		workers, len(imgs), h, w, size, size, elapsed.Seconds(), float64(len(imgs))/elapsed.Seconds())
	return nil
}

// pass augments every image once, split into contiguous shares, and
// returns the slowest worker's time (as peer.py does).
func pass(a *augment.Augmenter, imgs [][]byte, h, w, size, workers int) (time.Duration, error) {
	var wg sync.WaitGroup
	times := make([]time.Duration, workers)
	errs := make([]error, workers)
	share := (len(imgs) + workers - 1) / workers
	for k := range workers {
		lo, hi := min(k*share, len(imgs)), min((k+1)*share, len(imgs))
		wg.Add(1)
		go func() {
			defer wg.Done()
			dst := make([]byte, size*size*3)
			start := time.Now()
			for i := lo; i < hi; i++ {
				if err := a.Apply(dst, size, size, imgs[i], h, w, uint64(i), 0); err != nil {
					errs[k] = err
					return
				}
			}
			times[k] = time.Since(start)
		}()
	}
	wg.Wait()
	slowest := time.Duration(0)
	for k := range workers {
		if errs[k] != nil {
			return 0, errs[k]
		}
		slowest = max(slowest, times[k])
	}
	return slowest, nil
}

// load decodes the first n JPEGs of dir (by name) to HWC RGB.
func load(dir string, n int) ([][]byte, int, int, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if err != nil {
		return nil, 0, 0, err
	}
	if len(names) < n {
		return nil, 0, 0, fmt.Errorf("%s holds %d JPEGs, need %d", dir, len(names), n)
	}
	sort.Strings(names)
	out := make([][]byte, n)
	var h, w int
	for i, name := range names[:n] {
		img, err := decode(name)
		if err != nil {
			return nil, 0, 0, err
		}
		b := img.Bounds()
		if i == 0 {
			h, w = b.Dy(), b.Dx()
		} else if b.Dy() != h || b.Dx() != w {
			return nil, 0, 0, fmt.Errorf("%s is %dx%d, expected %dx%d", name, b.Dx(), b.Dy(), w, h)
		}
		out[i] = rgb(img)
	}
	return out, h, w, nil
}

func decode(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return img, nil
}

func rgb(img image.Image) []byte {
	b := img.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	gift.New().Draw(n, img)
	out := make([]byte, 0, b.Dx()*b.Dy()*3)
	for i := 0; i < len(n.Pix); i += 4 {
		out = append(out, n.Pix[i], n.Pix[i+1], n.Pix[i+2])
	}
	return out
}
