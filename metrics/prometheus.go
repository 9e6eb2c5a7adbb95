package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"

	"github.com/prescale/prescale/forecast"
)

// maxPointsPerSeries is Prometheus's limit on the points a range query may
// return per series (query_range answers "exceeded maximum resolution of
// 11,000 points per timeseries" beyond it).
const maxPointsPerSeries = 11000

// Bounds of PrometheusConfig: a request's timeout, the retries of a query
// and their first backoff; each wait doubles up to maxWait.
const (
	maxTimeout = 5 * time.Minute
	maxRetries = 5
	maxBackoff = 10 * time.Second
	maxWait    = 30 * time.Second
)

// PrometheusConfig is how to reach a Prometheus-compatible query API. The
// HTTP client settings are prometheus/common's, in the YAML shape users
// know from Prometheus itself: tls_config, authorization,
// bearer_token_file, basic_auth, proxy_url, http_headers, ...
type PrometheusConfig struct {
	// URL of the server, e.g. http://prometheus.monitoring:9090, or a
	// Thanos/Mimir/VictoriaMetrics query frontend (with its path prefix).
	URL string `yaml:"url"`
	// HTTPClientConfig is inlined.
	HTTPClientConfig promconfig.HTTPClientConfig `yaml:",inline"`
	// Timeout bounds one HTTP request (default 30s).
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// MaxPoints is the most points one range request may ask for per
	// series; longer ranges are split (default 10,000, under the server's
	// 11,000).
	MaxPoints int `yaml:"max_points,omitempty"`
	// Retries after a failed request that may succeed when repeated
	// (unreachable, 5xx), with exponential backoff from Backoff (defaults
	// 3 and 500ms).
	Retries int            `yaml:"retries,omitempty"`
	Backoff model.Duration `yaml:"backoff,omitempty"`
}

// Prometheus is a Source that queries a Prometheus HTTP API with
// client_golang's v1 API.
type Prometheus struct {
	api       v1.API
	url       string
	timeout   time.Duration
	maxPoints int
	retries   int
	backoff   time.Duration
	log       *slog.Logger
}

