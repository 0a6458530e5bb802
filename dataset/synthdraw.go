package dataset

import (
	"image"
	"math"
	"math/rand/v2"
)

// face is everything needed to draw one synthetic image; drawing depends
// only on these fields, so a face can be drawn again on any goroutine and
// gives the same pixels.
type face struct {
	size       int
	seed       uint64
	cueAge     float64 // the age the features show: labelled age + noise
	gender     string
	genderIdx  int
	tone       int // skin tone index: position of the ethnicity value
	expression string
	exprIdx    int
}

type rgb [3]float64

// Skin tones by ethnicity position, light to dark, then repeated.
var skinTones = []rgb{{236, 200, 170}, {196, 148, 108}, {128, 86, 58}, {224, 180, 138}, {98, 64, 44}}

// Hair base colours before greying.
var hairColors = []rgb{{40, 28, 20}, {70, 45, 25}, {20, 18, 18}, {150, 110, 60}, {110, 70, 40}}

var silver = rgb{215, 215, 220}

func (f *face) draw() *image.RGBA {
	rng := rand.New(rand.NewPCG(f.seed, uint64(f.size)))
	c := &canvas{img: image.NewRGBA(image.Rect(0, 0, f.size, f.size)), s: float64(f.size)}
	t := f.cueAge
	grow := min(t/18, 1)            // childhood growth: 0 at birth, 1 from 18
	adult := clamp01((t - 18) / 60) // slow adult change
	grey := smoothstep(35, 75, t)
	line := max(1, c.s/64) / c.s // one pixel at 64×64, in unit coordinates

	// Background: a muted colour with a vertical gradient.
	bg := rgb{60 + 120*rng.Float64(), 60 + 120*rng.Float64(), 60 + 120*rng.Float64()}
	c.fill(func(_, y float64) rgb { return mix(bg, rgb{30, 30, 30}, 0.4*y) })

	headScale := (0.78 + 0.22*grow) * (1 + 0.08*(rng.Float64()-0.5))
	rx := 0.27 * headScale
	ry := rx * (1.0 + 0.22*grow + 0.06*adult)
	cx := 0.5 + 0.06*(rng.Float64()-0.5)
	cy := 0.54 + 0.06*(rng.Float64()-0.5)

	skin := skinTones[f.tone%len(skinTones)]
	skin = skin.add(12 * (rng.Float64() - 0.5))
	skin = mix(skin, skin.grey(), 0.3*smoothstep(50, 90, t))
	hair := mix(hairColors[rng.IntN(len(hairColors))], silver, grey)
	longHair := f.gender == "female" || (f.gender != "male" && f.genderIdx%2 == 0)

	if longHair {
		c.ellipse(cx, cy+0.08, rx*1.28, ry*1.18, hair, 1, 1)
	}
	c.ellipse(cx, cy+ry*0.95, rx*0.42, ry*0.45, skin.scale(0.85), 1, 1) // neck
	c.ellipse(cx, cy, rx, ry, skin, 1, 1)
	// Hair cap above the hairline; short hair recedes with age.
	recede := 0.0
	if !longHair {
		recede = 0.45 * smoothstep(45, 85, t)
	}
	hairline := cy - ry*(0.55-recede)
	c.ellipse(cx, cy-ry*0.25, rx*1.06, ry*0.85, hair, 1, hairline)

	eyeY := cy + ry*(0.10-0.24*grow)
	eyeR := rx * (0.21 - 0.08*grow)
	eyeDX := rx * (0.40 + 0.04*(rng.Float64()-0.5))
	mouthY := cy + ry*(0.40+0.15*grow)
	noseY := (eyeY + mouthY) / 2
	dark := skin.scale(0.6)

	for _, side := range []float64{-1, 1} {
		ex := cx + side*eyeDX
		c.ellipse(ex, eyeY, eyeR, eyeR*0.7, rgb{245, 245, 245}, 1, 1)
		c.ellipse(ex, eyeY, eyeR*0.5, eyeR*0.55, rgb{35, 30, 30}, 1, 1)
		// Eyebrows take the hair colour, so they grey too.
		browY := eyeY - eyeR*1.5
		c.stroke(ex-eyeR*1.1, browY+side*0, ex+eyeR*1.1, browY-eyeR*0.2, 1.6*line, hair, 1)
		if t > 50 { // heavy lids and bags
			a := 0.6 * smoothstep(50, 80, t)
			c.curve(ex-eyeR, eyeY-eyeR*0.55, ex, eyeY-eyeR*1.1, ex+eyeR, eyeY-eyeR*0.55, line, dark, a)
			c.curve(ex-eyeR*0.9, eyeY+eyeR*0.9, ex, eyeY+eyeR*1.4, ex+eyeR*0.9, eyeY+eyeR*0.9, line, dark, a)
		}
		if t > 38 { // crow's feet at the outer corner
			a := 0.35 + 0.45*smoothstep(38, 75, t)
			ox := ex + side*eyeR*1.2
			for k := -1.0; k <= 1; k++ {
				c.stroke(ox, eyeY+k*eyeR*0.35, ox+side*eyeR*0.9, eyeY+k*eyeR*0.8, line, dark, a)
			}
		}
	}
	// Forehead lines: more and darker with age.
	if n := int(clamp01((t-28)/40) * 5.99); n > 0 {
		a := 0.35 + 0.45*smoothstep(30, 80, t)
		top, bottom := hairline+ry*0.08, eyeY-eyeR*2.1
		for k := range n {
			y := bottom - (bottom-top)*float64(k+1)/float64(n+1)
			c.curve(cx-rx*0.55, y, cx, y-ry*0.04, cx+rx*0.55, y, line, dark, a)
		}
	}
	// Nose.
	c.stroke(cx, eyeY+eyeR, cx-rx*0.06, noseY+ry*0.05, line, dark, 0.7)
	c.stroke(cx-rx*0.06, noseY+ry*0.05, cx+rx*0.08, noseY+ry*0.06, line, dark, 0.7)
	// Nasolabial folds.
	if t > 32 {
		a := 0.3 + 0.5*smoothstep(32, 75, t)
		for _, side := range []float64{-1, 1} {
			c.curve(cx+side*rx*0.18, noseY, cx+side*rx*0.36, noseY+ry*0.12, cx+side*rx*0.32, mouthY+ry*0.06, line, dark, a)
		}
	}
	f.mouth(c, cx, mouthY, rx, ry, line)
	// Age spots.
	if t > 60 {
		for range int(smoothstep(60, 90, t) * 6) {
			sx := cx + rx*(rng.Float64()*1.4-0.7)
			sy := cy + ry*(rng.Float64()*1.0-0.6)
			c.ellipse(sx, sy, line*1.2, line*1.2, skin.scale(0.75), 0.6, 1)
		}
	}
	c.noise(rng, 5)
	return c.img
}

