package augment

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"sort"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"fairage/dataset"
)

// SheetRow is one row of a contact sheet: a sample as it is, then as
// augmented with each seed (at OfflineEpoch, so copies look exactly as the
// offline file holds them).
type SheetRow struct {
	Label    string
	SampleID string
	Seeds    []uint64
}

// SheetRows picks one sample per group of the attributes by (values joined
// by "×", unknown values as "unknown"): the sample with the most copies in
// the plan, ties to the smallest id. Its seeds are those of its first
// copies; when it has fewer than copies, the rest are drawn from its
// original's seed, as online augmentation would in later epochs.
func SheetRows(samples []dataset.Sample, plan []dataset.PlanRow, by []string, copies int) []SheetRow {
	seeds := map[string][]uint64{} // sample id -> seeds of copy 0, 1, ...
	for _, r := range plan {
		s := seeds[r.SampleID]
		for len(s) <= int(r.Copy) {
			s = append(s, 0)
		}
		s[r.Copy] = r.AugSeed
		seeds[r.SampleID] = s
	}
	best := map[string]string{} // group -> sample id
	for i := range samples {
		s := &samples[i]
		if _, inPlan := seeds[s.ID]; !inPlan {
			continue
		}
		g := groupLabel(s, by)
		cur, ok := best[g]
		if !ok || len(seeds[s.ID]) > len(seeds[cur]) || (len(seeds[s.ID]) == len(seeds[cur]) && s.ID < cur) {
			best[g] = s.ID
		}
	}
	groups := make([]string, 0, len(best))
	for g := range best {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	rows := make([]SheetRow, len(groups))
	for i, g := range groups {
		id := best[g]
		own := seeds[id]
		row := SheetRow{Label: g, SampleID: id}
		for k := 1; k <= copies; k++ {
			if k < len(own) {
				row.Seeds = append(row.Seeds, own[k])
			} else {
				row.Seeds = append(row.Seeds, EpochSeed(own[0], k))
			}
		}
		rows[i] = row
	}
	return rows
}

func groupLabel(s *dataset.Sample, by []string) string {
	if len(by) == 0 {
		return "all"
	}
	v := make([]string, len(by))
	for j, a := range by {
		if v[j] = s.Attr(a); v[j] == "" {
			v[j] = "unknown"
		}
	}
	return strings.Join(v, "×")
}

// Sheet layout, in pixels.
const (
	sheetGap    = 4
	sheetHeader = 20
	fontSize    = 12 // points at 72 dpi: pixels
)

// labelFace is the Go Regular font (golang.org/x/image/font/gofont, BSD
// licensed, compiled in), so labels are measured and never overlap, and
// every rune of a group name (×, accents) has a glyph.
var labelFace = sync.OnceValues(func() (font.Face, error) {
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, err
	}
	return opentype.NewFace(f, &opentype.FaceOptions{Size: fontSize, DPI: 72, Hinting: font.HintingFull})
})

// textWidth is the width of s in pixels, rounded up.
func textWidth(face font.Face, s string) int {
	return font.MeasureString(face, s).Ceil()
}

// sheetLayout places the columns of a contact sheet: the row labels, the
// original (as wide as its heading, so the heading of the copies after it
// cannot run into it), then the copies.
type sheetLayout struct {
	labelW, origW, cols, tileW, width int
}

func (l sheetLayout) colX(c int) int {
	if c == 0 {
		return l.labelW
	}
	return l.labelW + l.origW + sheetGap + (c-1)*(l.tileW+sheetGap)
}

func layoutSheet(face font.Face, rows []SheetRow, wd int) sheetLayout {
	l := sheetLayout{tileW: wd}
	for _, r := range rows {
		l.cols = max(l.cols, 1+len(r.Seeds))
		l.labelW = max(l.labelW, textWidth(face, r.Label))
	}
	l.labelW += 2 * sheetGap
	l.origW = max(wd, textWidth(face, "original")+sheetGap)
	l.width = l.colX(l.cols) + sheetGap
	if l.cols > 1 {
		l.width = max(l.width, l.colX(1)+textWidth(face, "augmented copies")+sheetGap)
	}
	return l
}

// ContactSheet writes a PNG with one row per SheetRow: the label, the
// original image from src, and its augmentations. The report shows it so
// a reader can judge whether the recipe keeps faces recognisable.
func (a *Augmenter) ContactSheet(w io.Writer, src *dataset.Packed, rows []SheetRow) error {
	if len(rows) == 0 {
		return fmt.Errorf("augment: contact sheet has no rows")
	}
	face, err := labelFace()
	if err != nil {
		return fmt.Errorf("augment: contact sheet font: %w", err)
	}
	h, wd := src.Height(), src.Width()
	lay := layoutSheet(face, rows, wd)
	labelW, colX, cols, width := lay.labelW, lay.colX, lay.cols, lay.width
	sheet := image.NewNRGBA(image.Rect(0, 0, width, sheetHeader+len(rows)*(h+sheetGap)+sheetGap))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.NRGBA{0xf4, 0xf4, 0xf4, 0xff}), image.Point{}, draw.Src)
	text(sheet, face, labelW, sheetHeader-6, "original")
	if cols > 1 {
		text(sheet, face, colX(1), sheetHeader-6, "augmented copies")
	}
	tile := image.NewNRGBA(image.Rect(0, 0, wd, h))
	buf := make([]byte, h*wd*3)
	for ri, r := range rows {
		i, ok := src.Index(r.SampleID)
		if !ok {
			return fmt.Errorf("augment: contact sheet row %q: sample %q is not in the packed images", r.Label, r.SampleID)
		}
		y := sheetHeader + ri*(h+sheetGap)
		text(sheet, face, sheetGap, y+h/2+fontSize/3, r.Label)
		img := src.Image(i)
		for c := 0; c <= len(r.Seeds); c++ {
			pix := img
			if c > 0 {
				if err := a.Apply(buf, h, wd, img, h, wd, r.Seeds[c-1], OfflineEpoch); err != nil {
					return fmt.Errorf("augment: contact sheet row %q: %w", r.Label, err)
				}
				pix = buf
			}
			fromRGB(tile, pix)
			x := colX(c)
			draw.Draw(sheet, image.Rect(x, y, x+wd, y+h), tile, image.Point{}, draw.Src)
		}
	}
	if err := png.Encode(w, sheet); err != nil {
		return fmt.Errorf("augment: contact sheet: %w", err)
	}
	return nil
}

// text draws s with its baseline at (x, y).
func text(img draw.Image, face font.Face, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.NRGBA{0x20, 0x20, 0x20, 0xff}), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
