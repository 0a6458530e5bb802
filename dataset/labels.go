package dataset

import (
	"fmt"
	"math"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// parseAge reads an age field. Empty, non-numeric and non-finite text is
// a problem of the row; the range is checked later by Ingest.
func parseAge(text, column string) (float64, *Problem) {
	if text == "" {
		return math.NaN(), &Problem{ReasonInvalidAge, fmt.Sprintf("column %s: the age is empty", column)}
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return math.NaN(), &Problem{ReasonInvalidAge, fmt.Sprintf("column %s: %q is not a number", column, text)}
	}
	return v, nil
}

// parseOptionalAge is parseAge where an empty field means unknown (NaN).
func parseOptionalAge(text, column string) (float64, *Problem) {
	if text == "" {
		return math.NaN(), nil
	}
	return parseAge(text, column)
}

// mapValue maps a raw label through m, whose keys are lower-case, ignoring
// case; an unmapped label comes back lower-cased, so "Male" and "male"
// agree and an unknown value reaches Ingest to be rejected by name.
func mapValue(m map[string]string, raw string) string {
	if raw == "" {
		return ""
	}
	low := strings.ToLower(raw)
	if v, ok := m[low]; ok {
		return v
	}
	return low
}

// stripExt drops a file name's extensions ("utk_1.jpg" → "utk_1",
// "000001.jpg_face.jpg" → "000001"). APPA-REAL's ids are file names cut
// this way; other adapters use idFromPath.
func stripExt(name string) string {
	if i := strings.IndexByte(name, '.'); i > 0 {
		return name[:i]
	}
	return name
}

// idFromPath is the sample id of an image listed at path (relative to
// the image folder): the cleaned path, slash separated, without its image
// extension. "sub/../a.1.jpg" → "a.1"; "sub/x.jpg" and "x.jpg" stay apart.
func idFromPath(p string) string {
	c := path.Clean(filepath.ToSlash(p))
	if isImageName(c) {
		c = strings.TrimSuffix(c, path.Ext(c))
	}
	return c
}
