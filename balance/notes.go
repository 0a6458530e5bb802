package balance

import "fmt"

// Level grades a note for the report.
type Level string

// Note levels.
const (
	// Info records a decision the reader may want to know about.
	Info Level = "info"
	// Warning records something that may distort the result, such as
	// heavy oversampling, pooled cells or samples left unbalanced.
	Warning Level = "warning"
)

// Note is one line for the report about what balancing did and why.
type Note struct {
	Level   Level
	Message string
}

// String renders the note as "warning: ...".
func (n Note) String() string { return string(n.Level) + ": " + n.Message }

type notes []Note

func (n *notes) info(format string, args ...any) {
	*n = append(*n, Note{Info, fmt.Sprintf(format, args...)})
}

func (n *notes) warn(format string, args ...any) {
	*n = append(*n, Note{Warning, fmt.Sprintf(format, args...)})
}
