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
}

func newValidator(src Source, opts *IngestOptions, root *imageRoot) *validator {
	v := &validator{opts: opts, root: root, allowed: map[string]map[string]bool{},
		lists: map[string]string{}, seen: map[string]string{}}
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

// check returns the image path relative to the root, or why rec is
// rejected. Checks run in a fixed order and the first failure is reported.
func (v *validator) check(rec *Record) (string, *Rejection) {
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
	if first, dup := v.seen[rec.ID]; dup {
		return reject(ReasonDuplicateID, "column %s: id %q is already used by %s", col.ID, rec.ID, first)
	}
	v.seen[rec.ID] = where(rec)
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
	if rec.Render != nil {
		return "", nil
	}
	if rec.File == "" {
		return reject(ReasonMissingFile, "column %s: no image file is given", col.File)
	}
	if v.root == nil {
		return reject(ReasonMissingFile, "column %s: %q cannot be read: the source has no image folder", col.File, rec.File)
	}
	rel, err := v.root.localPath(rec.File)
	if err != nil {
		return reject(ReasonPathEscapes, "column %s: %v", col.File, err)
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