// mouth draws a curve whose bend follows the expression: a smile for
// happy, a slight one for slightlyhappy, flat for neutral, an open mouth
// for other.
func (f *face) mouth(c *canvas, cx, y, rx, ry, line float64) {
	lip := rgb{150, 60, 60}
	bend := map[string]float64{"happy": 1, "slightlyhappy": 0.45, "neutral": 0}
	b, known := bend[f.expression]
	if !known && f.expression != "other" {
		b = 1 - 0.5*float64(f.exprIdx%4) // unknown names: spread by position
	}
	w := rx * (0.42 + 0.08*b)
	if f.expression == "other" {
		c.ellipse(cx, y, w*0.5, ry*0.07, rgb{70, 25, 25}, 1, 1)
		return
	}
	c.curve(cx-w, y, cx, y+ry*0.16*b, cx+w, y, 1.8*line, lip, 1)
}

// canvas draws anti-aliased shapes in unit coordinates ([0,1]² maps to the
// image) onto an RGBA image.
type canvas struct {
	img *image.RGBA
	s   float64 // side in pixels
}

func (c *canvas) fill(col func(x, y float64) rgb) {
	n := c.img.Rect.Dx()
	for y := range n {
		for x := range n {
			c.set(x, y, col(float64(x)/c.s, float64(y)/c.s), 1)
		}
	}
}

func (c *canvas) set(x, y int, col rgb, a float64) {
	i := c.img.PixOffset(x, y)
	p := c.img.Pix[i : i+4 : i+4]
	for k := range 3 {
		p[k] = clampByte(float64(p[k])*(1-a) + col[k]*a)
	}
	p[3] = 255
}

