package metrics_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/prescale/prescale/metrics"
)

// TestPrometheusHTTPConfig: the source's HTTP client takes the YAML users
// write for Prometheus itself (prometheus/common/config), and what it says
// reaches the server: a bearer token read from a file, extra headers, a
// path prefix (a Thanos or Mimir frontend).
func TestPrometheusHTTPConfig(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("s3cret\n"), 0o600)
	var mu sync.Mutex
	var seen http.Header
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen, path = r.Header.Clone(), r.URL.Path
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1700000040,"5"],[1700000100,"NaN"],[1700000160,"7"]]}]}}`))
	}))
	defer srv.Close()

	doc := `
url: ` + srv.URL + `/prometheus
timeout: 5s
authorization:
  type: Bearer
  credentials_file: ` + tokenFile + `
http_headers:
  X-Scope-OrgID:
    values: [tenant-a]
`
	var cfg metrics.PrometheusConfig
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	src, err := metrics.NewPrometheus(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	q := metrics.Query{Target: "web", Signal: "demand", Expr: "sum(rate(x[5m]))"}
	got, err := src.Range(context.Background(), q, time.Unix(1700000040, 0), time.Unix(1700000160, 0), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if a := seen.Get("Authorization"); a != "Bearer s3cret" {
		t.Errorf("Authorization %q, want the token from the file", a)
	}
	if h := seen.Get("X-Scope-OrgID"); h != "tenant-a" {
		t.Errorf("X-Scope-OrgID %q", h)
	}
	if path != "/prometheus/api/v1/query_range" {
		t.Errorf("path %q: the URL's prefix was lost", path)
	}
	// NaN samples are gaps, counted, never zeros.
	if got.Len() != 3 || got.Values[0] != 5 || got.Values[2] != 7 || got.NonFinite != 1 || got.Values[1] == got.Values[1] {
		t.Errorf("got %v (non-finite %d)", got.Values, got.NonFinite)
	}
}

func TestPrometheusConfigErrors(t *testing.T) {
	for _, c := range []struct {
		cfg  metrics.PrometheusConfig
		want string
	}{
		{metrics.PrometheusConfig{}, "url is required"},
		{metrics.PrometheusConfig{URL: "prometheus:9090"}, "want http(s)://"},
		{metrics.PrometheusConfig{URL: "ftp://x"}, "want http(s)://"},
		{metrics.PrometheusConfig{URL: "http://x", Retries: 1_000_000_000}, "retries 1000000000: between 0 and 5"},
		{metrics.PrometheusConfig{URL: "http://x", Retries: -2}, "retries -2"},
		{metrics.PrometheusConfig{URL: "http://x", Backoff: model.Duration(1000 * time.Hour)}, "backoff 41d16h: at most 10s"},
		{metrics.PrometheusConfig{URL: "http://x", Timeout: model.Duration(time.Hour)}, "timeout 1h: at most 5m0s"},
		{metrics.PrometheusConfig{URL: "http://x", MaxPoints: -1}, "max_points -1: between 1 and 11000"},
		{metrics.PrometheusConfig{URL: "http://x", MaxPoints: 20000}, "max_points 20000"},
	} {
		if _, err := metrics.NewPrometheus(c.cfg, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
	var cfg metrics.PrometheusConfig
	bad := "url: http://x\nbasic_auth:\n  username: u\nauthorization:\n  credentials: t\n"
	if err := yaml.Unmarshal([]byte(bad), &cfg); err == nil {
		if _, err := metrics.NewPrometheus(cfg, nil); err == nil || !strings.Contains(err.Error(), "http client config") {
			t.Errorf("basic_auth and authorization together: %v", err)
		}
	}
}
