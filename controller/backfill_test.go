package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/metrics/trace"
	"github.com/prescale/prescale/policy"
	"github.com/prescale/prescale/sim"
)

// backfillPolicy is plan's test policy (cmd/prescale elbPolicy): the
// default operating points p30, p50 and p70 besides the owner's p90.
const backfillPolicy = `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: web
spec:
  targets:
    - name: web
      signals:
        demand:
          query: trace
          step: 5m
      capacity:
        perPod: 20
        leadTime: 5m
        window: 15m
      hpa:
        namespace: default
        name: web
        mode: active
        minReplicas: 2
        maxReplicas: 60
`

// backfillRig is a loop over backfillPolicy with file's trace replayed up
// to days into it, as query "trace", kept for 14 days (the daemon's
// --history).
type backfillRig struct {
	now  time.Time
	loop *Loop
	exp  *metrics.Exporter
	q    metrics.Query
}

func newBackfillRig(t *testing.T, file string, days float64, cfg Config) *backfillRig {
	t.Helper()
	ps, err := config.Parse([]byte(backfillPolicy), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := trace.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r := &backfillRig{exp: metrics.NewExporter("test", nil)}
	r.now = tr.Start.Add(time.Duration(days * float64(24*time.Hour))).Truncate(5 * time.Minute)
	rep := metrics.NewReplay(func() time.Time { return r.now })
	rep.Add("trace", tr)
	hist := metrics.NewHistory(rep, metrics.HistoryConfig{Step: 5 * time.Minute, Window: 14 * 24 * time.Hour}, r.exp)
	cfg.Tick, cfg.Refit, cfg.Now = 5*time.Minute, 15*time.Minute, func() time.Time { return r.now }
	r.loop = New(cfg, func() []*config.Policy { return ps }, hist, NewMemoryActuator(), r.exp, nil)
	r.q, _ = demandQuery(ps[0], &ps[0].Spec.Targets[0])
	return r
}

func (r *backfillRig) tick(t *testing.T, ctx context.Context) policy.Resource {
	t.Helper()
	plans, err := r.loop.Tick(ctx)
	if err != nil {
		t.Fatalf("tick at %s: %v", r.now.Format(time.RFC3339), err)
	}
	return floorOf(t, plans[0], "web")
}

func (r *backfillRig) ledger() *floorLedger {
	r.loop.mu.Lock()
	defer r.loop.mu.Unlock()
	return r.loop.ledgers["web/web"]
}

// A target met without a verdict, with days of demand history, is judged
// at the first tick after its backfill ends, on the floors its forecast
// would have planned over that history: the verdict plan's impact report
// gives on the same history (sim.PolicyImpact), put in force and
// exported, its reason saying the floors were replayed from history.
// Twitter's GOOG volume does not pay and stands down; the Alibaba CPU
// trace pays at an operating point (p30, as plan finds).
func TestBackfillJudgesNewTargetsOnTheirHistory(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		days       float64
		down       bool
	}{
		{"GOOG stands down", "../testdata/Twitter_volume_GOOG.csv", 15, true},
		{"Alibaba pays", "../testdata/alibaba2018_cluster_usage_cpu.csv", 7.78, false}, // the whole trace, as plan's test
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newBackfillRig(t, tc.file, tc.days, Config{})
			ctx := context.Background()
			first := r.tick(t, ctx)
			if why := strings.Join(first.Reasons, "; "); !strings.Contains(why, "operating point p30, not the owner's p90: the floors are not judged yet (the floors its forecast would have planned over its demand history are being replayed") {
				t.Errorf("first tick's reasons %q: want the lowest point while the backfill runs", why)
			}
			if v := testutil.ToFloat64(r.exp.BackfillsPending); v != 1 {
				t.Errorf("prescale_backfills_pending %v while it runs, want 1", v)
			}
			lg := r.ledger()
			own := lg.floors[len(lg.floors)-1] // the floor the first tick planned
			ownAt := lg.first
			r.loop.waitBackfills()
			// What plan's impact report says on the same history.
			series, ok := r.loop.hist.Series(r.q)
			if !ok {
				t.Fatal("no history")
			}
			ps := r.loop.policies()
			want, whyNot, err := sim.PolicyImpact(ctx, policy.NewEngine(ps[0]), "web", series, 15*time.Minute, StandDownMargin)
			if err != nil || want == nil {
				t.Fatalf("plan's impact: %v (%s)", err, whyNot)
			}
			if want.StoodDown != tc.down {
				t.Fatalf("plan's impact: stood down %v (%s), the case wants %v", want.StoodDown, want.Why, tc.down)
			}

			r.now = r.now.Add(5 * time.Minute)
			floor := r.tick(t, ctx)
			lg = r.ledger()
			if v := testutil.ToFloat64(r.exp.BackfillsPending); v != 0 {
				t.Errorf("prescale_backfills_pending %v once judged, want 0", v)
			}
			if lg.computed.IsZero() || lg.impact14 == nil || lg.impact7 == nil {
				t.Fatalf("not judged at the first tick after the backfill (noBackfill %q)", lg.noBackfill)
			}
			if lg.down != want.StoodDown || (!lg.down && lg.quantile() != want.Quantile) {
				t.Errorf("judged: stood down %v at p%g (%s); plan's impact: %v at p%g (%s)", lg.down, 100*lg.quantile(), lg.why, want.StoodDown, 100*want.Quantile, want.Why)
			}
			if lg.impact14.UnservedSaved() != want.Last14d.UnservedSaved() || lg.impact7.ReplicaHoursPaid() != want.Last7d.ReplicaHoursPaid() {
				t.Errorf("impact figures %+v / %+v, plan's %+v / %+v", lg.impact14, lg.impact7, want.Last14d, want.Last7d)
			}
			if !strings.Contains(lg.why, "of floors replayed from history before this process planned any") || !strings.HasSuffix(lg.why, want.Why) {
				t.Errorf("why %q: want it to say the floors were replayed from history, and plan's reason %q", lg.why, want.Why)
			}
			// Put in force: the plan and the metrics say so.
			reasons := strings.Join(floor.Reasons, "; ")
			if tc.down {
				if !strings.Contains(reasons, "stood down") || !strings.Contains(reasons, "replayed from history") {
					t.Errorf("reasons %q: want the floors stood down on the replayed floors", reasons)
				}
			} else if at := fmt.Sprintf("operating point p%g, not the owner's p90: ", 100*want.Quantile); want.Quantile == 0.9 || !strings.Contains(reasons, at+"judged on") {
				t.Errorf("reasons %q: want %q and the reason judged on the replayed floors", reasons, at)
			}
			down := 0.0
			if tc.down {
				down = 1
			}
			if v := testutil.ToFloat64(r.exp.StoodDown.WithLabelValues("web")); v != down {
				t.Errorf("prescale_stood_down %v, want %v", v, down)
			}
			if v := testutil.ToFloat64(r.exp.ImpactReplicaHoursPaid.WithLabelValues("web", "14d")); v != 3600*want.Last14d.ReplicaHoursPaid() {
				t.Errorf("prescale_impact_replica_seconds_paid{14d} %v, want %v", v, 3600*want.Last14d.ReplicaHoursPaid())
			}
			// The ledger holds the replayed floors before its own, which
			// stay where it planned them.
			if got := time.Duration(len(lg.floors)) * ledgerStep; got < 7*24*time.Hour {
				t.Errorf("ledger holds %v of floors after the backfill", got)
			}
			if i := int(ownAt.Sub(lg.first) / ledgerStep); i < 0 || i >= len(lg.floors) || lg.floors[i] != own {
				t.Errorf("the first tick's floor %d at slot %d is gone (ledger from %v)", own, i, lg.first)
			}
			if !lg.replayedUntil.Equal(ownAt) {
				t.Errorf("replayed until %v, want the ledger's own first slot %v", lg.replayedUntil, ownAt)
			}
			// A day later the daily judgement says how much of what it
			// judged was replayed.
			r.now = r.now.Add(judgeEvery)
			r.tick(t, ctx)
			if lg := r.ledger(); !strings.Contains(lg.why, "of them replayed from history before this process planned any") {
				t.Errorf("the next day's judgement: why %q", lg.why)
			}
		})
	}
}

