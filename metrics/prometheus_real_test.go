package metrics_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/prescale/prescale/internal/promtest"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/metrics/trace"
)

// The backfilled data: 14 days of the real ELB request trace (requests per
// 5 minutes), re-dated to start at a whole hour, as a counter
// http_requests_total scraped every minute, for instance "a", and the same
// at half the rate for instance "b".
var dataStart = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

const scrape = 60 // seconds

// counterFromTrace returns the per-minute counter values for instance a;
// the counter grows at the trace's per-second rate through each 5-minute
// bucket (flat through gaps).
func counterFromTrace(t *testing.T) []float64 {
	tr, err := trace.ReadFile("../testdata/elb_request_count_8c0756.csv")
	if err != nil {
		t.Fatal(err)
	}
	n := min(tr.Len(), 14*288)
	c := make([]float64, 5*n+1)
	for m := 1; m < len(c); m++ {
		v := tr.Values[(m-1)/5]
		if math.IsNaN(v) {
			v = 0
		}
		c[m] = c[m-1] + v/300*scrape
	}
	return c
}

func startReal(t *testing.T) (*promtest.Server, []float64) {
	prom, promtool := promtest.Require(t)
	c := counterFromTrace(t)
	var samples []metricsSample
	for _, inst := range []struct {
		label string
		scale float64
	}{{`instance="a"`, 1}, {`instance="b"`, 0.5}} {
		for m, v := range c {
			samples = append(samples, metricsSample{inst.label, dataStart.Unix() + int64(m*scrape), v * inst.scale})
		}
	}
	dir := t.TempDir()
	promtest.Backfill(t, promtool, dir, "http_requests", toSamples(samples))
	return promtest.Start(t, prom, dir), c
}

type metricsSample struct {
	labels string
	t      int64
	v      float64
}

func toSamples(in []metricsSample) []promtest.Sample {
	out := make([]promtest.Sample, len(in))
	for i, s := range in {
		out[i] = promtest.Sample{Labels: s.labels, Time: s.t, Value: s.v}
	}
	return out
}

