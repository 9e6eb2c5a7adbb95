package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

func TestValidateCommand(t *testing.T) {
	validateClock = func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }
	t.Cleanup(func() { validateClock = time.Now })
	golden, err := os.ReadFile("../../testdata/policies/invalid.golden")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		// The pricing example's change windows open at 02:00 every day: on
		// 2027-03-14, the second Sunday of March, New York's clocks jump
		// from 02:00 to 03:00 (validate looks a year ahead of its clock).
		{"examples", []string{"../../deploy/examples"}, exitOK,
			"deploy/examples/pricing-trading-hours.yaml:156:21: spec.databases[0].changeWindows[0].schedule: warning: cron \"0 2 * * *\" names 02:00 on Sun 2027-03-14, which does not exist in America/New_York (clocks jump from 02:00 EST to 03:00 EDT): it does not fire then, so pricing-db's change window does not open that day\n" +
				"deploy/examples/pricing-trading-hours.yaml:181:21: spec.caches[0].changeWindows[0].schedule: warning: cron \"0 2 * * *\" names 02:00 on Sun 2027-03-14, which does not exist in America/New_York (clocks jump from 02:00 EST to 03:00 EDT): it does not fire then, so pricing-cache's change window does not open that day\n" +
				"4 policies in 4 files: ok\n"},
		{"minimal quiet", []string{"--quiet", "../../testdata/policies/minimal.yaml"}, exitOK, ""},
		{"invalid", []string{"../../testdata/policies/invalid.yaml"}, exitFailure, string(golden)},
		{"no args", nil, exitUsage, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := dispatch(context.Background(), append([]string{"validate"}, c.args...), &stdout, &stderr)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, c.code, stderr.String())
			}
			got := strings.ReplaceAll(stdout.String(), "../../", "")
			if c.code != exitUsage && got != c.out {
				t.Errorf("stdout:\n%s\nwant:\n%s", got, c.out)
			}
		})
	}
}