// With too little history to replay (under the forecast's 2 days and a
// day of floors) the target stays at its lowest operating point, unjudged,
// and the reason says why; a target with a verdict carried over needs no
// backfill.
func TestBackfillNeedsHistory(t *testing.T) {
	r := newBackfillRig(t, "../testdata/Twitter_volume_GOOG.csv", 2.5, Config{})
	floor := r.tick(t, context.Background())
	why := strings.Join(floor.Reasons, "; ")
	if !strings.Contains(why, "operating point p30, not the owner's p90: the floors are not judged yet (not backfilled from history: 60h of demand history, fewer than the 3d a backfill from history needs") {
		t.Errorf("reasons %q: want the lowest point and why there is no backfill", why)
	}
	if lg := r.ledger(); lg.backfill != nil || !lg.computed.IsZero() {
		t.Errorf("backfill %v, judged %v: want neither", lg.backfill, lg.computed)
	}
	if v := testutil.ToFloat64(r.exp.OperatingQuantile.WithLabelValues("web")); v != 0.3 {
		t.Errorf("prescale_operating_quantile %v, want 0.3", v)
	}

	r = newBackfillRig(t, "../testdata/Twitter_volume_GOOG.csv", 15, Config{Verdicts: func(*config.Policy, string) (Verdict, bool) {
		return Verdict{Quantile: 0.5, Why: "x", JudgedAt: time.Date(2015, 3, 12, 0, 0, 0, 0, time.UTC), WrittenAt: time.Date(2015, 3, 12, 0, 0, 0, 0, time.UTC)}, true
	}})
	floor = r.tick(t, context.Background())
	if lg := r.ledger(); lg.backfill != nil || !strings.Contains(strings.Join(floor.Reasons, "; "), CarriedPrefix) {
		t.Errorf("carried verdict: backfill %v, reasons %q: want the verdict carried, no backfill", lg.backfill, floor.Reasons)
	}

	// One too old to carry is dropped: the target is backfilled.
	r = newBackfillRig(t, "../testdata/Twitter_volume_GOOG.csv", 15, Config{Verdicts: func(*config.Policy, string) (Verdict, bool) {
		return Verdict{Quantile: 0.5, Why: "x", JudgedAt: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC), WrittenAt: time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)}, true
	}})
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); r.loop.waitBackfills() }()
	floor = r.tick(t, ctx)
	if lg := r.ledger(); lg.backfill == nil || !strings.Contains(strings.Join(floor.Reasons, "; "), "is older than 28d and not carried over") {
		t.Errorf("verdict dropped: backfill %v, reasons %q: want a backfill, saying why the verdict was dropped", lg.backfill, floor.Reasons)
	}
}

