package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var problemLine = regexp.MustCompile(`^fuzz\.yaml:\d+:\d+: `)

// FuzzParse checks that the decoder never panics and that every problem it
// reports carries a FILE:LINE:COL position. Seeds: the examples, the
// fixtures and the minimal policy; `go test` runs them, and
//
//	go test ./config -run XXX -fuzz FuzzParse -fuzzminimizetime 2s
//
// explores (without the short minimisation time, shrinking an interesting
// multi-kilobyte policy takes minutes and looks like a stall).
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("apiVersion: [\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("---\n---\n"))
	for _, glob := range []string{"../deploy/examples/*.yaml", "../testdata/policies/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(data, "fuzz.yaml")
		if err == nil {
			return
		}
		var ps Problems
		if !errors.As(err, &ps) {
			t.Fatalf("error is not Problems: %v", err)
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !problemLine.MatchString(line) {
				t.Fatalf("problem without a position: %q", line)
			}
		}
	})
}
