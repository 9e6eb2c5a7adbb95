// Package actuator applies the values a Plan wants to live resources: HPA
// floors and ceilings (actuator/hpa), node group minimums and database and
// cache tiers (actuator/aws).
//
// Every implementation follows the same shape, which this package holds:
// read the live state, compute the writes that bring it to the desired
// value, and then, depending on the mode, write them (active) or only
// record what would be written (shadow, dry-run). Actuation is
// level-triggered: the desired value is re-asserted at every tick, so a
// value that someone lowered comes back, and a resource already at its
// desired value costs a read and no write (idempotent). Every decision,
// written or not, is recorded as a Change carrying the plan's reasons and
// the actuator's own (a bound hit, a resource not ready).
package actuator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/client-go/util/retry"
)

// Mode says whether an actuator may write.
type Mode string

// Modes. Observe targets never reach an actuator.
const (
	// Active writes.
	Active Mode = "active"
	// Shadow computes and records the full change and writes nothing: a
	// target being evaluated before it is trusted.
	Shadow Mode = "shadow"
	// DryRun is the per-resource dry-run of the policy (the default for
	// databases and caches): like Shadow, recorded as such.
	DryRun Mode = "dry-run"
)

// Writes reports whether the mode lets an actuator write.
func (m Mode) Writes() bool { return m == Active }

// Status is the outcome of one actuation.
type Status string

// Statuses.
const (
	// InSync: the live value already is the desired one; nothing written.
	InSync Status = "in-sync"
	// Applied: the change was written.
	Applied Status = "applied"
	// WouldApply: shadow or dry-run; the change was computed, not written.
	WouldApply Status = "would-apply"
	// Waiting: the resource cannot take a change now (not available,
	// modifications pending, a snapshot in progress); retried next tick.
	Waiting Status = "waiting"
	// Paused: a person paused the resource (pause annotation).
	Paused Status = "paused"
	// Missing: the resource does not exist; picked up again when it does.
	Missing Status = "missing"
	// Failed: reading or writing failed; Change.Err says why.
	Failed Status = "failed"
)

// Ref names one live resource.
type Ref struct {
	// Kind is the policy's resource kind (hpa, nodegroup, database, cache).
	Kind string
	// Name is namespace/name for an HPA, the policy's name otherwise.
	Name string
	// Target is the policy target (or targets, comma-joined) it serves.
	Target string
}

func (r Ref) String() string { return r.Kind + " " + r.Name }

// FieldChange is one field's move.
type FieldChange struct {
	Field    string
	From, To string
}

// Change is the record of one actuation of one resource: what was
// decided, whether it was written, and why.
type Change struct {
	At     time.Time
	Ref    Ref
	Mode   Mode
	Status Status
	// Fields are the field moves written (Applied) or computed
	// (WouldApply); empty when nothing needed to change.
	Fields []FieldChange
	// Reasons are the plan's reasons followed by the actuator's notes.
	Reasons []string
	// Err is the failure when Status is Failed.
	Err error
}

// Message is a one-line human summary, used for logs and Kubernetes Events.
func (c Change) Message() string {
	s := string(c.Status)
	for i, f := range c.Fields {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		s += fmt.Sprintf("%s%s %s → %s", sep, f.Field, f.From, f.To)
	}
	if c.Err != nil {
		s += ": " + c.Err.Error()
	}
	if len(c.Reasons) > 0 {
		s += " (" + c.Reasons[len(c.Reasons)-1] + ")"
	}
	return s
}

// Recorder receives every Change. Implementations must be safe for
// concurrent use.
type Recorder interface {
	Record(ctx context.Context, c Change)
}

// Observation is what an implementation found on the live resource and
// what it would write.
type Observation struct {
	// Status is InSync, Waiting, Paused or Missing when there is nothing
	// to write; it is ignored when Fields is not empty.
	Status Status
	// Fields are the moves Write makes.
	Fields []FieldChange
	// Notes are the actuator's own reasons (bounds hit, resource state).
	Notes []string
	// Write makes the moves. It is called only in Active mode and only
	// when Fields is not empty.
	Write func(ctx context.Context) error
}