// Cancelling the leader's context (shutdown, or the lease lost) cancels a
// running backfill: it ends with the context's error, the target stays
// unjudged, and the next leading tick starts it again.
func TestBackfillCancelledWithTheLeader(t *testing.T) {
	r := newBackfillRig(t, "../testdata/Twitter_volume_GOOG.csv", 15, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	r.tick(t, ctx)
	b := r.ledger().backfill
	if b == nil {
		t.Fatal("no backfill queued")
	}
	for tries := 0; ; tries++ { // until a worker has taken it
		r.loop.bf.mu.Lock()
		n := len(r.loop.bf.queue)
		r.loop.bf.mu.Unlock()
		if n == 0 {
			break
		}
		if tries > 30000 {
			t.Fatal("no worker took the backfill")
		}
		time.Sleep(time.Millisecond)
	}
	// A tick while it runs (a replay of 14 days takes about a second)
	// still counts it pending.
	r.tick(t, ctx)
	if v := testutil.ToFloat64(r.exp.BackfillsPending); r.ledger().backfill == b && v != 1 {
		t.Errorf("prescale_backfills_pending %v while the backfill runs, want 1", v)
	}
	cancel()
	r.loop.waitBackfills()
	if !b.done.Load() || !errors.Is(b.err, context.Canceled) {
		t.Fatalf("backfill done %v, err %v: want it cancelled", b.done.Load(), b.err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer func() { cancel2(); r.loop.waitBackfills() }()
	r.now = r.now.Add(5 * time.Minute)
	r.tick(t, ctx2)
	if lg := r.ledger(); !lg.computed.IsZero() || lg.backfill != nil {
		t.Fatalf("after the cancelled backfill: judged %v, backfill %v", lg.computed, lg.backfill)
	}
	r.now = r.now.Add(5 * time.Minute)
	r.tick(t, ctx2)
	if lg := r.ledger(); lg.backfill == nil {
		t.Errorf("the next leading tick did not start the backfill again")
	}
}

// The replayed floors fill the ledger before its own, the highest of each
// 5 minutes; the ledger's own slots keep their floors, an operating
// point's aligned on the end.
func TestSeedReplayedKeepsTheLedgersOwnFloors(t *testing.T) {
	t0 := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	levels := []float64{0.9, 0.3}
	lg := &floorLedger{}
	lg.record(t0, 9, levels, 4)
	lg.record(t0.Add(5*time.Minute), 8, levels, 3)
	start := t0.Add(-30 * time.Minute)
	n := 40 // minutes: 10 past t0, over the ledger's own slots
	rf := &sim.ReplayedFloors{Demand: forecast.Series{Start: start, Step: time.Minute, Values: make([]float64, n)}, Levels: levels, Floors: [][]int32{make([]int32, n), make([]int32, n)}}
	for m := range n {
		rf.Floors[0][m], rf.Floors[1][m] = int32(100+m), int32(m)
	}
	lg.seedReplayed(rf)
	if !lg.first.Equal(start) || len(lg.floors) != 8 || len(lg.alt[0]) != 8 {
		t.Fatalf("ledger from %v, %d slots (%d of p30): want from %v, 8", lg.first, len(lg.floors), len(lg.alt[0]), start)
	}
	// Slot k of the replay holds minutes 5k..5k+4: their highest.
	for k := range 6 {
		if lg.floors[k] != uint16(104+5*k) || lg.alt[0][k] != uint16(4+5*k) {
			t.Errorf("slot %d: %d and %d, want %d and %d", k, lg.floors[k], lg.alt[0][k], 104+5*k, 4+5*k)
		}
	}
	if lg.floors[6] != 9 || lg.floors[7] != 8 || lg.alt[0][6] != 4 || lg.alt[0][7] != 3 {
		t.Errorf("own slots %v %v: want 9, 8 and 4, 3", lg.floors[6:], lg.alt[0][6:])
	}
	if !lg.replayedUntil.Equal(t0) {
		t.Errorf("replayed until %v, want %v", lg.replayedUntil, t0)
	}
}

// A queued backfill whose target has left the policies (its policy
// deleted) is dropped unrun: it would replay a ledger no one judges.
func TestBackfillOfATargetGoneIsDropped(t *testing.T) {
	second := strings.Replace(backfillPolicy[strings.Index(backfillPolicy, "    - name: web"):], "name: web", "name: api", 2)
	r := newBackfillRig(t, "../testdata/Twitter_volume_GOOG.csv", 15, Config{})
	ps, err := config.Parse([]byte(backfillPolicy+second), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r.loop.policies = func() []*config.Policy { return ps }
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); r.loop.waitBackfills() }()
	r.tick(t, ctx) // queues web's and api's; one worker takes web's
	r.loop.mu.Lock()
	api := r.loop.ledgers["web/api"].backfill
	r.loop.mu.Unlock()
	if api == nil {
		t.Fatal("api's backfill not queued")
	}
	// A tick later api's is still queued behind web's.
	r.now = r.now.Add(5 * time.Minute)
	r.tick(t, ctx)
	if api.done.Load() {
		t.Fatalf("api's backfill ended (%v) while its target is planned", api.err)
	}
	r.loop.policies = func() []*config.Policy { return nil } // the policy is deleted
	r.now = r.now.Add(5 * time.Minute)
	if _, err := r.loop.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	r.loop.waitBackfills()
	if !errors.Is(api.err, errTargetGone) || api.ti != nil || api.took != 0 {
		t.Errorf("api's backfill: err %v, judged %v, ran %v: want it dropped unrun", api.err, api.ti != nil, api.took)
	}
}
