package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
)

func TestValidateCommand(t *testing.T) {
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
		{"examples", []string{"../../deploy/examples"}, exitOK, "4 policies in 4 files: ok\n"},
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
