package dataset

import (
	"image"
	"iter"
	"slices"
)

// Source yields the candidate records of one dataset, in a fixed order,
// for Ingest to validate, decode and pack. The adapters (OpenUTKFace,
// OpenAPPAReal, OpenCSV, NewSynthetic) read their metadata when opened, so
// Len is known before ingest starts and a progress bar can show a total.
type Source interface {
	// Name identifies the adapter in messages ("utkface", "appa-real", ...).
	Name() string
	// Root is the dataset folder every image path must stay inside; empty
	// for sources whose images are rendered in memory.
	Root() string
	// Vocabulary lists the allowed values of gender, ethnicity and
	// expression after value mapping; an attribute without an entry accepts
	// any value. IngestOptions.Allowed overrides it per attribute.
	Vocabulary() map[string][]string
	// Len is the number of records Records yields: the rows in.
	Len() int
	// Records yields every candidate record, including rows the adapter
	// could not read (Record.Problem set), so none is lost silently.
	Records() iter.Seq[Record]
}

// Record is one candidate row a Source yields. Labels are already mapped to
// fairage's values (e.g. gender "male"/"female"); values the adapter could
// not map are passed through unchanged so Ingest can reject them by name.
type Record struct {
	// Source is the file the row came from, relative to the dataset root
	// ("metadata.csv", "gt_avg_train.csv"), or the image file itself when
	// labels come from its name.
	Source string
	// Row is the 1-based data row in Source (the header is not counted), or
	// 0 when the record is not row-based.
	Row int64
	// ID is the sample id; unique within the dataset.
	ID string
	// File is the image path as listed, relative to Root (an absolute path
	// is accepted only when it lies inside Root). Empty when Render is set.
	File string
	// Render draws an in-memory image instead of reading File. It must be
	// deterministic and safe to call from any goroutine.
	Render func() *image.RGBA
	// Split is the dataset's own split (SplitTrain, ...), or empty.
	Split        string
	Age          float64 // regression target in years
	RealAge      float64 // NaN when unknown
	Gender       string  // empty when unknown
	Ethnicity    string
	Expression   string
	NearDupGroup string
	// Subject identifies the person shown, when the dataset knows it
	// (several images of one person); empty when unknown.
	Subject string
	// Columns names the source columns the labels came from, so messages
	// can point at them; nil means the default names.
	Columns *Columns
	// Problem is set when the adapter could not read the row (bad age text,
	// unparseable file name, missing field); the record is then rejected
	// with Problem.Reason and its other fields may be incomplete.
	Problem *Problem
}

// Columns names, for messages, the source columns a record's fields came
// from.
type Columns struct {
	ID, File, Age, RealAge, Gender, Ethnicity, Expression, Split, NearDupGroup, Subject string
}

// defaultColumns names each field after the samples-table column.
var defaultColumns = &Columns{
	ID: "id", File: "file", Age: "age", RealAge: "real_age", Gender: AttrGender,
	Ethnicity: AttrEthnicity, Expression: AttrExpression, Split: "split", NearDupGroup: "near_dup_group",
	Subject: "subject",
}

func (r *Record) columns() *Columns {
	if r.Columns == nil {
		return defaultColumns
	}
	return r.Columns
}

// Problem is why an adapter could not read a row.
type Problem struct {
	Reason string // one of the Reason* constants
	Detail string // human-readable, names the column and value
}

// Rejection reasons, the values of Rejection.Reason.
const (
	ReasonMalformedRow  = "malformed_row"    // wrong field count, unparseable CSV line, empty required field
	ReasonInvalidAge    = "invalid_age"      // age text is not a number
	ReasonAgeOutOfRange = "age_out_of_range" // age outside [MinAge, MaxAge]
	ReasonUnknownValue  = "unknown_value"    // attribute value not in the allowed set
	ReasonDuplicateID   = "duplicate_id"     // id already used by an earlier row
	// ReasonDuplicateFile: the image (same cleaned path, or byte-identical
	// content) of an earlier row with the same labels; the earlier row is
	// kept.
	ReasonDuplicateFile = "duplicate_file"
	// ReasonConflictingDuplicate: one image listed by several rows with
	// different labels; every such row is rejected.
	ReasonConflictingDuplicate = "conflicting_duplicate"
	// ReasonImageTooSmall: a side below data.min_side (a 1×1 image would
	// be upscaled into a meaningless training example).
	ReasonImageTooSmall   = "image_too_small"
	ReasonUnparseableName = "unparseable_name"  // UTKFace file name without age_gender_race
	ReasonUnmatchedRow    = "unmatched_row"     // APPA-REAL category row with no age row
	ReasonMissingFile     = "missing_file"      // image file does not exist
	ReasonPathEscapes     = "path_outside_root" // path or symlink leads outside the dataset root
	ReasonUnreadable      = "unreadable_file"   // I/O error, not a regular file, too large
	ReasonUndecodable     = "undecodable_image" // not JPEG/PNG, corrupt or truncated
	ReasonImageTooLarge   = "image_too_large"   // more pixels than MaxImagePixels
)

// Value sets that the adapters map to and Ingest checks against.
var (
	// GenderValues are the gender labels of every adapter.
	GenderValues = []string{"female", "male"}
	// UTKFaceEthnicities are UTKFace's race labels (codes 0-4 in order
	// white, black, asian, indian, others).
	UTKFaceEthnicities = []string{"white", "black", "asian", "indian", "others"}
	// APPARealEthnicities are APPA-REAL's race labels.
	APPARealEthnicities = []string{"asian", "afroamerican", "caucasian"}
	// APPARealExpressions are APPA-REAL's happiness labels.
	APPARealExpressions = []string{"happy", "slightlyhappy", "neutral", "other"}
)

// listSource is the Source every adapter returns: records read up front.
type listSource struct {
	name    string
	root    string
	vocab   map[string][]string
	records []Record
}

func (s *listSource) Name() string                    { return s.name }
func (s *listSource) Root() string                    { return s.root }
func (s *listSource) Vocabulary() map[string][]string { return s.vocab }
func (s *listSource) Len() int                        { return len(s.records) }

func (s *listSource) Records() iter.Seq[Record] { return slices.Values(s.records) }