// Observe reads a resource and computes the writes that bring it to the
// desired value.
type Observe func(ctx context.Context) (Observation, error)

// ObserveAgainOnConflict makes observe also write, in Active mode, and
// observe again when the write loses a race (409 Conflict: the object
// changed between the read and the write), so that the decision is made on
// what is there now, up to client-go's retry.DefaultRetry. The Observation
// it returns has already been written; Run then only records it.
func ObserveAgainOnConflict(mode Mode, observe Observe) Observe {
	return func(ctx context.Context) (Observation, error) {
		var obs Observation
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var err error
			obs, err = observe(ctx)
			if err != nil || obs.Write == nil || !mode.Writes() {
				return err
			}
			err = obs.Write(ctx)
			obs.Write = func(context.Context) error { return nil } // done; Run records it
			return err
		})
		return obs, err
	}
}

// Run is the common actuation path: observe, then write (Active) or only
// record (Shadow, DryRun), and record the Change with the plan's reasons.
// A read or write error becomes a Failed change and is returned, wrapped
// with the resource's name.
func Run(ctx context.Context, rec Recorder, mode Mode, ref Ref, reasons []string, observe Observe) (Change, error) {
	c := Change{At: time.Now(), Ref: ref, Mode: mode, Reasons: append([]string(nil), reasons...)}
	obs, err := observe(ctx)
	c.Reasons = append(c.Reasons, obs.Notes...)
	switch {
	case err != nil:
		c.Status, c.Err = Failed, fmt.Errorf("%s: %w", ref, err)
	case len(obs.Fields) == 0:
		c.Status = obs.Status
		if c.Status == "" {
			c.Status = InSync
		}
	case !mode.Writes():
		c.Status, c.Fields = WouldApply, obs.Fields
		c.Reasons = append(c.Reasons, fmt.Sprintf("%s: computed, not written", mode))
	case obs.Write == nil:
		c.Status, c.Err = Failed, fmt.Errorf("%s: %w", ref, errors.New("actuator computed changes but has no writer"))
	default:
		if err := obs.Write(ctx); err != nil {
			c.Status, c.Err = Failed, fmt.Errorf("%s: %w", ref, err)
		} else {
			c.Status, c.Fields = Applied, obs.Fields
		}
	}
	if rec != nil {
		rec.Record(ctx, c)
	}
	return c, c.Err
}

// LogRecorder writes each Change to a slog.Logger: applied changes and
// failures at Info and Warn, the rest at Debug so a steady state is quiet.
type LogRecorder struct {
	Logger *slog.Logger
}

// Record implements Recorder.
func (l LogRecorder) Record(ctx context.Context, c Change) {
	log := l.Logger
	if log == nil {
		log = slog.Default()
	}
	level := slog.LevelDebug
	switch c.Status {
	case Applied, WouldApply:
		level = slog.LevelInfo
	case Failed, Missing:
		level = slog.LevelWarn
	}
	attrs := []any{"kind", c.Ref.Kind, "name", c.Ref.Name, "target", c.Ref.Target, "mode", string(c.Mode), "status", string(c.Status)}
	for _, f := range c.Fields {
		attrs = append(attrs, f.Field, f.From+"→"+f.To)
	}
	attrs = append(attrs, "reasons", c.Reasons)
	if c.Err != nil {
		attrs = append(attrs, "err", c.Err)
	}
	log.Log(ctx, level, "actuation", attrs...)
}

// Journal keeps every Change in memory, in order: for `prescale plan`,
// tests and a status page.
type Journal struct {
	mu      sync.Mutex
	changes []Change
}

// Record implements Recorder.
func (j *Journal) Record(_ context.Context, c Change) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.changes = append(j.changes, c)
}

// Changes returns a copy of the recorded changes.
func (j *Journal) Changes() []Change {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]Change(nil), j.changes...)
}
