// Package progress reports how far long work has come. On a terminal it
// draws a bar with items, rate and ETA; elsewhere (CI, logs, pipes) it
// writes a plain line at most every few seconds and at the end, so logs stay
// readable. Domain packages accept a Tracker and never know which it is.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Tracker receives progress of one piece of work. Implementations are safe
// for concurrent use.
type Tracker interface {
	// Add records n more items done.
	Add(n int)
	// Finish marks the work done (idempotent).
	Finish()
}

// Discard is a Tracker that ignores everything.
var Discard Tracker = discard{}

type discard struct{}

func (discard) Add(int) {}
func (discard) Finish() {}

// OrDiscard returns t, or Discard when t is nil.
func OrDiscard(t Tracker) Tracker {
	if t == nil {
		return Discard
	}
	return t
}

// New returns a Tracker for total items (total <= 0 when unknown) that
// writes to w: a live bar when w is a terminal and CI is unset, plain
// periodic log lines otherwise.
func New(w io.Writer, label, unit string, total int) Tracker {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) && os.Getenv("CI") == "" {
		bar := progressbar.NewOptions64(int64(total),
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription(label),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString(unit),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		return &barTracker{bar: bar}
	}
	return &logTracker{w: w, label: label, unit: unit, total: total, start: time.Now(), last: time.Now(), every: 5 * time.Second}
}

type barTracker struct {
	mu   sync.Mutex
	bar  *progressbar.ProgressBar
	done bool
}

func (b *barTracker) Add(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.bar.Add(n)
}

func (b *barTracker) Finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		b.done = true
		_ = b.bar.Finish()
	}
}

type logTracker struct {
	mu          sync.Mutex
	w           io.Writer
	label, unit string
	total, done int
	start, last time.Time
	every       time.Duration
	finished    bool
}

func (l *logTracker) Add(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done += n
	if now := time.Now(); now.Sub(l.last) >= l.every {
		l.last = now
		l.print(now)
	}
}

func (l *logTracker) Finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finished {
		return
	}
	l.finished = true
	l.print(time.Now())
}

func (l *logTracker) print(now time.Time) {
	el := now.Sub(l.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(l.done) / el
	}
	if l.total > 0 {
		eta := "?"
		if rate > 0 {
			eta = (time.Duration(float64(l.total-l.done)/rate) * time.Second).Round(time.Second).String()
		}
		fmt.Fprintf(l.w, "%s: %d/%d %s (%.1f %s/s, ETA %s)\n", l.label, l.done, l.total, l.unit, rate, l.unit, eta)
		return
	}
	fmt.Fprintf(l.w, "%s: %d %s (%.1f %s/s)\n", l.label, l.done, l.unit, rate, l.unit)
}
