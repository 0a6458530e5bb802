package pipeline

import (
	"context"
	"errors"
	"fmt"
)

// StageStatus says whether a stage's output in a run folder is current.
type StageStatus struct {
	Name        string
	State       Freshness
	Reason      string
	Fingerprint string
}

// Status computes, without running anything, which stages of the run
// folder are fresh, stale or missing, and why. A cached output is fresh
// only if its files are still those committed (every byte is read).
func (r *Runner) Status(ctx context.Context, opts RunOptions) ([]StageStatus, error) {
	c := opts.cache()
	runDir := opts.RunDir()
	digests := map[string]string{}
	var out []StageStatus
	blocked := ""
	for _, st := range r.Graph.stages {
		if blocked != "" {
			out = append(out, StageStatus{Name: st.Name(), State: Missing,
				Reason: fmt.Sprintf("waits for %s; cannot be checked until it is built", blocked)})
			continue
		}
		fp, err := r.fingerprintOf(ctx, st, digests)
		if err != nil {
			return nil, err
		}
		sum := fp.sum()
		old := linkedFingerprint(runDir, st.Name())
		s := StageStatus{Name: st.Name(), Fingerprint: sum}
		meta, ok := c.lookup(st.Name(), sum)
		changed := ""
		if ok {
			if err := verifyEntry(ctx, c.entry(st.Name(), sum), meta); err != nil {
				var ce *CorruptError
				if !errors.As(err, &ce) {
					return nil, err
				}
				ok, changed = false, ce.Error()
			}
		}
		if ok {
			digests[st.Name()] = meta.OutputDigest
			s.State = Fresh
			s.Reason = "output matches the config and inputs"
			if old != sum {
				s.Reason = "output is in the cache (from another run); this run will link it without recomputing"
			}
		} else {
			blocked = st.Name()
			switch prev, ok := c.lookup(st.Name(), old); {
			case changed != "":
				s.State, s.Reason = Stale, changed+"; the next run recomputes it"
			case old == "":
				s.State, s.Reason = Missing, "never run in this run folder"
			case ok:
				s.State, s.Reason = Stale, fp.explainChange(prev.Inputs)
			default:
				s.State, s.Reason = Missing, "previous output "+old+" is gone from the cache"
			}
		}
		out = append(out, s)
	}
	return out, nil
}
