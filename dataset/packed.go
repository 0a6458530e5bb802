package dataset

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// The packed-image file holds decoded, resized RGB uint8 images back to back
// so that training memory-maps pixels instead of decoding JPEGs every epoch.
//
// Layout (little endian):
//
//	[0:8)    magic "FAIRPACK"
//	[8:12)   format version (1)
//	[12:16)  height
//	[16:20)  width
//	[20:24)  channels (3)
//	[24:32)  image count n
//	[32:40)  byte offset of the id index
//	[40:64)  reserved (zero)
//	[64:...) n images, each height*width*channels bytes, HWC order
//	index:   n ids, each a uint32 length followed by its bytes
const (
	packedMagic      = "FAIRPACK"
	packedVersion    = 1
	packedHeaderSize = 64
	packedChannels   = 3
)

// PackWriter appends images to a packed-image file. The file only appears at
// its final path on Close; Abort (or a crash) leaves nothing behind there.
type PackWriter struct {
	path          string
	tmp           *os.File
	height, width int
	ids           []string
	seen          map[string]struct{}
	offset        int64
	dropped       map[string]bool
}

// CreatePacked starts a packed-image file of height×width RGB images.
func CreatePacked(path string, height, width int) (*PackWriter, error) {
	if height <= 0 || width <= 0 {
		return nil, fmt.Errorf("packed images %s: size %dx%d must be positive", path, height, width)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("packed images %s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("packed images %s: %w", path, err)
	}
	if _, err := f.Write(make([]byte, packedHeaderSize)); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("packed images %s: %w", path, err)
	}
	return &PackWriter{path: path, tmp: f, height: height, width: width,
		seen: map[string]struct{}{}, offset: packedHeaderSize}, nil
}

// ImageBytes is the size of one image in bytes.
func (w *PackWriter) ImageBytes() int { return w.height * w.width * packedChannels }

// Append adds one image: pixels is height*width*3 bytes in HWC RGB order.
func (w *PackWriter) Append(id string, pixels []byte) error {
	if len(pixels) != w.ImageBytes() {
		return fmt.Errorf("packed images %s: image %q has %d bytes, expected %d (%dx%dx3)",
			w.path, id, len(pixels), w.ImageBytes(), w.height, w.width)
	}
	if _, dup := w.seen[id]; dup {
		return fmt.Errorf("packed images %s: duplicate id %q", w.path, id)
	}
	if _, err := w.tmp.Write(pixels); err != nil {
		return fmt.Errorf("packed images %s: %w", w.path, err)
	}
	w.seen[id] = struct{}{}
	w.ids = append(w.ids, id)
	w.offset += int64(len(pixels))
	return nil
}

// Len is the number of images appended so far and not dropped.
func (w *PackWriter) Len() int { return len(w.ids) - len(w.dropped) }

// Drop removes an appended image: Close leaves it out of the file. (Rows
// found later to conflict with another are dropped; this is rare, so
// Close then rewrites the file rather than every Append paying for it.)
func (w *PackWriter) Drop(id string) {
	if _, ok := w.seen[id]; !ok {
		return
	}
	if w.dropped == nil {
		w.dropped = map[string]bool{}
	}
	w.dropped[id] = true
}

// compact copies the kept images of the temporary file into a new one.
func (w *PackWriter) compact() error {
	nf, err := os.CreateTemp(filepath.Dir(w.path), "."+filepath.Base(w.path)+".tmp-*")
	if err != nil {
		return err
	}
	fail := func(err error) error {
		nf.Close()
		os.Remove(nf.Name())
		return err
	}
	if _, err := nf.Write(make([]byte, packedHeaderSize)); err != nil {
		return fail(err)
	}
	buf := make([]byte, w.ImageBytes())
	kept := make([]string, 0, len(w.ids)-len(w.dropped))
	for i, id := range w.ids {
		if w.dropped[id] {
			continue
		}
		if _, err := w.tmp.ReadAt(buf, packedHeaderSize+int64(i)*int64(len(buf))); err != nil {
			return fail(err)
		}
		if _, err := nf.Write(buf); err != nil {
			return fail(err)
		}
		kept = append(kept, id)
	}
	w.tmp.Close()
	os.Remove(w.tmp.Name())
	w.tmp, w.ids, w.dropped = nf, kept, nil
	w.offset = packedHeaderSize + int64(len(kept))*int64(len(buf))
	return nil
}

