package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

func TestStoreWatch(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(f, []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := NewStore(f)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	reports := make(chan error, 10)
	done := make(chan error)
	go func() { done <- s.Watch(ctx, 5*time.Millisecond, func(changed bool, err error) { reports <- err }) }()
	if err := os.WriteFile(f, []byte(strings.Replace(minimal, "perPod: 100", "perPod: -1", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-reports:
		if err == nil || !strings.Contains(err.Error(), "capacity.perPod") {
			t.Errorf("report %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no report of the invalid version")
	}
	time.Sleep(30 * time.Millisecond)
	if len(reports) != 0 {
		t.Errorf("the same invalid version reported %d more times", len(reports))
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Watch returned %v", err)
	}
}
