package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRangesNamed: each out-of-range value is refused before use, with the
// problem at its field's FILE:LINE:COL.
func TestRangesNamed(t *testing.T) {
	for _, c := range []struct {
		name, old, new string
		at, field, msg string
	}{
		{"a forecast too far ahead for its step", "          query: sum(rate(http_requests_total[2m]))\n",
			"          query: sum(rate(http_requests_total[2m]))\n          step: 1s\n      capacity:\n        leadTime: 7d\n        window: 7d\n",
			"min.yaml:11:17", "spec.targets[0].signals.demand.step", "1209600 steps, at most 20160"},
		{"a step under a second", "          query: sum(rate(http_requests_total[2m]))\n",
			"          query: sum(rate(http_requests_total[2m]))\n          step: 500ms\n", "min.yaml:11:17", "spec.targets[0].signals.demand.step", "between 1s and 1d"},
		{"too many replicas", "maxReplicas: 10", "maxReplicas: 200000", "min.yaml:16:22", "spec.targets[0].hpa.maxReplicas", "at most 100000"},
		{"an integer past the bound", "maxReplicas: 10", "maxReplicas: 99999999999", "min.yaml:16:22", "spec.targets[0].hpa.maxReplicas", "out of range"},
		{"a duration past ten years", "        perPod: 100\n", "        perPod: 100\n        leadTime: 99999999999d\n", "min.yaml:13:19", "spec.targets[0].capacity.leadTime", "at most 10 years"},
		{"a duration that overflows", "        perPod: 100\n", "        perPod: 100\n        window: 2562047h\n", "min.yaml:13:17", "spec.targets[0].capacity.window", "at most 10 years"},
		{"a utilisation above 1", "        perPod: 100\n", "        perPod: 100\n        targetUtilization: 1.5\n", "min.yaml:13:28", "spec.targets[0].capacity.targetUtilization", "between 0 and 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(minimal, c.old, c.new, 1)
			if doc == minimal {
				t.Fatal("the edit did not apply")
			}
			_, err := Parse([]byte(doc), "min.yaml")
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err %v, want Problems", err)
			}
			for _, p := range ps {
				if p.Field == c.field {
					if got := fmt.Sprintf("%s:%d:%d", p.File, p.Pos.Line, p.Pos.Col); got != c.at || !strings.Contains(p.Message, c.msg) {
						t.Errorf("%s: %q, want at %s a message with %q", got, p.Message, c.at, c.msg)
					}
					return
				}
			}
			t.Errorf("no problem at %s in\n%v", c.field, err)
		})
	}
}

// TestListAndFileSizes: a list longer than MaxListItems is refused at the
// list without decoding its items; a file over MaxPolicyBytes before it is
// parsed.
func TestListAndFileSizes(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal + "  calendars:\n    - name: c\n      holidays:\n")
	for i := range MaxListItems + 1 {
		fmt.Fprintf(&b, "        - {date: %04d-01-02}\n", 2000+i%100)
	}
	_, err := Parse([]byte(b.String()), "big.yaml")
	if err == nil || !strings.Contains(err.Error(), "big.yaml:20:9: spec.calendars[0].holidays: 10001 items, at most 10000") {
		t.Errorf("err %v", err)
	}
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	data := []byte(minimal + "# " + strings.Repeat("x", MaxPolicyBytes) + "\n")
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(big)
	if err == nil || !strings.Contains(err.Error(), big+":1:1: file larger than 16 MiB") {
		t.Errorf("err %v", err)
	}
}

// TestProblemsShowFirstAndCount: an error of many problems prints the
// first ShownProblems and a count of the rest.
func TestProblemsShowFirstAndCount(t *testing.T) {
	var ps Problems
	for i := range ShownProblems + 5 {
		ps = append(ps, Problem{File: "f.yaml", Pos: Pos{i + 1, 1}, Field: "x", Message: "bad"})
	}
	lines := strings.Split(ps.Error(), "\n")
	if len(lines) != ShownProblems+1 || lines[0] != "f.yaml:1:1: x: bad" || lines[ShownProblems] != "... and 5 more problems" {
		t.Errorf("%d lines, first %q, last %q", len(lines), lines[0], lines[len(lines)-1])
	}
	if head, more := ps.Head(0); len(head) != len(ps) || more != 0 {
		t.Errorf("Head(0) = %d, %d", len(head), more)
	}
}