// NewPrometheus validates cfg and builds the client. logger may be nil.
func NewPrometheus(cfg PrometheusConfig, logger *slog.Logger) (*Prometheus, error) {
	if cfg.URL == "" {
		return nil, errors.New("prometheus: url is required")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus: url %q: want http(s)://host[:port][/prefix]", cfg.URL)
	}
	// Ranges: a query's retries wait in the tick that asked, so an
	// unbounded retry count or backoff would hold the loop for hours.
	switch {
	case time.Duration(cfg.Timeout) > maxTimeout:
		return nil, fmt.Errorf("prometheus: timeout %v: at most %v", cfg.Timeout, maxTimeout)
	case cfg.MaxPoints < 0 || cfg.MaxPoints > maxPointsPerSeries:
		return nil, fmt.Errorf("prometheus: max_points %d: between 1 and %d (0: 10000)", cfg.MaxPoints, maxPointsPerSeries)
	case cfg.Retries < -1 || cfg.Retries > maxRetries:
		return nil, fmt.Errorf("prometheus: retries %d: between 0 and %d (-1: none; 0: 3)", cfg.Retries, maxRetries)
	case time.Duration(cfg.Backoff) > maxBackoff:
		return nil, fmt.Errorf("prometheus: backoff %v: at most %v", cfg.Backoff, maxBackoff)
	}
	if err := cfg.HTTPClientConfig.Validate(); err != nil {
		return nil, fmt.Errorf("prometheus: http client config: %w", err)
	}
	rt, err := promconfig.NewRoundTripperFromConfig(cfg.HTTPClientConfig, "prescale")
	if err != nil {
		return nil, fmt.Errorf("prometheus: http client config: %w", err)
	}
	client, err := api.NewClient(api.Config{Address: cfg.URL, RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prometheus: %w", err)
	}
	p := &Prometheus{
		api:       v1.NewAPI(client),
		url:       cfg.URL,
		timeout:   time.Duration(cfg.Timeout),
		maxPoints: cfg.MaxPoints,
		retries:   cfg.Retries,
		backoff:   time.Duration(cfg.Backoff),
		log:       logger,
	}
	if p.timeout <= 0 {
		p.timeout = 30 * time.Second
	}
	if p.maxPoints <= 0 || p.maxPoints > maxPointsPerSeries {
		p.maxPoints = 10000
	}
	if p.retries < 0 {
		p.retries = 0
	} else if cfg.Retries == 0 {
		p.retries = 3
	}
	if p.backoff <= 0 {
		p.backoff = 500 * time.Millisecond
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p, nil
}

// Range implements Source. A range longer than MaxPoints steps is fetched
// in several requests, each within the server's per-series limit.
func (p *Prometheus) Range(ctx context.Context, q Query, start, end time.Time, step time.Duration) (Samples, error) {
	fail := func(kind ErrorKind, err error) (Samples, error) {
		return Samples{}, &SourceError{Query: q, Kind: kind, Err: err}
	}
	if step < time.Second {
		return fail(KindBadQuery, fmt.Errorf("step %v: must be at least 1s", step))
	}
	first, last := alignGrid(start, end, step)
	if last.Before(first) {
		return fail(KindEmpty, fmt.Errorf("range %s to %s holds no %v grid point", start.Format(time.RFC3339), end.Format(time.RFC3339), step))
	}
	n := int(last.Sub(first)/step) + 1
	out := Samples{Series: forecast.Series{Start: first, Step: step, Values: make([]float64, n)}}
	for i := range out.Values {
		out.Values[i] = math.NaN()
	}
	seen := 0
	for from := 0; from < n; from += p.maxPoints {
		to := min(n, from+p.maxPoints) - 1
		r := v1.Range{Start: out.Time(from), End: out.Time(to), Step: step}
		val, err := p.queryRange(ctx, q, r)
		if err != nil {
			return Samples{}, err
		}
		m, ok := val.(model.Matrix)
		if !ok {
			return fail(KindServer, fmt.Errorf("answer is %s, want a matrix", answerKind(val)))
		}
		if slices.Contains(m, nil) {
			return fail(KindServer, errors.New("answer's matrix holds a null series"))
		}
		if len(m) > 1 {
			labels := make([]string, 0, min(3, len(m)))
			for _, s := range m[:min(3, len(m))] {
				labels = append(labels, s.Metric.String())
			}
			return fail(KindMultipleSeries, fmt.Errorf("query returned %d series (%s...): aggregate it to one, e.g. sum(...)", len(m), strings.Join(labels, ", ")))
		}
		for _, s := range m {
			for _, sp := range s.Values {
				i := int(sp.Timestamp.Time().Sub(first) / step)
				if i < 0 || i >= n {
					continue
				}
				v := float64(sp.Value)
				if !Usable(v) {
					out.NonFinite++
					continue
				}
				out.Values[i] = v
				seen++
			}
		}
	}
	switch {
	case seen == 0 && out.NonFinite > 0:
		return fail(KindNonFinite, fmt.Errorf("all %d samples from %s to %s are NaN, Inf or beyond ±%g", out.NonFinite, first.Format(time.RFC3339), last.Format(time.RFC3339), MaxMagnitude))
	case seen == 0:
		return fail(KindEmpty, fmt.Errorf("no samples from %s to %s: check the metric names and labels", first.Format(time.RFC3339), last.Format(time.RFC3339)))
	}
	return out, nil
}

// Instant evaluates q at one time with an instant query: for signals read
// only now, such as a volatility index. The result must be one finite
// sample.
func (p *Prometheus) Instant(ctx context.Context, q Query, at time.Time) (float64, error) {
	fail := func(kind ErrorKind, err error) (float64, error) {
		return math.NaN(), &SourceError{Query: q, Kind: kind, Err: err}
	}
	var val model.Value
	err := p.retry(ctx, q, func(rctx context.Context) (v1.Warnings, error) {
		var w v1.Warnings
		var err error
		val, w, _, err = p.api.Query(rctx, q.Expr, at, v1.WithTimeout(p.timeout))
		return w, err
	})
	if err != nil {
		return math.NaN(), err
	}
	vec, ok := val.(model.Vector)
	switch {
	case !ok:
		if sc, isScalar := val.(*model.Scalar); isScalar {
			vec = model.Vector{&model.Sample{Value: sc.Value, Timestamp: sc.Timestamp}}
		} else {
			return fail(KindServer, fmt.Errorf("answer is %s, want a vector", answerKind(val)))
		}
	}
	if slices.Contains(vec, nil) {
		return fail(KindServer, errors.New("answer's vector holds a null sample"))
	}
	switch {
	case len(vec) == 0:
		return fail(KindEmpty, fmt.Errorf("no sample at %s: check the metric names and labels", at.Format(time.RFC3339)))
	case len(vec) > 1:
		return fail(KindMultipleSeries, fmt.Errorf("query returned %d series: aggregate it to one, e.g. max(...)", len(vec)))
	}
	v := float64(vec[0].Value)
	if !Usable(v) {
		return fail(KindNonFinite, fmt.Errorf("sample at %s is %v: NaN, Inf or beyond ±%g", at.Format(time.RFC3339), v, MaxMagnitude))
	}
	return v, nil
}

// answerKind names the type of a query's result for an error, "a vector";
// a body that is JSON but holds no data.result decodes to no value at all.
func answerKind(val model.Value) string {
	if val == nil {
		return "empty (no data.result)"
	}
	return "a " + val.Type().String()
}

// queryRange runs one range request with retries on errors that may pass.
func (p *Prometheus) queryRange(ctx context.Context, q Query, r v1.Range) (model.Value, error) {
	var val model.Value
	err := p.retry(ctx, q, func(rctx context.Context) (v1.Warnings, error) {
		var w v1.Warnings
		var err error
		val, w, _, err = p.api.QueryRange(rctx, q.Expr, r, v1.WithTimeout(p.timeout))
		return w, err
	})
	return val, err
}

// retry runs call, each attempt under the request timeout, again after
// errors that may pass (unreachable, 5xx, timeouts) with exponential
// backoff, and turns the last error into a *SourceError.
func (p *Prometheus) retry(ctx context.Context, q Query, call func(context.Context) (v1.Warnings, error)) error {
	backoff := p.backoff
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, p.timeout)
		warnings, err := call(rctx)
		cancel()
		if err == nil {
			if len(warnings) > 0 {
				p.log.Warn("prometheus query warnings", "target", q.Target, "signal", q.Signal, "warnings", strings.Join(warnings, "; "))
			}
			return nil
		}
		kind, again := classify(ctx, err)
		if !again || attempt >= p.retries {
			if attempt > 0 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt+1)
			}
			return &SourceError{Query: q, Kind: kind, Err: fmt.Errorf("%s: %w", p.url, err)}
		}
		p.log.Info("prometheus query failed, retrying", "target", q.Target, "signal", q.Signal, "kind", kind, "attempt", attempt+1, "backoff", backoff, "err", err)
		select {
		case <-ctx.Done():
			return &SourceError{Query: q, Kind: KindCanceled, Err: ctx.Err()}
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxWait)
	}
}

// classify maps a client error to a kind and whether repeating the request
// may help.
func classify(ctx context.Context, err error) (ErrorKind, bool) {
	if ctx.Err() != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return KindTimeout, false
		}
		return KindCanceled, false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return KindTimeout, true
	}
	var ae *v1.Error
	if errors.As(err, &ae) {
		switch ae.Type {
		case v1.ErrBadData:
			return KindBadQuery, false
		case v1.ErrTimeout:
			return KindTimeout, true
		case v1.ErrCanceled:
			return KindCanceled, false
		case v1.ErrExec:
			// The query ran and failed (too many samples, say): repeating
			// it fails the same way.
			return KindBadQuery, false
		case v1.ErrClient:
			return KindClient, false
		case v1.ErrServer, v1.ErrBadResponse:
			return KindServer, true
		}
		return KindServer, true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout, true
	}
	return KindUnreachable, true
}
