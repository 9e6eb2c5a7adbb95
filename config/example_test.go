package config

import (
	"path/filepath"
	"testing"
)

func TestExamplesValidate(t *testing.T) {
	files, err := filepath.Glob("../deploy/examples/*.yaml")
	if err != nil || len(files) != 3 {
		t.Fatalf("want the three example policies, got %v (%v)", files, err)
	}
	ps, err := Load(files...)
	if err != nil {
		t.Fatalf("examples do not validate:\n%v", err)
	}
	if len(ps) != 3 {
		t.Errorf("got %d policies, want 3", len(ps))
	}
}