// targetsDoc returns one policy of n targets with every signal and limit
// a real target sets.
func targetsDoc(name string, from, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: prescale.io/v1alpha1\nkind: ScalingPolicy\nmetadata: {name: %s}\nspec:\n  timeZone: America/New_York\n  targets:\n", name)
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&b, `    - name: svc-%d
      signals:
        demand: {query: 'sum(rate(http_requests_total{service="svc-%d"}[2m]))', step: 1m}
        latencyP95: {query: 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="svc-%d"}[5m])))', objective: 100ms}
      capacity: {perPod: 120, targetUtilization: 0.7, headroom: 0.1, quantile: 0.9, leadTime: 5m, window: 15m}
      hpa:
        namespace: ns-%d
        name: svc-%d
        mode: shadow
        minReplicas: 2
        maxReplicas: 40
        maxStepUp: 10
        scaleDown: {pods: 2, period: 5m, stabilization: 10m}
        cooldown: 5m
`, i, i, i, i%50, i)
	}
	return b.String()
}

// writeTargets writes n targets split across files.
func writeTargets(t testing.TB, n, files int) string {
	dir := t.TempDir()
	for f := range files {
		doc := targetsDoc(fmt.Sprintf("p%d", f), f*n/files, (f+1)*n/files-f*n/files)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%02d.yaml", f)), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestTenThousandTargets: the documented scale loads, in one policy or
// split across files; one more target is refused with its reason.
// BenchmarkLoad10000Targets measures the time (the goal: under 5 s).
func TestTenThousandTargets(t *testing.T) {
	for _, files := range []int{1, 10} {
		ps, err := Load(writeTargets(t, MaxTargets, files))
		if err != nil {
			t.Fatalf("%d files: %v", files, err)
		}
		n := 0
		for _, p := range ps {
			n += len(p.Spec.Targets)
		}
		if n != MaxTargets {
			t.Errorf("%d files: %d targets loaded", files, n)
		}
	}
	dir := writeTargets(t, MaxTargets, 2)
	if err := os.WriteFile(filepath.Join(dir, "zz.yaml"), []byte(targetsDoc("extra", MaxTargets, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "spec.targets: more than 10000 targets across the policies loaded") {
		t.Errorf("10,001 targets: err %v", err)
	}
}

func BenchmarkLoad10000Targets(b *testing.B) {
	for _, files := range []int{1, 10} {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
			dir := writeTargets(b, MaxTargets, files)
			for b.Loop() {
				if _, err := Load(dir); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestProblemIsOneLine: a key or a value quoted from the policy may hold
// line breaks (CI's fuzzing found a cron schedule with blank lines in it);
// each problem still prints as one FILE:LINE:COL line, with the breaks
// escaped the way Go quotes them.
func TestProblemIsOneLine(t *testing.T) {
	for _, tc := range []struct {
		p    Problem
		want string
	}{
		{Problem{File: "f.yaml", Pos: Pos{3, 5}, Field: "spec.a\nb", Message: "unknown field"}, `f.yaml:3:5: spec.a\nb: unknown field`},
		{Problem{File: "f.yaml", Pos: Pos{1, 1}, Message: "bad cron \"CRON_TZ=\n\r/x\""}, `f.yaml:1:1: bad cron "CRON_TZ=\n\r/x"`},
		{Problem{File: "f.yaml", Pos: Pos{1, 1}, Field: "x", Message: "a\u2028b\x00c\td é"}, "f.yaml:1:1: x: a\\u2028b\\x00c\td é"},
		{Problem{File: "f.yaml", Pos: Pos{2, 1}, Field: "x", Message: "plain"}, "f.yaml:2:1: x: plain"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
	// The same end to end: a key and a schedule with blank lines, as in
	// the fuzz seed.
	doc := strings.Replace(minimal, "spec:\n", "spec:\n  \"bogus\\n\\nkey\": 1\n", 1) +
		"  calendars:\n    - name: c\n      events:\n        - name: e\n          schedule: \"CRON_TZ=\\n\\n/x 3 8 * * 5\"\n"
	_, err := Parse([]byte(doc), "nl.yaml")
	if err == nil {
		t.Fatal("a policy with an unknown key parsed")
	}
	if !strings.Contains(err.Error(), `bogus\n\nkey`) || !strings.Contains(err.Error(), `CRON_TZ=\n\n`) {
		t.Errorf("the key and the schedule are not both named, escaped:\n%s", err)
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, "nl.yaml:") {
			t.Errorf("line without a position: %q in\n%s", line, err)
		}
	}
}
