package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// Off a terminal the tracker writes plain lines: at most one per interval,
// always one at the end, with counts, rate and ETA.
func TestLogTrackerIsQuietAndSummarises(t *testing.T) {
	var buf bytes.Buffer
	tr := New(&buf, "ingest", "img", 1000)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				tr.Add(1)
			}
		}()
	}
	wg.Wait()
	tr.Finish()
	tr.Finish()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one final line for fast work, got %d: %q", len(lines), buf.String())
	}
	if !strings.HasPrefix(lines[0], "ingest: 1000/1000 img (") || !strings.Contains(lines[0], "ETA") {
		t.Fatalf("line %q", lines[0])
	}
}

func TestLogTrackerPrintsPeriodically(t *testing.T) {
	var buf bytes.Buffer
	tr := New(&buf, "train", "img", 0).(*logTracker)
	tr.every = time.Millisecond
	tr.Add(5)
	time.Sleep(2 * time.Millisecond)
	tr.Add(5)
	if !strings.Contains(buf.String(), "train: 10 img") {
		t.Fatalf("no periodic line: %q", buf.String())
	}
	OrDiscard(nil).Add(1) // a nil tracker is safe to use
}