func newSource(t *testing.T, url string, cfg metrics.PrometheusConfig) *metrics.Prometheus {
	cfg.URL = url
	p, err := metrics.NewPrometheus(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrometheusReal runs the Prometheus source against a real server.
func TestPrometheusReal(t *testing.T) {
	srv, c := startReal(t)
	ctx := context.Background()
	demand := metrics.Query{Target: "web", Signal: "demand", Expr: `rate(http_requests_total{instance="a"}[5m])`}

	t.Run("rate over 14 days at 1m, split under 11,000 points", func(t *testing.T) {
		var requests atomic.Int32
		proxy := countingProxy(t, srv.URL, &requests, nil)
		src := newSource(t, proxy, metrics.PrometheusConfig{})
		start := dataStart.Add(10 * time.Minute)
		end := dataStart.Add(14 * 24 * time.Hour)
		got, err := src.Range(ctx, demand, start, end, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if want := int(end.Sub(start)/time.Minute) + 1; got.Len() != want {
			t.Fatalf("%d points, want %d", got.Len(), want)
		}
		if r := requests.Load(); r != 3 {
			t.Errorf("%d requests for %d points, want 3 (10,000 points each at most)", r, got.Len())
		}
		// Prometheus 2 selects [T-5m, T], six samples spanning the whole
		// window; Prometheus 3 selects (T-5m, T], five samples, and
		// extrapolates their increase to the window. Either way the rate
		// is exact for this counter.
		bad := 0
		for i, v := range got.Values {
			m := int(got.Time(i).Sub(dataStart) / time.Minute)
			want := (c[m] - c[m-5]) / 300
			want3 := (c[m] - c[m-4]) / 240
			if math.Abs(v-want3) < 1e-9*math.Max(1, want3) {
				want = want3
			}
			if math.IsNaN(v) || math.Abs(v-want) > 1e-9*math.Max(1, want) {
				bad++
				if bad < 5 {
					t.Errorf("%s: rate %v, trace says %v", got.Time(i).Format(time.RFC3339), v, want)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%d of %d points differ from the trace", bad, got.Len())
		}
	})

	t.Run("5-minute step matches the trace's buckets", func(t *testing.T) {
		src := newSource(t, srv.URL, metrics.PrometheusConfig{})
		tr, _ := trace.ReadFile("../testdata/elb_request_count_8c0756.csv")
		got, err := src.Range(ctx, demand, dataStart.Add(5*time.Minute), dataStart.Add(24*time.Hour), 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got.Values {
			want := tr.Values[i] / 300 // bucket i ends at the point's time
			if math.Abs(v-want) > 1e-9*math.Max(1, want) {
				t.Fatalf("bucket %d: %v req/s, trace %v req/5min = %v req/s", i, v, tr.Values[i], want)
			}
		}
	})

	t.Run("instant query", func(t *testing.T) {
		src := newSource(t, srv.URL, metrics.PrometheusConfig{})
		at := dataStart.Add(24 * time.Hour)
		v, err := src.Instant(ctx, demand, at)
		if err != nil {
			t.Fatal(err)
		}
		m := int(at.Sub(dataStart) / time.Minute)
		want, want3 := (c[m]-c[m-5])/300, (c[m]-c[m-4])/240
		if math.Abs(v-want) > 1e-9*want && math.Abs(v-want3) > 1e-9*want3 {
			t.Errorf("instant rate %v, trace says %v", v, want)
		}
		_, err = src.Instant(ctx, metrics.Query{Target: "web", Signal: "vix", Expr: `rate(http_requests_total[5m])`}, at)
		if metrics.KindOf(err) != metrics.KindMultipleSeries {
			t.Errorf("two series: %v", err)
		}
	})

	t.Run("several series must be aggregated", func(t *testing.T) {
		src := newSource(t, srv.URL, metrics.PrometheusConfig{})
		q := metrics.Query{Target: "web", Signal: "demand", Expr: `rate(http_requests_total[5m])`}
		_, err := src.Range(ctx, q, dataStart.Add(time.Hour), dataStart.Add(2*time.Hour), time.Minute)
		if metrics.KindOf(err) != metrics.KindMultipleSeries || !strings.Contains(err.Error(), "target web signal demand") || !strings.Contains(err.Error(), "aggregate") {
			t.Fatalf("got %v", err)
		}
		q.Expr = `sum(rate(http_requests_total[5m]))`
		sum, err := src.Range(ctx, q, dataStart.Add(time.Hour), dataStart.Add(2*time.Hour), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := src.Range(ctx, demand, dataStart.Add(time.Hour), dataStart.Add(2*time.Hour), time.Minute)
		for i := range sum.Values {
			if math.Abs(sum.Values[i]-1.5*a.Values[i]) > 1e-9*sum.Values[i] {
				t.Fatalf("sum %v, want 1.5 × %v", sum.Values[i], a.Values[i])
			}
		}
	})

	t.Run("bad PromQL, empty result, NaN", func(t *testing.T) {
		src := newSource(t, srv.URL, metrics.PrometheusConfig{Retries: -1})
		cases := []struct {
			expr string
			kind metrics.ErrorKind
			text string
		}{
			{`rate(http_requests_total[5m]`, metrics.KindBadQuery, "target api signal latency_p95: bad_query"},
			{`rate(no_such_metric[5m])`, metrics.KindEmpty, "check the metric names"},
			{`rate(http_requests_total{instance="a"}[5m]) * 0 / 0`, metrics.KindNonFinite, "NaN, Inf or beyond"},
		}
		for _, c := range cases {
			q := metrics.Query{Target: "api", Signal: "latency_p95", Expr: c.expr}
			_, err := src.Range(ctx, q, dataStart.Add(time.Hour), dataStart.Add(2*time.Hour), time.Minute)
			if metrics.KindOf(err) != c.kind || !strings.Contains(err.Error(), c.text) {
				t.Errorf("%s: %v, want %s containing %q", c.expr, err, c.kind, c.text)
			}
		}
	})

	t.Run("slow responses time out", func(t *testing.T) {
		var n atomic.Int32
		proxy := countingProxy(t, srv.URL, &n, func(w http.ResponseWriter, r *http.Request) bool {
			time.Sleep(2 * time.Second)
			return false
		})
		src := newSource(t, proxy, metrics.PrometheusConfig{Timeout: model.Duration(200 * time.Millisecond), Retries: 1, Backoff: model.Duration(time.Millisecond)})
		begin := time.Now()
		_, err := src.Range(ctx, demand, dataStart.Add(time.Hour), dataStart.Add(2*time.Hour), time.Minute)
		if metrics.KindOf(err) != metrics.KindTimeout {
			t.Fatalf("got %v, want a timeout", err)
		}
		if el := time.Since(begin); el > 1500*time.Millisecond {
			t.Errorf("gave up after %v: the timeout did not bound the wait", el)
		}
		if n.Load() != 2 {
			t.Errorf("%d attempts, want 2 (one retry)", n.Load())
		}
	})

	t.Run("5xx is retried with backoff", func(t *testing.T) {
		var n atomic.Int32
		proxy := countingProxy(t, srv.URL, &n, func(w http.ResponseWriter, r *http.Request) bool {
			if n.Load() <= 2 {
				http.Error(w, "overloaded", http.StatusServiceUnavailable)
				return true
			}
			return false
		})
		src := newSource(t, proxy, metrics.PrometheusConfig{Retries: 3, Backoff: model.Duration(5 * time.Millisecond)})
		if _, err := src.Range(ctx, demand, dataStart.Add(time.Hour), dataStart.Add(2*time.Hour), time.Minute); err != nil {
			t.Fatalf("after two 503s: %v", err)
		}
		if n.Load() != 3 {
			t.Errorf("%d attempts, want 3", n.Load())
		}
	})

	t.Run("server stopped mid-run and restarted", func(t *testing.T) {
		src := newSource(t, srv.URL, metrics.PrometheusConfig{Retries: -1})
		h := metrics.NewHistory(src, metrics.HistoryConfig{Step: time.Minute, Window: 3 * 24 * time.Hour}, nil)
		now := dataStart.Add(5 * 24 * time.Hour)
		if err := h.Update(ctx, demand, now); err != nil {
			t.Fatal(err)
		}
		before, _ := h.Series(demand)
		srv.Stop()
		for i := 0; i < 3; i++ {
			now = now.Add(time.Minute)
			if err := h.Update(ctx, demand, now); metrics.KindOf(err) != metrics.KindUnreachable {
				t.Fatalf("while stopped: %v, want unreachable", err)
			}
		}
		during, _ := h.Series(demand)
		if during.Observed() < before.Observed()-3 {
			t.Errorf("history lost points while the server was down: %d then %d", before.Observed(), during.Observed())
		}
		srv.Restart()
		now = now.Add(time.Minute)
		if err := h.Update(ctx, demand, now); err != nil {
			t.Fatalf("after restart: %v", err)
		}
		after, _ := h.Series(demand)
		if !after.End().Equal(now) || after.Observed() != after.Len() {
			t.Errorf("after restart: ends %s (want %s), %d of %d observed", after.End(), now, after.Observed(), after.Len())
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		src := newSource(t, "http://127.0.0.1:1", metrics.PrometheusConfig{Retries: 1, Backoff: model.Duration(time.Millisecond)})
		_, err := src.Range(ctx, demand, dataStart, dataStart.Add(time.Hour), time.Minute)
		if metrics.KindOf(err) != metrics.KindUnreachable || !strings.Contains(err.Error(), "after 2 attempts") {
			t.Errorf("got %v", err)
		}
	})
}

// countingProxy forwards to target, counting requests; intercept may
// answer a request itself (returning true) or delay it.
func countingProxy(t *testing.T, target string, n *atomic.Int32, intercept func(http.ResponseWriter, *http.Request) bool) string {
	u, _ := url.Parse(target)
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if intercept != nil && intercept(w, r) {
			return
		}
		rp.ServeHTTP(w, r)
	})}
	ln := listen(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return fmt.Sprintf("http://%s", ln.Addr())
}