// ellipse fills an ellipse with opacity alpha, only above maxY (unit
// coordinates; 1 or more draws it whole).
func (c *canvas) ellipse(cx, cy, rx, ry float64, col rgb, alpha, maxY float64) {
	px, py, prx, pry := cx*c.s, cy*c.s, max(rx*c.s, 0.5), max(ry*c.s, 0.5)
	x0, x1 := c.clampX(px-prx-1), c.clampX(px+prx+1)
	y0, y1 := c.clampX(py-pry-1), c.clampX(min(py+pry+1, maxY*c.s))
	r := min(prx, pry)
	for y := y0; y <= y1; y++ {
		fy := float64(y) + 0.5
		if fy > maxY*c.s {
			break
		}
		for x := x0; x <= x1; x++ {
			dx, dy := (float64(x)+0.5-px)/prx, (fy-py)/pry
			d := (math.Sqrt(dx*dx+dy*dy) - 1) * r // approximate distance to the edge in pixels
			if a := clamp01(0.5 - d); a > 0 {
				c.set(x, y, col, a*alpha)
			}
		}
	}
}

// stroke draws a segment of width w (unit coordinates).
func (c *canvas) stroke(x0, y0, x1, y1, w float64, col rgb, alpha float64) {
	ax, ay, bx, by, hw := x0*c.s, y0*c.s, x1*c.s, y1*c.s, w*c.s/2
	minX, maxX := c.clampX(min(ax, bx)-hw-1), c.clampX(max(ax, bx)+hw+1)
	minY, maxY := c.clampX(min(ay, by)-hw-1), c.clampX(max(ay, by)+hw+1)
	vx, vy := bx-ax, by-ay
	l2 := vx*vx + vy*vy
	for y := minY; y <= maxY; y++ {
		for x := minX; x <= maxX; x++ {
			qx, qy := float64(x)+0.5-ax, float64(y)+0.5-ay
			u := 0.0
			if l2 > 0 {
				u = clamp01((qx*vx + qy*vy) / l2)
			}
			dx, dy := qx-u*vx, qy-u*vy
			if a := clamp01(hw + 0.5 - math.Sqrt(dx*dx+dy*dy)); a > 0 {
				c.set(x, y, col, a*alpha)
			}
		}
	}
}

// curve draws a quadratic Bézier from (x0,y0) to (x2,y2) bent towards
// (x1,y1), as short segments.
func (c *canvas) curve(x0, y0, x1, y1, x2, y2, w float64, col rgb, alpha float64) {
	const steps = 8
	px, py := x0, y0
	for i := 1; i <= steps; i++ {
		t := float64(i) / steps
		u := 1 - t
		qx := u*u*x0 + 2*u*t*x1 + t*t*x2
		qy := u*u*y0 + 2*u*t*y1 + t*t*y2
		c.stroke(px, py, qx, qy, w, col, alpha)
		px, py = qx, qy
	}
}

// noise adds Gaussian pixel noise of the given standard deviation.
func (c *canvas) noise(rng *rand.Rand, sd float64) {
	pix := c.img.Pix
	for i := 0; i < len(pix); i += 4 {
		for k := range 3 {
			pix[i+k] = clampByte(float64(pix[i+k]) + rng.NormFloat64()*sd)
		}
	}
}

func (c *canvas) clampX(v float64) int {
	return int(min(max(math.Floor(v), 0), c.s-1))
}

func (a rgb) scale(f float64) rgb { return rgb{a[0] * f, a[1] * f, a[2] * f} }
func (a rgb) add(d float64) rgb   { return rgb{a[0] + d, a[1] + d, a[2] + d} }
func (a rgb) grey() rgb {
	g := (a[0] + a[1] + a[2]) / 3
	return rgb{g, g, g}
}

func mix(a, b rgb, t float64) rgb {
	return rgb{a[0] + (b[0]-a[0])*t, a[1] + (b[1]-a[1])*t, a[2] + (b[2]-a[2])*t}
}

func smoothstep(lo, hi, x float64) float64 {
	t := clamp01((x - lo) / (hi - lo))
	return t * t * (3 - 2*t)
}

func clamp01(v float64) float64 { return min(max(v, 0), 1) }

func clampByte(v float64) uint8 { return uint8(min(max(math.Round(v), 0), 255)) }
