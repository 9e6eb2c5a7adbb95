package crd

import (
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/api/v1alpha1"
	"github.com/prescale/prescale/internal/kubetest"
)

// A new ScalingPolicy's targets are judged as soon as the daemon has
// replayed their floors from the demand history it holds (10 days of
// ELB here), not after a day of its own: the status carries the impact
// report, figures and all, with a reason that says the floors judged
// were replayed from history.
func TestStatusOfABackfilledJudgement(t *testing.T) {
	ns := kubetest.Namespace(t)
	createWorkload(t, ns, "web", 2, 60)
	createWorkload(t, ns, "low", 2, 60)
	r := newRigBackfilling(t, "prescale-system", 1)
	create(t, twoTargets(ns))
	waitFor(t, "the policy in force", func() bool { return len(r.src.Policies()) == 1 })
	start, began := r.now, time.Now()
	var st v1alpha1.ScalingPolicyStatus
	for i := 0; ; i++ {
		r.plan(t)
		st = status(t, ns, "web")
		if w, l := targetStatus(st, "web"), targetStatus(st, "low"); w != nil && w.Impact != nil && l != nil && l.Impact != nil {
			break
		}
		if i > 600 {
			t.Fatalf("no judgement of both targets after %d ticks (%s): %+v", i, time.Since(began), st.Targets)
		}
		r.now = r.now.Add(30 * time.Second)
		time.Sleep(50 * time.Millisecond) // the backfills run in the background
	}
	t.Logf("both targets judged %s after the first tick (%s of ticks)", time.Since(began).Round(time.Millisecond), r.now.Sub(start))
	if r.now.Sub(start) >= 24*time.Hour {
		t.Fatalf("judged after %s of ticks: want before a day of floors", r.now.Sub(start))
	}
	for _, name := range []string{"web", "low"} {
		im := targetStatus(st, name).Impact
		if im.Last14d == nil || im.Last7d == nil || im.ComputedAt == nil || im.OperatingQuantile == "" {
			t.Errorf("%s: impact %+v: want figures, when and the operating point", name, *im)
		}
		if !strings.HasPrefix(im.Reason, "judged on ") || !strings.Contains(im.Reason, " of floors replayed from history before this process planned any") {
			t.Errorf("%s: reason %q: want it to say the floors were replayed from history", name, im.Reason)
		}
	}
}
