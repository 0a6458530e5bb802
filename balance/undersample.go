package balance

import (
	"fmt"
)

// undersampleJoint cuts every cell above the target level down to it,
// keeping a seeded random choice of its members; smaller cells are kept
// whole.
func undersampleJoint(p *population, t target, o Options, d *draft, ns *notes) error {
	lvl := max(1, int(t.level(cellSizes(p.cells))))
	if small := smallest(p.cells); t.kind == targetCount && lvl > small.size() {
		return fmt.Errorf("balance.target: %s is above the smallest cell (%s: %d); undersample cannot grow cells",
			t.text, small.key, small.size())
	}
	dropped, cut := 0, 0
	for ci := range p.cells {
		c := &p.cells[ci]
		if c.size() <= lvl {
			continue
		}
		cut++
		keep := cellRand(o.Seed, c.key).Perm(c.size())[:lvl]
		for _, i := range c.members {
			d.times[i] = 0
		}
		for _, k := range keep {
			d.times[c.members[k]] = 1
		}
		dropped += c.size() - lvl
	}
	ns.info("undersampled %d of %d cells of %s to target %s = %d samples each: dropped %d training samples", cut, len(p.cells), attrName(p.attrs), t.text, lvl, dropped)
	if total := d.examples(); dropped > total {
		ns.warn("undersampling dropped more training samples (%d) than it kept (%d)", dropped, total)
	}
	return nil
}

func smallest(cells []cell) *cell {
	var s *cell
	for i := range cells {
		if s == nil || cells[i].size() < s.size() {
			s = &cells[i]
		}
	}
	return s
}