// Close writes the index and header, syncs, and renames the file into place.
func (w *PackWriter) Close() error {
	fail := func(err error) error {
		w.Abort()
		return fmt.Errorf("packed images %s: %w", w.path, err)
	}
	if len(w.dropped) > 0 {
		if err := w.compact(); err != nil {
			return fail(err)
		}
	}
	var buf []byte
	for _, id := range w.ids {
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(id)))
		buf = append(buf, id...)
	}
	if _, err := w.tmp.Write(buf); err != nil {
		return fail(err)
	}
	hdr := make([]byte, packedHeaderSize)
	copy(hdr, packedMagic)
	binary.LittleEndian.PutUint32(hdr[8:], packedVersion)
	binary.LittleEndian.PutUint32(hdr[12:], uint32(w.height))
	binary.LittleEndian.PutUint32(hdr[16:], uint32(w.width))
	binary.LittleEndian.PutUint32(hdr[20:], packedChannels)
	binary.LittleEndian.PutUint64(hdr[24:], uint64(len(w.ids)))
	binary.LittleEndian.PutUint64(hdr[32:], uint64(w.offset))
	if _, err := w.tmp.WriteAt(hdr, 0); err != nil {
		return fail(err)
	}
	if err := w.tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := w.tmp.Close(); err != nil {
		return fail(err)
	}
	// CreateTemp makes the file private (0600); give it the mode of every
	// other artifact, as atomicfile does.
	if err := os.Chmod(w.tmp.Name(), 0o644); err != nil {
		return fail(err)
	}
	if err := os.Rename(w.tmp.Name(), w.path); err != nil {
		os.Remove(w.tmp.Name())
		return fmt.Errorf("packed images %s: %w", w.path, err)
	}
	return nil
}

// Abort discards the partial file.
func (w *PackWriter) Abort() {
	w.tmp.Close()
	os.Remove(w.tmp.Name())
}

// Packed is a read-only, memory-mapped packed-image file. It is safe for
// concurrent readers.
type Packed struct {
	data          []byte
	height, width int
	ids           []string
	index         map[string]int
}

// OpenPacked memory-maps the packed-image file at path.
func OpenPacked(path string) (*Packed, error) {
	f, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("open packed images: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open packed images %s: %w", path, err)
	}
	if st.Size() < packedHeaderSize {
		return nil, fmt.Errorf("open packed images %s: file is %d bytes, too short for a header", path, st.Size())
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("open packed images %s: mmap: %w", path, err)
	}
	p, err := parsePacked(data)
	if err != nil {
		syscall.Munmap(data)
		return nil, fmt.Errorf("open packed images %s: %w", path, err)
	}
	return p, nil
}

func parsePacked(data []byte) (*Packed, error) {
	if string(data[:8]) != packedMagic {
		return nil, errors.New("not a packed-image file (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != packedVersion {
		return nil, fmt.Errorf("format version %d, expected %d", v, packedVersion)
	}
	h := int(binary.LittleEndian.Uint32(data[12:]))
	w := int(binary.LittleEndian.Uint32(data[16:]))
	c := int(binary.LittleEndian.Uint32(data[20:]))
	n := binary.LittleEndian.Uint64(data[24:])
	idxOff := binary.LittleEndian.Uint64(data[32:])
	if c != packedChannels || h <= 0 || w <= 0 {
		return nil, fmt.Errorf("bad image shape %dx%dx%d", h, w, c)
	}
	if want := uint64(packedHeaderSize) + n*uint64(h*w*c); idxOff != want || idxOff > uint64(len(data)) {
		return nil, fmt.Errorf("truncated or corrupt: index at %d, expected %d (file %d bytes)", idxOff, want, len(data))
	}
	p := &Packed{data: data, height: h, width: w, ids: make([]string, 0, n), index: make(map[string]int, n)}
	rest := data[idxOff:]
	for i := uint64(0); i < n; i++ {
		if len(rest) < 4 {
			return nil, io.ErrUnexpectedEOF
		}
		l := binary.LittleEndian.Uint32(rest)
		if uint64(len(rest)-4) < uint64(l) {
			return nil, io.ErrUnexpectedEOF
		}
		id := string(rest[4 : 4+l])
		rest = rest[4+l:]
		p.index[id] = len(p.ids)
		p.ids = append(p.ids, id)
	}
	return p, nil
}

// Len is the number of images.
func (p *Packed) Len() int { return len(p.ids) }

// Height is the image height in pixels.
func (p *Packed) Height() int { return p.height }

// Width is the image width in pixels.
func (p *Packed) Width() int { return p.width }

// ID is the sample id of image i.
func (p *Packed) ID(i int) string { return p.ids[i] }

// Index returns the position of the image with the given sample id.
func (p *Packed) Index(id string) (int, bool) {
	i, ok := p.index[id]
	return i, ok
}

// Image returns the HWC RGB bytes of image i. The slice aliases the mapped
// file: it must not be written to and is invalid after Close.
func (p *Packed) Image(i int) []byte {
	sz := p.height * p.width * packedChannels
	off := packedHeaderSize + i*sz
	return p.data[off : off+sz : off+sz]
}

// Close unmaps the file.
func (p *Packed) Close() error {
	if p.data == nil {
		return nil
	}
	err := syscall.Munmap(p.data)
	p.data = nil
	return err
}
