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

// TestStoreWatchRecovery: a bad edit reverted to the exact version in
// force is reported (changed false, err nil), so that whoever counts the
// failure sees it end; Reload then returns nothing new.
func TestStoreWatchRecovery(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "p.yaml")
	write := func(s string) {
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(minimal)
	s, err := NewStore(f)
	if err != nil {
		t.Fatal(err)
	}
	type report struct {
		changed bool
		err     error
	}
	reports := make(chan report, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Watch(ctx, 5*time.Millisecond, func(changed bool, err error) { reports <- report{changed, err} })
	next := func(what string) report {
		t.Helper()
		select {
		case r := <-reports:
			return r
		case <-time.After(5 * time.Second):
			t.Fatalf("no report after %s", what)
		}
		return report{}
	}
	write(strings.Replace(minimal, "perPod: 100", "perPod: -1", 1))
	if r := next("a bad edit"); r.changed || r.err == nil {
		t.Errorf("bad edit reported %+v", r)
	}
	write(minimal)
	if r := next("the revert"); r.changed || r.err != nil {
		t.Errorf("revert to the version in force reported %+v, want changed false and no error", r)
	}
	time.Sleep(30 * time.Millisecond)
	if len(reports) != 0 {
		t.Errorf("%d more reports with nothing changed", len(reports))
	}
}

// TestStoreChecksAcrossFiles: a reload is held to what Load checks across
// files (unique policy names, the total of targets), not only each file.
func TestStoreChecksAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := NewStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	changed, err := s.Reload()
	if changed || err == nil || !strings.Contains(err.Error(), `b.yaml:4:9: metadata.name: policy "demo" already defined in `) {
		t.Errorf("a second policy of the same name: changed %v, err %v", changed, err)
	}
	if got := len(s.Policies()); got != 1 {
		t.Errorf("%d policies in force after the rejected reload, want the 1 of the last good version", got)
	}
	// The same rejected version again: the same problems, nothing new.
	if changed, err2 := s.Reload(); changed || err2 == nil || err2.Error() != err.Error() {
		t.Errorf("unchanged rejected version: changed %v, err %v", changed, err2)
	}
	if _, err := NewStore(filepath.Join(dir)); err == nil || !strings.Contains(err.Error(), "already defined") {
		t.Errorf("NewStore on two policies of the same name: %v", err)
	}
}

// TestWatchInterval: a non-positive interval is an error, not the panic
// of time.NewTicker (prescale run --reload 0 panicked).
func TestWatchInterval(t *testing.T) {
	s, err := NewStore("../testdata/policies/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, every := range []time.Duration{0, -time.Second} {
		if err := s.Watch(context.Background(), every, func(bool, error) {}); err == nil || !strings.Contains(err.Error(), "must be positive") {
			t.Errorf("Watch(%v): %v", every, err)
		}
	}
}
