package config

import (
	"path/filepath"
	"testing"
)

func TestExamplesValidate(t *testing.T) {
	files, err := filepath.Glob("../deploy/examples/*.yaml")
	// The three runbooks, and the ticketing runbook's KEDA variant.
	if err != nil || len(files) != 4 {
		t.Fatalf("want the four example policies, got %v (%v)", files, err)
	}
	ps, err := Load(files...)
	if err != nil {
		t.Fatalf("examples do not validate:\n%v", err)
	}
	if len(ps) != 4 {
		t.Errorf("got %d policies, want 4", len(ps))
	}
	for _, p := range ps {
		if len(p.Warnings) > 0 {
			t.Errorf("%s: the shipped examples must load without warnings: %v", p.File, p.Warnings)
		}
	}
}
