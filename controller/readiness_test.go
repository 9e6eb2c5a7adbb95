package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestReadinessTruthTable: /readyz is ready only when a tick has run, the
// API server answers, and every active target is backfilled or recorded
// fail-static with its reason.
func TestReadinessTruthTable(t *testing.T) {
	down := errors.New("dial tcp 127.0.0.1:6443: connect: connection refused")
	back := targetReady{name: "p/web", active: true, backfilled: true}
	failStatic := targetReady{name: "p/web", active: true, failStatic: "no usable data: Prometheus unreachable"}
	pending := targetReady{name: "p/api", active: true}
	shadowPending := targetReady{name: "p/batch"}
	for _, c := range []struct {
		name    string
		warmed  bool
		targets []targetReady
		api     error
		want    string // "" ready, else a part of the reason
	}{
		{"before the first tick", false, []targetReady{back}, nil, "no tick has run"},
		{"before the first tick, API server down", false, nil, down, "no tick has run"},
		{"backfilled, API server answers", true, []targetReady{back}, nil, ""},
		{"backfilled, API server unreachable", true, []targetReady{back}, down, "API server unreachable: dial tcp"},
		{"fail-static with its reason", true, []targetReady{failStatic}, nil, ""},
		{"fail-static, API server unreachable", true, []targetReady{failStatic}, down, "API server unreachable"},
		{"an active target neither backfilled nor fail-static", true, []targetReady{back, pending}, nil, "1 active targets neither backfilled nor recorded fail-static: p/api"},
		{"a shadow target not backfilled does not hold it back", true, []targetReady{back, shadowPending}, nil, ""},
		{"no targets", true, nil, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := readiness(c.warmed, c.targets, c.api)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("not ready: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Errorf("err %v, want %q", err, c.want)
			}
		})
	}
}

// TestReadyFromTheLoop: the loop's Ready reads the last tick's snapshot and
// the API server check. With Prometheus down from the start, every active
// target is recorded fail-static with its reason: ready, unless the API
// server does not answer.
func TestReadyFromTheLoop(t *testing.T) {
	h := newHarness(t, testPolicy)
	if err := h.loop.Ready(); err == nil || !strings.Contains(err.Error(), "no tick has run") {
		t.Fatalf("before a tick: %v", err)
	}
	h.src.down = true
	h.loop.Tick(context.Background())
	if err := h.loop.Ready(); err != nil {
		t.Fatalf("Prometheus down, fail-static recorded: %v", err)
	}
	snap := *h.loop.ready.Load()
	active := 0
	for _, tr := range snap {
		if tr.active {
			active++
			if tr.backfilled || !strings.Contains(tr.failStatic, "connection refused") {
				t.Errorf("%+v: want fail-static with the source's reason", tr)
			}
		}
	}
	if active == 0 {
		t.Fatalf("no active target in %+v", snap)
	}
	h.src.down = false
	h.tick(t)
	// The policy's "broken" target queries a trace that does not exist:
	// it stays fail-static with that reason; the others are backfilled.
	for _, tr := range *h.loop.ready.Load() {
		switch {
		case !tr.active:
		case strings.HasSuffix(tr.name, "/broken"):
			if tr.backfilled || !strings.Contains(tr.failStatic, "no_such_trace") {
				t.Errorf("%+v: want fail-static with its reason", tr)
			}
		case !tr.backfilled || tr.failStatic != "":
			t.Errorf("%+v: want backfilled once Prometheus answers", tr)
		}
	}
	if err := h.loop.Ready(); err != nil {
		t.Errorf("Prometheus back: %v", err)
	}
	h.loop.cfg.APIServer = func(context.Context) error { return errors.New("connection refused") }
	if err := h.loop.Ready(); err == nil || !strings.Contains(err.Error(), "API server unreachable: connection refused") {
		t.Errorf("API server down: %v", err)
	}
}
