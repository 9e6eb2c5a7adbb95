package policy

import (
	"testing"
	"time"
)

// The pricing runbook runs two read replicas in production: the owner's.
// When fewer are live (one was removed by hand), prescale does not create
// the missing one: it creates replicas only when a rule asks, and removes
// only its own.
func TestRunbookPricingOwnersReplicasNotMadeUp(t *testing.T) {
	tl := pricingTimeline(t, et(2026, 3, 10, 1, 0))
	db := resource(t, tl.last, "gateway", KindDatabase, FieldReadReplicas).Name
	tl.cur.ReadReplicas[db] = 1
	p := tl.to(et(2026, 3, 10, 1, 0).Add(2 * time.Minute))
	r := resource(t, p, "gateway", KindDatabase, FieldReadReplicas)
	if r.Desired != 1 || r.Apply || !hasReason(r, "prescale creates read replicas only when a rule asks") {
		t.Errorf("1 of the owner's 2 replicas live: %+v; want 1 kept, nothing applied, and why", r)
	}
}
