package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// targetReady is what readiness knows of one target at the last tick.
type targetReady struct {
	name string // policy/target
	// active: mode active, or shadow and promoted (its plan is applied).
	active bool
	// backfilled: its demand history was fetched.
	backfilled bool
	// failStatic is why the target runs fail-static (no usable data, so
	// no forecast: the last good floors and the owner's values hold);
	// empty when it does not, or when nothing was recorded.
	failStatic string
}

// readiness is /readyz's truth table. The daemon is ready only when a tick
// (or a follower's warm tick) has run, the API server answers, and every
// active target's history is backfilled or its failure is recorded as
// fail-static with its reason. Shadow and observe targets do not hold it
// back: they act on nothing.
func readiness(warmed bool, targets []targetReady, apiServer error) error {
	if !warmed {
		return errors.New("history not backfilled yet: no tick has run")
	}
	if apiServer != nil {
		return fmt.Errorf("API server unreachable: %w", apiServer)
	}
	var pending []string
	for _, t := range targets {
		if t.active && !t.backfilled && t.failStatic == "" {
			pending = append(pending, t.name)
		}
	}
	if len(pending) > 0 {
		shown := pending[:min(len(pending), 5)]
		more := ""
		if len(pending) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(pending)-len(shown))
		}
		return fmt.Errorf("%d active targets neither backfilled nor recorded fail-static: %s%s", len(pending), strings.Join(shown, ", "), more)
	}
	return nil
}

// snapshotReadiness records each target's readiness at the end of a tick
// (with l.mu held), so that /readyz answers without waiting for a tick.
func (l *Loop) snapshotReadiness() {
	var ts []targetReady
	for _, p := range l.policies() {
		for _, t := range p.Spec.Targets {
			key := p.Key() + "/" + t.Name
			tr := targetReady{name: key, active: t.HPA.Mode == "active" || (t.HPA.Mode == "shadow" && l.promoted[key] != "")}
			switch ft := l.fits[fitKey{p.Key(), t.Name, "demand"}]; {
			case ft == nil:
			case ft.failing:
				tr.failStatic = ft.why
			default:
				tr.backfilled = true
			}
			ts = append(ts, tr)
		}
	}
	l.ready.Store(&ts)
}

// apiServerTimeout bounds the API server check of one /readyz.
const apiServerTimeout = 2 * time.Second

// Ready says why the daemon is not ready (nil: ready); see readiness.
func (l *Loop) Ready() error {
	var ts []targetReady
	if p := l.ready.Load(); p != nil {
		ts = *p
	}
	var apiErr error
	if l.cfg.APIServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), apiServerTimeout)
		defer cancel()
		apiErr = l.cfg.APIServer(ctx)
	}
	return readiness(l.warmed.Load(), ts, apiErr)
}
