package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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
			if math.IsInf(v, 0) || math.Abs(v) > MaxMagnitude {
				t.Fatalf("Inf or beyond ±MaxMagnitude sample returned: %v", s.Values)
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

// answering is a client of a server that answers every query with *body
// (status 200, JSON), without retries.
func answering(t *testing.T, body *string) *Prometheus {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(*body))
	}))
	t.Cleanup(srv.Close)
	p, err := NewPrometheus(PrometheusConfig{URL: srv.URL, Retries: -1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRangeMagnitude: samples beyond ±MaxMagnitude (1e300, as a broken
// exporter or proxy answers) are gaps counted with NaN and Inf, not
// history: one such answer made every later forecast NaN. All of them: a
// non_finite SourceError.
func TestRangeMagnitude(t *testing.T) {
	var body string
	p := answering(t, &body)
	start := time.Unix(1700000040, 0).UTC()
	answer := func(vals ...string) string {
		out := `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[`
		for i, v := range vals {
			if i > 0 {
				out += ","
			}
			out += fmt.Sprintf(`[%d,"%s"]`, start.Unix()+int64(60*i), v)
		}
		return out + `]}]}}`
	}
	for _, c := range []struct {
		vals      []string
		nonFinite int
		kept      []float64 // NaN: a gap
		err       bool
	}{
		{[]string{"5", "1e300", "-1e16", "1e15", "-1e15", "NaN"}, 3, []float64{5, math.NaN(), math.NaN(), 1e15, -1e15, math.NaN()}, false},
		{[]string{"1e300", "+Inf", "1.5e15"}, 3, nil, true},
	} {
		body = answer(c.vals...)
		s, err := p.Range(context.Background(), Query{Target: "t", Signal: "demand", Expr: "up"}, start, start.Add(time.Duration(len(c.vals)-1)*time.Minute), time.Minute)
		if c.err {
			var se *SourceError
			if !errors.As(err, &se) || se.Kind != KindNonFinite || !strings.Contains(err.Error(), "beyond ±1e+15") {
				t.Errorf("%v: %v, want a non_finite SourceError naming the bound", c.vals, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", c.vals, err)
		}
		if s.NonFinite != c.nonFinite {
			t.Errorf("%v: NonFinite %d, want %d", c.vals, s.NonFinite, c.nonFinite)
		}
		for i, want := range c.kept {
			if got := s.Values[i]; !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
				t.Errorf("%v: sample %d = %v, want %v", c.vals, i, got, want)
			}
		}
	}
}

// TestMalformedAnswers: a success with no data.result (fuzzing found one,
// and Range dereferenced the missing value), or a matrix or vector holding
// null, is a server SourceError naming what is wrong, from Range and from
// Instant alike, never a panic and never samples.
func TestMalformedAnswers(t *testing.T) {
	var body string
	p := answering(t, &body)
	start := time.Unix(1700000040, 0).UTC()
	q := Query{Target: "t", Signal: "demand", Expr: "up"}
	for _, c := range []struct {
		body, rangeErr, instantErr string
	}{
		{`{"status":"success"}`, "answer is empty (no data.result), want a matrix", "answer is empty (no data.result), want a vector"},
		{`{"status":"success","data":{}}`, `unexpected value type "<ValNone>"`, `unexpected value type "<ValNone>"`},
		{`{"status":"success","data":{"resultType":"matrix","result":[null]}}`, "answer's matrix holds a null series", "answer is a matrix, want a vector"},
		{`{"status":"success","data":{"resultType":"vector","result":[null]}}`, "answer is a vector, want a matrix", "answer's vector holds a null sample"},
	} {
		body = c.body
		for _, r := range []struct {
			want string
			call func() error
		}{
			{c.rangeErr, func() error {
				_, err := p.Range(context.Background(), q, start, start.Add(10*time.Minute), time.Minute)
				return err
			}},
			{c.instantErr, func() error { _, err := p.Instant(context.Background(), q, start); return err }},
		} {
			err := r.call()
			var se *SourceError
			if !errors.As(err, &se) || se.Kind != KindServer || !strings.Contains(err.Error(), r.want) {
				t.Errorf("%s: error %v, want a server SourceError with %q", c.body, err, r.want)
			}
		}
	}
}
