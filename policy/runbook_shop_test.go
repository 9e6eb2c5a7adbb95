package policy

import (
	"testing"
	"time"
)

// The shop's Black Friday runbook (DESIGN.md, "Shop, Black Friday") on
// deploy/examples/shop-black-friday.yaml. Black Friday starts at midnight,
// so its 2-hour lead crosses midnight: the step is at 22:00 the day before.
func TestRunbookShopBlackFriday(t *testing.T) {
	T := et(2026, 11, 27, 0, 0)
	day := 24 * time.Hour
	tl := newTimeline(t, loadExample(t, "shop-black-friday.yaml"), T.Add(-6*time.Hour), map[string]float64{"backend": 50, "frontend": 50})

	// Normal: backend HPA min 3 max 20; the DB at db.t3.large.
	check(t, "T-2h-1m (21:59 the day before)", tl.to(T.Add(-2*time.Hour-time.Minute)),
		floorOf("backend", 3), ceilOf("backend", 20), floorOf("frontend", 2), ceilOf("frontend", 20),
		want{"backend", KindDatabase, FieldInstanceClass, "db.t3.large", ""},
		want{"backend", KindCache, FieldNodeType, "cache.r5.medium", ""},
		want{"backend", KindDatabase, FieldReadReplicas, 0, ""})

	// 2 hours before: backend 15, frontend 10, RDS db.r5.xlarge, Redis
	// cache.r5.large, backend maxReplicas 50, read replicas added.
	p := tl.to(T.Add(-2 * time.Hour))
	check(t, "T-2h (22:00 the day before)", p,
		floorOf("backend", 15).because("T-2h"), ceilOf("backend", 50), floorOf("frontend", 10), ceilOf("frontend", 20),
		want{"backend", KindDatabase, FieldInstanceClass, "db.r5.xlarge", "outside the change windows"},
		want{"backend", KindCache, FieldNodeType, "cache.r5.large", ""},
		want{"backend", KindDatabase, FieldReadReplicas, 2, "created now"})
	for _, r := range []Resource{resource(t, p, "backend", KindDatabase, FieldInstanceClass), resource(t, p, "backend", KindCache, FieldNodeType)} {
		if !r.Apply {
			t.Errorf("T-2h: %s %s %s is not applied (the runbook's changes happen: dryRun false): %q", r.Kind, r.Name, r.Field, r.Reasons)
		}
	}
	if r := resource(t, p, "backend", KindDatabase, FieldInstanceClass); !r.Snapshot {
		t.Errorf("T-2h: the DB class change takes a snapshot first")
	}
	if r := resource(t, p, "backend", KindDatabase, FieldReadReplicas); !r.Apply || !hasReason(r, "shop-postgres-prescale-N, tagged as prescale's") {
		t.Errorf("T-2h: the read replicas are created (dryRun false), named and tagged as prescale's: %+v", r)
	}

	check(t, "T+12h, the event", tl.to(T.Add(12*time.Hour)),
		floorOf("backend", 15), ceilOf("backend", 50), floorOf("frontend", 10),
		want{"backend", KindDatabase, FieldInstanceClass, "db.r5.xlarge", ""},
		want{"backend", KindDatabase, FieldReadReplicas, 2, ""})

	// After the event, gradually: backend 8, frontend 4, backend
	// maxReplicas back to 20. Every minute: never up, never more than 10%
	// (rounded up) at a time.
	prev := map[string]int{"backend": 15, "frontend": 10}
	for at := T.Add(day); !at.After(T.Add(day + 3*time.Hour)); at = at.Add(time.Minute) {
		p := tl.to(at)
		for name := range prev {
			f := resource(t, p, name, KindHPA, FieldMinReplicas).Desired.(int)
			if f > prev[name] || prev[name]-f > (prev[name]+9)/10 {
				t.Fatalf("%s %s: floor %d after %d: not gradual", at.Format("Jan 2 15:04"), name, f, prev[name])
			}
			prev[name] = f
		}
	}
	check(t, "T+24h+3h, after the event", tl.last,
		floorOf("backend", 8).because("rule black-friday-backend (black-friday 2026-11-27 00:00 EST, T+27h): floor 8"), ceilOf("backend", 20), floorOf("frontend", 4), ceilOf("frontend", 20))

	// The DB goes back to db.t3.large in the maintenance window (Tuesdays
	// 03:00-05:00), after 72 quiet hours: Tuesday December 1.
	tl.tick = 5 * time.Minute
	check(t, "Cyber Monday", tl.to(et(2026, 11, 30, 12, 0)), floorOf("backend", 8), floorOf("frontend", 4),
		want{"backend", KindDatabase, FieldInstanceClass, "db.r5.xlarge", "hysteresis"})
	tl.to(et(2026, 12, 1, 2, 0))
	tl.tick = time.Minute
	check(t, "Tuesday 02:59", tl.to(et(2026, 12, 1, 2, 59)),
		want{"backend", KindDatabase, FieldInstanceClass, "db.r5.xlarge", "waiting for a change window"},
		want{"backend", KindDatabase, FieldReadReplicas, 2, "waiting for a change window"})
	p = tl.to(et(2026, 12, 1, 3, 0))
	check(t, "Tuesday 03:00, the maintenance window", p,
		want{"backend", KindDatabase, FieldInstanceClass, "db.t3.large", "inside a change window"},
		want{"backend", KindCache, FieldNodeType, "cache.r5.medium", ""},
		want{"backend", KindDatabase, FieldReadReplicas, 0, "only replicas prescale created are removed"})
	if r := resource(t, p, "backend", KindDatabase, FieldInstanceClass); !r.Apply || !r.Snapshot {
		t.Errorf("the way back takes a snapshot and is applied: %+v", r)
	}
	if r := resource(t, p, "backend", KindDatabase, FieldReadReplicas); !r.Apply {
		t.Errorf("the replicas are removed in the window: %+v", r)
	}
	// T+4d (after Cyber Monday): back to the owner's values.
	check(t, "T+4d+3h", tl.to(T.Add(4*day+3*time.Hour)), floorOf("backend", 3), floorOf("frontend", 2), ceilOf("backend", 20))
}
