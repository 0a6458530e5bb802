package dataset

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// validator runs the checks that need no image, in input order, so the
// first row with an id keeps it whatever the worker count.
type validator struct {
	opts    *IngestOptions
	root    *imageRoot
	allowed map[string]map[string]bool // attribute → allowed values; absent: any
	lists   map[string]string          // attribute → allowed values for messages
	seen    map[string]string          // id → where the first record with it is
	files   map[string]firstFile       // cleaned image path → its first valid row
	// conflicts are earlier rows (by sequence number) that a later row
	// showed to be conflicting duplicates; Ingest rejects them at the end.
	conflicts map[int]string
}

// firstFile is the first valid row listing an image file.
type firstFile struct {
	seq    int
	where  string
	listed string
	labels labels
}

// labels are what two rows listing one image must agree on.
type labels struct {
	age, realAge                  float64
	gender, ethnicity, expression string
}

func labelsOf(r *Record) labels {
	return labels{r.Age, r.RealAge, r.Gender, r.Ethnicity, r.Expression}
}

func sameAge(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }

// differ names the labels on which a and b disagree ("" when they agree).
func (a labels) differ(b labels) string {
	var d []string
	if !sameAge(a.age, b.age) {
		d = append(d, fmt.Sprintf("age %s vs %s", fmtAge(a.age), fmtAge(b.age)))
	}
	if !sameAge(a.realAge, b.realAge) {
		d = append(d, fmt.Sprintf("real_age %s vs %s", fmtAge(a.realAge), fmtAge(b.realAge)))
	}
	for _, f := range []struct{ name, x, y string }{
		{AttrGender, a.gender, b.gender}, {AttrEthnicity, a.ethnicity, b.ethnicity}, {AttrExpression, a.expression, b.expression},
	} {
		if f.x != f.y {
			d = append(d, fmt.Sprintf("%s %q vs %q", f.name, f.x, f.y))
		}
	}
	return strings.Join(d, ", ")
}

func newValidator(src Source, opts *IngestOptions, root *imageRoot) *validator {
	v := &validator{opts: opts, root: root, allowed: map[string]map[string]bool{},
		lists: map[string]string{}, seen: map[string]string{}, files: map[string]firstFile{}, conflicts: map[int]string{}}
	for _, attr := range []string{AttrGender, AttrEthnicity, AttrExpression} {
		values, ok := opts.Allowed[attr]
		if !ok {
			values = src.Vocabulary()[attr]
		}
		if len(values) == 0 {
			continue
		}
		set := map[string]bool{}
		for _, val := range values {
			set[val] = true
		}
		v.allowed[attr] = set
		v.lists[attr] = strings.Join(values, ", ")
	}
	v.allowed["split"] = map[string]bool{SplitTrain: true, SplitValid: true, SplitTest: true}
	v.lists["split"] = strings.Join([]string{SplitTrain, SplitValid, SplitTest}, ", ")
	return v
}

// check returns the image path relative to the root, or why rec (the
// seq-th record) is rejected. Checks run in a fixed order and the first
// failure is reported: the row itself, where its file is (a path leaving
// the root is reported as such whatever its id), its labels, whether its
// file was listed before (the same cleaned path), and last its id.
func (v *validator) check(rec *Record, seq int) (string, *Rejection) {
	col := rec.columns()
	reject := func(reason, format string, args ...any) (string, *Rejection) {
		id := rec.ID
		if id == "" {
			id = rec.File
		}
		return "", &Rejection{Source: rec.Source, Row: rec.Row, ID: id, Reason: reason, Detail: fmt.Sprintf(format, args...)}
	}
	if rec.Problem != nil {
		return reject(rec.Problem.Reason, "%s", rec.Problem.Detail)
	}
	if rec.ID == "" {
		return reject(ReasonMalformedRow, "column %s: the sample id is empty", col.ID)
	}
	// An id belongs to the first row that carries it, ingested or not: a
	// repeated id is a metadata error whatever happened to the first row.
	firstWithID, dupID := v.seen[rec.ID]
	if !dupID {
		v.seen[rec.ID] = where(rec)
	}
	rel := ""
	if rec.Render == nil {
		if rec.File == "" {
			return reject(ReasonMissingFile, "column %s: no image file is given", col.File)
		}
		if v.root == nil {
			return reject(ReasonMissingFile, "column %s: %q cannot be read: the source has no image folder", col.File, rec.File)
		}
		var err error
		if rel, err = v.root.localPath(rec.File); err != nil {
			return reject(ReasonPathEscapes, "column %s: %v", col.File, err)
		}
	}
	if msg := v.ageProblem(rec.Age); msg != "" {
		return reject(ReasonAgeOutOfRange, "column %s: %s", col.Age, msg)
	}
	if !math.IsNaN(rec.RealAge) {
		if msg := v.ageProblem(rec.RealAge); msg != "" {
			return reject(ReasonAgeOutOfRange, "column %s: %s", col.RealAge, msg)
		}
	}
	for _, a := range []struct{ attr, column, value string }{
		{AttrGender, col.Gender, rec.Gender},
		{AttrEthnicity, col.Ethnicity, rec.Ethnicity},
		{AttrExpression, col.Expression, rec.Expression},
		{"split", col.Split, rec.Split},
	} {
		if set, ok := v.allowed[a.attr]; ok && a.value != "" && !set[a.value] {
			return reject(ReasonUnknownValue, "column %s: %q is not one of %s", a.column, a.value, v.lists[a.attr])
		}
	}
	if rel != "" {
		// The same file listed twice, however its path is written
		// (sub/../x.jpg, ./x.jpg): one image must not count twice, or
		// sit in train and test with two labels.
		if first, dup := v.files[rel]; dup {
			if d := first.labels.differ(labelsOf(rec)); d != "" {
				v.conflicts[first.seq] = fmt.Sprintf("column %s: %q is listed again at %s (%q) with other labels (%s); both rows are rejected",
					col.File, first.listed, where(rec), rec.File, d)
				return reject(ReasonConflictingDuplicate, "column %s: %q is the file of %s (%q) with other labels (%s); both rows are rejected",
					col.File, rec.File, first.where, first.listed, d)
			}
			return reject(ReasonDuplicateFile, "column %s: %q is the file of %s (%q), with the same labels; that row is kept",
				col.File, rec.File, first.where, first.listed)
		}
	}
	if dupID {
		return reject(ReasonDuplicateID, "column %s: id %q is already used by %s", col.ID, rec.ID, firstWithID)
	}
	if rel != "" {
		v.files[rel] = firstFile{seq: seq, where: where(rec), listed: rec.File, labels: labelsOf(rec)}
	}
	return rel, nil
}

func (v *validator) ageProblem(age float64) string {
	if math.IsNaN(age) || age < v.opts.MinAge || age > v.opts.MaxAge {
		return fmt.Sprintf("%q is outside [%s, %s]", fmtAge(age), fmtAge(v.opts.MinAge), fmtAge(v.opts.MaxAge))
	}
	return ""
}

func fmtAge(a float64) string { return strconv.FormatFloat(a, 'g', -1, 64) }

// where names a record's position for messages ("metadata.csv row 3").
func where(r *Record) string {
	if r.Row > 0 {
		return fmt.Sprintf("%s row %d", r.Source, r.Row)
	}
	return r.Source
}
