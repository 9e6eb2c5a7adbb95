package sim

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
)

var t0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func minutes(vals ...float64) forecast.Series {
	return forecast.Series{Start: t0, Step: Minute, Values: vals}
}

// steps builds a 1-minute series of runs: n minutes at v, ...
func steps(runs ...[2]float64) forecast.Series {
	var v []float64
	for _, r := range runs {
		for range int(r[0]) {
			v = append(v, r[1])
		}
	}
	return minutes(v...)
}

func TestResample(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name    string
		in      forecast.Series
		maxHold time.Duration
		want    []float64
	}{
		{"5-minute samples are held for their interval",
			forecast.Series{Start: t0, Step: 5 * Minute, Values: []float64{1, 2}}, 0,
			[]float64{1, 1, 1, 1, 1, 2, 2, 2, 2, 2}},
		{"a short gap is held",
			forecast.Series{Start: t0, Step: 5 * Minute, Values: []float64{1, nan, 3}}, 5 * Minute,
			[]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 3, 3, 3, 3}},
		{"a long gap stays a gap",
			forecast.Series{Start: t0, Step: 5 * Minute, Values: []float64{1, nan, 3}}, 4 * Minute,
			[]float64{1, 1, 1, 1, 1, nan, nan, nan, nan, nan, 3, 3, 3, 3, 3}},
		{"30-second samples are averaged per minute, gaps ignored",
			forecast.Series{Start: t0, Step: 30 * time.Second, Values: []float64{1, 3, nan, 5, nan, nan}}, 0,
			[]float64{2, 5, nan}},
		{"a leading gap is not filled",
			forecast.Series{Start: t0, Step: Minute, Values: []float64{nan, 2, nan}}, time.Hour,
			[]float64{nan, 2, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resample(tt.in, tt.maxHold)
			if err != nil {
				t.Fatal(err)
			}
			if got.Step != Minute || !got.Start.Equal(t0) {
				t.Fatalf("grid %v from %v, want 1m from %v", got.Step, got.Start, t0)
			}
			if len(got.Values) != len(tt.want) {
				t.Fatalf("got %d minutes %v, want %d %v", len(got.Values), got.Values, len(tt.want), tt.want)
			}
			for i := range tt.want {
				if g, w := got.Values[i], tt.want[i]; g != w && !(math.IsNaN(g) && math.IsNaN(w)) {
					t.Fatalf("minute %d = %v, want %v (all %v)", i, g, w, got.Values)
				}
			}
		})
	}
}

// testConfig: pods of capacity 1 at a 50% target, so the HPA holds 2 pods
// per unit of demand, and default delays.
func testConfig(ppn int) Config {
	c := DefaultConfig(1)
	c.TargetUtilization = 0.5
	c.PodsPerNode = ppn
	return c
}

// A step in demand from 4 to 16 at minute 10 against 8 ready pods (the HPA's
// steady state for 4 at 50%): the HPA sees it one metrics lag later
// (minute 11) and asks for 16 pods (up to +100% / +4 per 15 s: 16). Where
// the new pods fit on existing nodes they are ready a pod start later
// (minute 12): 2 minutes short by 8. Where they need a new node, add the
// node start: 5 minutes short.
func TestRunStepResponse(t *testing.T) {
	demand := steps([2]float64{10, 4}, [2]float64{50, 16})
	total := 10*4.0 + 50*16.0
	tests := []struct {
		name      string
		ppn       int
		wantShort float64 // minutes under-provisioned
	}{
		{"nodes not modelled", 0, 2},
		{"room on the running node", 16, 2},
		{"a new node needed", 8, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Run(context.Background(), testConfig(tt.ppn), demand, Reactive{})
			if err != nil {
				t.Fatal(err)
			}
			if res.UnderprovisionedMinutes != tt.wantShort {
				t.Errorf("under-provisioned %v minutes, want %v", res.UnderprovisionedMinutes, tt.wantShort)
			}
			if want := tt.wantShort * 8 / total; math.Abs(res.UnservedFraction-want) > 1e-12 {
				t.Errorf("unserved fraction %v, want %v", res.UnservedFraction, want)
			}
			if res.Actuations < 1 {
				t.Errorf("no actuation recorded")
			}
		})
	}
}

// With the same step, a strategy that raises the floor to 32 pods a lead
// time ahead leaves nothing unserved, and the HPA brings replicas back only
// after the floor comes down.
type fixedFloor struct {
	at    time.Time
	floor int32
}

