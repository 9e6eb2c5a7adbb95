package controller

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/policy"
)

// twoTargets are two active targets on the same trace, so that a tick has
// several actuations to make.
const twoTargets = `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: shop
spec:
  targets:
    - name: web
      signals:
        demand: {query: elb, step: 5m}
      capacity: {perPod: 20, leadTime: 5m, window: 15m, operatingPoints: []}
      hpa: {namespace: shop, name: web, mode: active, minReplicas: 2, maxReplicas: 60}
    - name: api
      signals:
        demand: {query: elb, step: 5m}
      capacity: {perPod: 10, leadTime: 5m, window: 15m, operatingPoints: []}
      hpa: {namespace: shop, name: api, mode: active, minReplicas: 2, maxReplicas: 90}
`

// stallingActuator stalls the first actuation after it is armed until the
// context ends, as a write to a slow API server does when SIGTERM comes;
// then it either completes the write (the request had gone out) or gives
// up with the context's error.
type stallingActuator struct {
	*MemoryActuator
	armed   atomic.Bool
	finish  bool
	started chan policy.Resource
	calls   atomic.Int32 // Apply calls while armed
}

func (s *stallingActuator) Apply(ctx context.Context, p *config.Policy, r policy.Resource) (Outcome, error) {
	if s.armed.Load() {
		if s.calls.Add(1) == 1 {
			s.started <- r
			<-ctx.Done()
			if !s.finish {
				return Outcome{}, fmt.Errorf("update hpa %s: %w", r.Name, ctx.Err())
			}
		}
	}
	return s.MemoryActuator.Apply(ctx, p, r)
}

func newLoopWith(t *testing.T, doc string, act Actuator, now *time.Time, workers int) *Loop {
	t.Helper()
	loop, _ := elbLoop(t, doc, now, Config{Tick: time.Hour, Refit: 15 * time.Minute, Workers: workers}, act, nil, nil)
	return loop
}

// TestShutdownMidActuationLeavesFloors: when the context ends (SIGTERM)
// while an actuation is in flight, Run returns promptly, starts no further
// actuation, and hands nothing back to the owners: the floors already in
// place stay, whether the write in flight completed or was abandoned.
func TestShutdownMidActuationLeavesFloors(t *testing.T) {
	for _, finish := range []bool{true, false} {
		t.Run(fmt.Sprintf("write completes=%v", finish), func(t *testing.T) {
			var now time.Time
			act := &stallingActuator{MemoryActuator: NewMemoryActuator(), finish: finish, started: make(chan policy.Resource, 1)}
			loop := newLoopWith(t, twoTargets, act, &now, 1)
			if _, err := loop.Tick(context.Background()); err != nil {
				t.Fatal(err)
			}
			web, _ := act.HPA("web")
			api, _ := act.HPA("api")
			if web.MinReplicas <= 2 || api.MinReplicas <= 2 {
				t.Fatalf("first tick raised web to %d and api to %d; the test needs both above the owner's 2", web.MinReplicas, api.MinReplicas)
			}
			// Someone lowers both floors: the next tick re-asserts them,
			// and its first write stalls.
			act.SetHPA("web", policy.HPAStatus{MinReplicas: 2, MaxReplicas: 60})
			act.SetHPA("api", policy.HPAStatus{MinReplicas: 2, MaxReplicas: 90})
			act.armed.Store(true)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- loop.Run(ctx) }()
			var inFlight policy.Resource
			select {
			case inFlight = <-act.started:
			case <-time.After(10 * time.Second):
				t.Fatal("no actuation started")
			}
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v on shutdown", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return within 5s of the context ending")
			}
			if n := act.calls.Load(); n != 1 {
				t.Errorf("%d actuations after the first stalled one was interrupted; want none started after shutdown", n-1)
			}
			if len(act.Restored) != 0 {
				t.Errorf("restored %v on shutdown; floors must stay", act.Restored)
			}
			h, _ := act.HPA(inFlight.Target)
			want := 2
			if finish {
				want = inFlight.Desired.(int)
			}
			if h.MinReplicas != want {
				t.Errorf("%s after shutdown: minReplicas %d, want %d", inFlight.Target, h.MinReplicas, want)
			}
		})
	}
}

// TestParallelInputsAreDeterministic: the plans do not depend on how many
// workers observe and refit the targets.
func TestParallelInputsAreDeterministic(t *testing.T) {
	doc := `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: many
spec:
  targets:
`
	for i := range 12 {
		doc += fmt.Sprintf(`    - name: t%d
      signals:
        demand: {query: elb, step: 5m}
      capacity: {perPod: %d, leadTime: 5m, window: 15m, operatingPoints: []}
      hpa: {namespace: ns, name: t%d, mode: active, minReplicas: 1, maxReplicas: 500}
`, i, 5+i, i)
	}
	run := func(workers int) []string {
		var now time.Time
		act := NewMemoryActuator()
		loop := newLoopWith(t, doc, act, &now, workers)
		var out []string
		for range 6 { // past a refit
			plans, err := loop.Tick(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range plans[0].Resources {
				out = append(out, fmt.Sprintf("%s %s %v %q", r.Target, r.Field, r.Desired, r.Reasons))
			}
			now = now.Add(5 * time.Minute)
		}
		return out
	}
	serial := run(1)
	for _, w := range []int{2, 4, 16} {
		got := run(w)
		if len(got) != len(serial) {
			t.Fatalf("%d workers: %d planned values, serial %d", w, len(got), len(serial))
		}
		for i := range got {
			if got[i] != serial[i] {
				t.Errorf("%d workers: %s\nserial:    %s", w, got[i], serial[i])
				break
			}
		}
	}
}

func TestParallelCallsEachIndexOnce(t *testing.T) {
	for _, c := range []struct{ n, workers int }{{0, 4}, {1, 4}, {7, 1}, {100, 3}, {5, 64}} {
		counts := make([]atomic.Int32, c.n)
		var running, peak atomic.Int32
		parallel(c.n, c.workers, func(i int) {
			r := running.Add(1)
			for {
				p := peak.Load()
				if r <= p || peak.CompareAndSwap(p, r) {
					break
				}
			}
			time.Sleep(time.Millisecond)
			counts[i].Add(1)
			running.Add(-1)
		})
		for i := range counts {
			if v := counts[i].Load(); v != 1 {
				t.Errorf("n=%d workers=%d: index %d called %d times", c.n, c.workers, i, v)
			}
		}
		if p := int(peak.Load()); p > max(c.workers, 1) {
			t.Errorf("n=%d workers=%d: %d calls at once", c.n, c.workers, p)
		}
	}
}
