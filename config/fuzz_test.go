package config

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	problemLine = regexp.MustCompile(`^fuzz\.yaml:\d+:\d+: `)
	// restLine is the count Problems prints after the first ShownProblems.
	restLine = regexp.MustCompile(`^\.\.\. and \d+ more problems?$`)
)

// FuzzParse checks that the decoder never panics and that every problem it
// reports carries a FILE:LINE:COL position (past ShownProblems, the last
// line counts the rest instead). Seeds: the examples, the
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
		lines := strings.Split(err.Error(), "\n")
		if n := len(lines); n > ShownProblems && restLine.MatchString(lines[n-1]) {
			lines = lines[:n-1] // the count of the rest, after the problems shown
		}
		for _, line := range lines {
			if !problemLine.MatchString(line) {
				t.Fatalf("problem without a position: %q", line)
			}
		}
	})
}
