package metrics

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzPrometheusRange: whatever a server answers to query_range (any body,
// any status), Range returns either a SourceError or samples on the asked
// grid that are finite or NaN (gaps); it never panics. Seeded with the
// answers in testdata/prometheus/*.json: a matrix as Prometheus 3 answers
// it, two series, NaN and Inf samples, an error, a vector.
func FuzzPrometheusRange(f *testing.F) {
	files, err := filepath.Glob("testdata/prometheus/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed answers in testdata/prometheus: %v", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, 200)
	}
	f.Add([]byte(`{"status":"error","errorType":"bad_data","error":"parse error"}`), 400)
	f.Add([]byte(`<html>502 Bad Gateway</html>`), 502)
	f.Add([]byte(``), 200)

	var body []byte
	var status int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}))
	f.Cleanup(srv.Close)
	p, err := NewPrometheus(PrometheusConfig{URL: srv.URL, Retries: -1, Timeout: 0}, nil)
	if err != nil {
		f.Fatal(err)
	}
	start := time.Unix(1700000000, 0).UTC()
	end := start.Add(10 * time.Minute)
	f.Fuzz(func(t *testing.T, b []byte, code int) {
		if code < 100 || code > 599 {
			code = 200
		}
		body, status = b, code
		s, err := p.Range(context.Background(), Query{Target: "t", Signal: "demand", Expr: "up"}, start, end, time.Minute)
		if err != nil {
			var se *SourceError
			if !errors.As(err, &se) {
				t.Fatalf("error %T %v is not a SourceError", err, err)
			}
			return
		}
		// The grid is the asked range's whole minutes.
		if s.Start.Before(start) || !s.Start.Before(start.Add(time.Minute)) || s.Start.Unix()%60 != 0 || s.Step != time.Minute || s.Len() != 10 {
			t.Fatalf("grid %v %v %d, want the 10 whole minutes from %v", s.Start, s.Step, s.Len(), start)
		}
		finite := 0
		for _, v := range s.Values {
			if math.IsInf(v, 0) {
				t.Fatalf("Inf sample returned: %v", s.Values)
			}
			if !math.IsNaN(v) {
				finite++
			}
		}
		if finite == 0 {
			t.Fatalf("success with no finite sample: %v", s.Values)
		}
	})
}
