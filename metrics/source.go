package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/prescale/prescale/forecast"
)

// Query is one signal of one target and the PromQL that yields it. The
// expression must return a single series (aggregate with sum() or similar).
type Query struct {
	Target string // e.g. "pricing-api"
	Signal string // e.g. "demand", "latency_p95", "db_connections"
	Expr   string
	// Step is the grid a History keeps the signal on; 0 means the
	// History's default.
	Step time.Duration
}

func (q Query) String() string { return fmt.Sprintf("target %s signal %s", q.Target, q.Signal) }

// Samples is a fetched range on an aligned grid.
type Samples struct {
	forecast.Series
	// NonFinite counts samples that came back NaN, ±Inf or beyond
	// ±MaxMagnitude; they are kept
	// as gaps, never as values.
	NonFinite int
}

// Source fetches a signal over a time range.
type Source interface {
	// Range returns q's samples at the grid points of [start, end] spaced
	// step apart. The grid is aligned: every point is a multiple of step
	// since the Unix epoch, so successive fetches line up. Points with no
	// sample are NaN. Errors are *SourceError.
	Range(ctx context.Context, q Query, start, end time.Time, step time.Duration) (Samples, error)
}

// ErrorKind classifies source errors; the set is fixed so that it can be a
// metric label.
type ErrorKind string

// The kinds of source errors.
const (
	// KindUnreachable: no connection (refused, DNS, TLS).
	KindUnreachable ErrorKind = "unreachable"
	// KindTimeout: the request or the query took too long.
	KindTimeout ErrorKind = "timeout"
	// KindBadQuery: the server rejected the PromQL (HTTP 400/422).
	KindBadQuery ErrorKind = "bad_query"
	// KindClient: another 4xx, such as 401, 403 or 404: check the URL and
	// the credentials.
	KindClient ErrorKind = "client_error"
	// KindServer: a 5xx or an unreadable answer, after retries.
	KindServer ErrorKind = "server_error"
	// KindMultipleSeries: the query returned several series; it must be
	// aggregated to one.
	KindMultipleSeries ErrorKind = "multiple_series"
	// KindEmpty: the query returned no data in the range.
	KindEmpty ErrorKind = "empty"
	// KindNonFinite: every sample in the range was NaN, ±Inf or beyond
	// ±MaxMagnitude.
	KindNonFinite ErrorKind = "non_finite"
	// KindStale: the newest sample is older than the staleness bound.
	KindStale ErrorKind = "stale"
	// KindCanceled: the caller gave up (shutdown).
	KindCanceled ErrorKind = "canceled"
)

// ErrorKinds lists every kind, for metrics that should show zero counts.
var ErrorKinds = []ErrorKind{KindUnreachable, KindTimeout, KindBadQuery, KindClient, KindServer,
	KindMultipleSeries, KindEmpty, KindNonFinite, KindStale, KindCanceled}

// SourceError is an error fetching one query.
type SourceError struct {
	Query Query
	Kind  ErrorKind
	Err   error
}

func (e *SourceError) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.Query, e.Kind, e.Err)
}

func (e *SourceError) Unwrap() error { return e.Err }

// KindOf returns the kind of a source error, or "" for other errors.
func KindOf(err error) ErrorKind {
	var se *SourceError
	if errors.As(err, &se) {
		return se.Kind
	}
	return ""
}

// alignGrid returns the first and last grid points, multiples of step since
// the Unix epoch, inside [start, end].
func alignGrid(start, end time.Time, step time.Duration) (time.Time, time.Time) {
	s := start.UnixNano()
	st := int64(step)
	first := s / st * st
	if first < s {
		first += st
	}
	e := end.UnixNano()
	last := e / st * st
	if last > e {
		last -= st
	}
	return time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
}

// MaxMagnitude bounds a sample's absolute value. No signal prescale plans
// on (requests, connections, ratios, latencies, even bytes per second)
// comes near it, and a value beyond it in a history would overflow the
// fits' sums of squares (1e300 squared is +Inf): a single such answer made
// every forecast of its signal NaN for as long as it stayed in the history
// (found by the soak, TestSoakWithFaults). Such samples are kept as gaps
// and counted with the NaN and Inf ones.
const MaxMagnitude = 1e15

// Usable reports whether a sample is finite and within ±MaxMagnitude.
func Usable(v float64) bool {
	return !math.IsNaN(v) && v <= MaxMagnitude && v >= -MaxMagnitude
}
