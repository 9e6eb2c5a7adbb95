package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStoreKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "p.yaml")
	write := func(s string) {
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(minimal)
	s, err := NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := s.Reload(); changed || err != nil {
		t.Errorf("unchanged reload = %v, %v", changed, err)
	}
	write(strings.Replace(minimal, "maxReplicas: 10", "maxReplicas: 20", 1))
	if changed, err := s.Reload(); !changed || err != nil {
		t.Fatalf("valid change = %v, %v", changed, err)
	}
	if got := s.Policies()[0].Spec.Targets[0].HPA.MaxReplicas; got != 20 {
		t.Errorf("maxReplicas after reload = %d", got)
	}
	write(strings.Replace(minimal, "maxReplicas: 10", "maxReplicas: many", 1))
	changed, err := s.Reload()
	if changed || err == nil || !strings.Contains(err.Error(), "p.yaml:16:22: spec.targets[0].hpa.maxReplicas") {
		t.Fatalf("invalid change = %v, %v", changed, err)
	}
	if got := s.Policies()[0].Spec.Targets[0].HPA.MaxReplicas; got != 20 {
		t.Errorf("last good lost: maxReplicas = %d", got)
	}
	if _, err := NewStore(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file accepted")
	}
}