func (f fixedFloor) Name() string { return "fixed" }
func (f fixedFloor) Floor(now time.Time, _ forecast.Series) (int32, error) {
	if now.Before(f.at) {
		return 0, nil
	}
	return f.floor, nil
}

func TestRunFloorAheadServesStep(t *testing.T) {
	demand := steps([2]float64{10, 4}, [2]float64{50, 16})
	cfg := testConfig(8)
	s := fixedFloor{at: t0.Add(10*Minute - cfg.LeadTime()), floor: 32}
	res, err := Run(context.Background(), cfg, demand, s)
	if err != nil {
		t.Fatal(err)
	}
	if res.UnservedFraction != 0 || res.UnderprovisionedMinutes != 0 {
		t.Errorf("floor set a lead time ahead: unserved %v, %v minutes; want none", res.UnservedFraction, res.UnderprovisionedMinutes)
	}
	if res.FloorChanges != 1 {
		t.Errorf("floor changes %d, want 1", res.FloorChanges)
	}
	// Set too late (at the step), it cannot help: the pods need a node.
	s.at = t0.Add(10 * Minute)
	late, err := Run(context.Background(), cfg, demand, s)
	if err != nil {
		t.Fatal(err)
	}
	if late.UnderprovisionedMinutes < 4 {
		t.Errorf("floor set at the step: %v minutes short, want at least node+pod start", late.UnderprovisionedMinutes)
	}
}

func TestRunScaleDownStabilisation(t *testing.T) {
	// 16 → 4 at minute 10: replicas (32) stay for the 300 s window after
	// the drop is seen (minute 11), then fall to 8 at minute 16.
	demand := steps([2]float64{10, 16}, [2]float64{20, 4})
	cfg := testConfig(0)
	cfg.Record = true
	res, err := Run(context.Background(), cfg, demand, Reactive{})
	if err != nil {
		t.Fatal(err)
	}
	tl := res.Timeline
	for m := 0; m < 16; m++ {
		if tl.Replicas[m] != 32 {
			t.Fatalf("minute %d: %d replicas, want 32 until the window passes (%v)", m, tl.Replicas[m], tl.Replicas[:20])
		}
	}
	if tl.Replicas[16] != 8 {
		t.Errorf("minute 16: %d replicas, want 8", tl.Replicas[16])
	}
	// Replica-hours: 16 minutes of 32 and 14 of 8.
	if want := (16*32 + 14*8) / 60.0; math.Abs(res.ReplicaHours-want) > 0.01 {
		t.Errorf("replica-hours %v, want %v", res.ReplicaHours, want)
	}
}

func TestRunNodesScaleDownAfterUnneeded(t *testing.T) {
	// 32 pods on 4 nodes, then 8 pods: nodes go once unneeded for 10
	// minutes, so node-hours = 4 nodes until 10 minutes after the pods go.
	demand := steps([2]float64{10, 16}, [2]float64{40, 4})
	cfg := testConfig(8)
	res, err := Run(context.Background(), cfg, demand, Reactive{})
	if err != nil {
		t.Fatal(err)
	}
	// Pods fall to 8 at minute 16 (see above); nodes to 1 at 26.
	if want := (26*4 + 24*1) / 60.0; math.Abs(res.NodeHours-want) > 0.01 {
		t.Errorf("node-hours %v, want %v", res.NodeHours, want)
	}
}

func TestRunOracle(t *testing.T) {
	demand := minutes(0.5, 1, 2.5, math.NaN(), 4, 4)
	cfg := testConfig(2)
	res, err := RunOracle(cfg, demand)
	if err != nil {
		t.Fatal(err)
	}
	// ceil: 1, 1, 3, (gap), 4, 4 → 13 pod-minutes; nodes 1, 1, 2, 2, 2.
	if want := 13 / 60.0; math.Abs(res.ReplicaHours-want) > 1e-12 {
		t.Errorf("replica-hours %v, want %v", res.ReplicaHours, want)
	}
	if want := 8 / 60.0; math.Abs(res.NodeHours-want) > 1e-12 {
		t.Errorf("node-hours %v, want %v", res.NodeHours, want)
	}
	if res.Actuations != 2 || res.UnservedFraction != 0 || res.EvaluatedMinutes != 5 {
		t.Errorf("actuations %d unserved %v minutes %d; want 2, 0, 5", res.Actuations, res.UnservedFraction, res.EvaluatedMinutes)
	}
}

