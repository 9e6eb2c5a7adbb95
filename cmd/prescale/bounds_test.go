package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestForecastBoundsBeforeWork: out-of-range numeric flags exit 2 naming
// the flag, before the trace is read: the input below does not exist, so
// an answer about it would mean the bound was checked too late.
func TestForecastBoundsBeforeWork(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.csv")
	many := make([]string, maxQuantiles+1)
	for i := range many {
		many[i] = fmt.Sprintf("%g", float64(i+1)/float64(maxQuantiles+2))
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--horizon", "100000000"}, "--horizon 100000000: must be between 1 and 50000 steps"},
		{[]string{"--horizon", "-1"}, "--horizon -1: must be between 1 and 50000"},
		{[]string{"--horizon", "50000", "--quantiles", "0.1,0.5,0.9"}, "--horizon 50000 with 3 quantiles: 200000 values"},
		{[]string{"--horizon", "20000", "--quantiles", strings.Join(many[:60], ",")}, "1220000 values, at most 1000000"},
		{[]string{"--quantiles", strings.Join(many, ",")}, "--quantiles: 100 levels, at most 99"},
		{[]string{"--evaluate", "--origins", "0"}, "--origins 0: must be between 1 and 500"},
		{[]string{"--evaluate", "--origins", "501"}, "--origins 501"},
		{[]string{"--evaluate", "--coverage", "1"}, "--coverage 1: must be a level in (0,1)"},
		{[]string{"--evaluate", "--coverage", "NaN"}, "--coverage NaN"},
		{[]string{"--evaluate", "--horizon", "40000", "--origins", "100"}, "--horizon 40000 × --origins 100 = 4000000 steps to score, at most 2000000"},
	} {
		args := append([]string{"forecast", "--input", missing}, c.args...)
		code, out, errOut := runCLI(args...)
		if strings.Contains(c.want, "200000 values") {
			// Within the bound: the flag is accepted and the trace is read.
			if code != exitFailure || !strings.Contains(errOut, "no such file") {
				t.Errorf("%v: exit %d %q, want the flags accepted and the missing trace reported", c.args, code, errOut)
			}
			continue
		}
		if code != exitUsage || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "no such file") || out != "" {
			t.Errorf("%v: exit %d stderr %q, want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// TestForecastDefaultHorizonBounded: a 1-second trace's default horizon (a
// day of steps, 86,400) is over the bound: refused with the reason.
func TestForecastDefaultHorizonBounded(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.csv")
	os.WriteFile(p, []byte("timestamp,value\n0,1\n1,2\n2,3\n"), 0o644)
	code, _, errOut := runCLI("forecast", "--input", p)
	if code != exitUsage || !strings.Contains(errOut, "default horizon (one day of 1s steps): --horizon 86400: must be between 1 and 50000") {
		t.Errorf("exit %d %q", code, errOut)
	}
}

// TestValidateFirstProblemsAndCount: validate prints the first
// --max-problems problems and a count of the rest.
func TestValidateFirstProblemsAndCount(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: prescale.io/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: x}\nspec:\n  targets:\n")
	for i := range 30 {
		fmt.Fprintf(&b, "    - {name: t%d}\n", i)
	}
	p := filepath.Join(t.TempDir(), "many.yaml")
	os.WriteFile(p, []byte(b.String()), 0o644)
	code, out, _ := runCLI("validate", "--max-problems", "5", p)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitFailure || len(lines) != 6 || !strings.HasPrefix(lines[0], p+":6:") {
		t.Fatalf("exit %d, %d lines:\n%s", code, len(lines), out)
	}
	var total int
	if _, err := fmt.Sscanf(lines[5], "prescale validate: %d more problems not shown", new(int)); err != nil {
		t.Errorf("last line %q", lines[5])
	}
	fmt.Sscanf(lines[5][strings.Index(lines[5], "(")+1:], "%d in all", &total)
	if total < 30*3 {
		t.Errorf("%d problems in all, want at least 3 per target (demand, perPod, hpa.name, ...): %q", total, lines[5])
	}
	if code, _, errOut := runCLI("validate", "--max-problems", "-1", p); code != exitUsage || !strings.Contains(errOut, "--max-problems -1") {
		t.Errorf("--max-problems -1: exit %d %q", code, errOut)
	}
}
