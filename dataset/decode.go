package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register the decoders Ingest accepts: JPEG and PNG
	_ "image/png"
	"io"
)

// decodeConfig reads the header of JPEG or PNG bytes: the size and
// format, refusing empty images and images with more than maxPixels
// pixels. It returns the rejection reason with the error.
func decodeConfig(data []byte, maxPixels int64) (cfg image.Config, format, reason string, err error) {
	defer func() {
		if p := recover(); p != nil {
			reason, err = ReasonUndecodable, fmt.Errorf("the decoder failed on this file: %v", p)
		}
	}()
	cfg, format, err = image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return cfg, "", ReasonUndecodable, fmt.Errorf("truncated: the file ends inside the image header: %w", err)
	}
	if err != nil {
		return cfg, "", ReasonUndecodable, fmt.Errorf("not a readable JPEG or PNG: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, format, ReasonUndecodable, fmt.Errorf("%s declares an empty %dx%d image", format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > maxPixels {
		return cfg, format, ReasonImageTooLarge, fmt.Errorf("%s is %dx%d = %d pixels, above the limit of %d", format, cfg.Width, cfg.Height, px, maxPixels)
	}
	return cfg, format, "", nil
}

// decodeImage decodes JPEG or PNG bytes, refusing images with more than
// maxPixels pixels before allocating them (a small file can declare a huge
// canvas). It returns the rejection reason with the error.
func decodeImage(data []byte, maxPixels int64) (img image.Image, reason string, err error) {
	_, format, reason, err := decodeConfig(data, maxPixels)
	if err != nil {
		return nil, reason, err
	}
	return decodePixels(data, format)
}

// decodePixels decodes bytes whose header decodeConfig accepted.
func decodePixels(data []byte, format string) (img image.Image, reason string, err error) {
	// A decoder bug triggered by a crafted file must cost one row, not the
	// run.
	defer func() {
		if p := recover(); p != nil {
			img, reason, err = nil, ReasonUndecodable, fmt.Errorf("the decoder failed on this file: %v", p)
		}
	}()
	img, _, err = image.Decode(bytes.NewReader(data))
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, ReasonUndecodable, fmt.Errorf("%s is truncated: the file ends before the image data: %w", format, err)
	}
	if err != nil {
		return nil, ReasonUndecodable, fmt.Errorf("%s is corrupt or truncated: %w", format, err)
	}
	return img, "", nil
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