func TestRunGapsAreNotCounted(t *testing.T) {
	// The same demand with a long gap in the middle: the gap's minutes
	// count towards nothing.
	nan := math.NaN()
	full := steps([2]float64{30, 4})
	gappy := steps([2]float64{10, 4}, [2]float64{10, nan}, [2]float64{10, 4})
	cfg := testConfig(0)
	a, _ := Run(context.Background(), cfg, full, Reactive{})
	b, err := Run(context.Background(), cfg, gappy, Reactive{})
	if err != nil {
		t.Fatal(err)
	}
	if a.EvaluatedMinutes != 30 || b.EvaluatedMinutes != 20 {
		t.Errorf("evaluated %d and %d minutes, want 30 and 20", a.EvaluatedMinutes, b.EvaluatedMinutes)
	}
	if math.Abs(b.ReplicaHours-a.ReplicaHours*2/3) > 1e-9 {
		t.Errorf("replica-hours with gap %v, want 2/3 of %v", b.ReplicaHours, a.ReplicaHours)
	}
}

func TestFloorsComeDownAlongTheLimit(t *testing.T) {
	plan := &scripted{}
	f := NewFloors("x", plan)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * Minute) }
	plan.next = 40
	if got, _ := f.Floor(at(0), forecast.Series{}); got != 40 {
		t.Fatalf("up: %d, want 40 at once", got)
	}
	plan.next = 10
	// 10% per minute, at least one pod: 40 → 36 → 33 → 30 ...
	want := []int32{36, 33, 30, 27, 25, 23, 21, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 10}
	for i, w := range want {
		if got, _ := f.Floor(at(i+1), forecast.Series{}); got != w {
			t.Fatalf("minute %d: floor %d, want %d", i+1, got, w)
		}
	}
	// Twice within a minute: only one step down.
	plan.next = 40
	f.Floor(at(30), forecast.Series{})
	plan.next = 1
	a, _ := f.Floor(at(31), forecast.Series{})
	b, _ := f.Floor(at(31).Add(30*time.Second), forecast.Series{})
	if a != 36 || b != 36 {
		t.Errorf("two calls within a period: %d, %d; want 36, 36", a, b)
	}
}

func TestFloorsHoldAPlanUntilItsWindowHasPassed(t *testing.T) {
	// A peak planned at minute 0 (for demand up to minute 10), plans
	// without it from then on, and a smaller rise planned at minute 4
	// (held until minute 14). No pacing: the floor is the highest plan
	// held.
	plan := &scripted{}
	f := NewFloors("x", plan)
	f.Hold, f.DownPercent = 10*Minute, 100
	script := map[int]int32{0: 40, 4: 20}
	want := []int32{40, 40, 40, 40, 40, 40, 40, 40, 40, 40, 20, 20, 20, 20, 10, 10}
	for m, w := range want {
		plan.next = 10
		if v, ok := script[m]; ok {
			plan.next = v
		}
		if got, _ := f.Floor(t0.Add(time.Duration(m)*Minute), forecast.Series{}); got != w {
			t.Errorf("minute %d: floor %d, want %d", m, got, w)
		}
	}
	// Without a hold the floor follows the plan at once.
	f = NewFloors("x", plan)
	f.DownPercent = 100
	plan.next = 40
	f.Floor(t0, forecast.Series{})
	plan.next = 10
	if got, _ := f.Floor(t0.Add(Minute), forecast.Series{}); got != 10 {
		t.Errorf("no hold: floor %d a minute after the peak's plan, want 10", got)
	}
}

func TestFloorsHoldThroughErrorsForGrace(t *testing.T) {
	plan := &scripted{next: 20}
	f := NewFloors("x", plan)
	f.Floor(t0, forecast.Series{})
	plan.err = errFake
	got, err := f.Floor(t0.Add(29*Minute), forecast.Series{})
	if err == nil || got != 20 {
		t.Errorf("within grace: %d, %v; want 20 and the error", got, err)
	}
	got, err = f.Floor(t0.Add(31*Minute), forecast.Series{})
	if err == nil || got != 0 {
		t.Errorf("after grace: %d, %v; want 0 and the error", got, err)
	}
}

type fakeErr struct{}

func (fakeErr) Error() string { return "planner failed" }

var errFake error = fakeErr{}

type scripted struct {
	next int32
	err  error
}

func (s *scripted) Plan(time.Time, forecast.Series) (int32, error) { return s.next, s.err }
