package trace

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead: any input either reads to a well-formed series or fails with
// an error naming the input; it never panics and never returns more than
// MaxRows points. Seeded with the real traces of testdata (their first
// 8 KiB) and the edge cases of trace_test.go.
func FuzzRead(f *testing.F) {
	files, err := filepath.Glob("../../testdata/*.csv")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed traces in testdata: %v", err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 8<<10)])
	}
	for _, s := range []string{
		"timestamp,value\n0,1\n60,2\n",
		"timestamp,value\n2024-01-01T00:00:00Z,1\n2024-01-01T00:01:00Z,NaN\n2024-01-01T00:03:00Z,\n",
		"timestamp,value\n0,1\n1,1\n7000000000,1\n",
		"\ufefftimestamp,value\n1.5,1e308\n2.5,-1\n",
		"timestamp,value\n0,1\n31622400,1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Read(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			if msg := err.Error(); len(msg) < len("fuzz.csv") || msg[:len("fuzz.csv")] != "fuzz.csv" {
				t.Fatalf("error %q does not name the input", msg)
			}
			return
		}
		if s.Step <= 0 || s.Step > maxStep {
			t.Fatalf("step %v", s.Step)
		}
		if n := s.Len(); n < 1 || n > MaxRows {
			t.Fatalf("%d points", n)
		}
		for _, v := range s.Values {
			if math.IsInf(v, 0) || math.Abs(v) > maxValue {
				t.Fatalf("infinite value or beyond ±maxValue in %v", s.Values)
			}
		}
	})
}
