package live

import (
	"testing"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/policy"
)

// Each actuator status is one prescale_actuations_total result: a target
// whose ScaledObject (or HPA) does not exist counts as failed at run time,
// beside the Warning Event the actuator records.
func TestOutcome(t *testing.T) {
	r := policy.Resource{Current: 2, Desired: 8}
	for _, c := range []struct {
		ch      actuator.Change
		result  metrics.ActuationResult
		applied any
	}{
		{actuator.Change{Status: actuator.Applied, Fields: []actuator.FieldChange{{Field: "minReplicaCount", From: "2", To: "8"}}}, metrics.ResultApplied, 8},
		{actuator.Change{Status: actuator.Applied, Fields: []actuator.FieldChange{{Field: "minReplicas", From: "2", To: "6"}}}, metrics.ResultApplied, 6},
		{actuator.Change{Status: actuator.InSync}, metrics.ResultApplied, 8},
		{actuator.Change{Status: actuator.WouldApply, Mode: actuator.Shadow}, metrics.ResultShadow, 2},
		{actuator.Change{Status: actuator.WouldApply, Mode: actuator.DryRun}, metrics.ResultDryRun, 2},
		{actuator.Change{Status: actuator.Paused}, metrics.ResultPaused, 2},
		{actuator.Change{Status: actuator.Waiting}, metrics.ResultConflict, 2},
		{actuator.Change{Status: actuator.Missing}, metrics.ResultFailed, 2},
		{actuator.Change{Status: actuator.Failed}, metrics.ResultFailed, 2},
	} {
		o := outcome(c.ch, r)
		if o.Result != c.result || o.Applied != c.applied {
			t.Errorf("%s (%v): result %s applied %v, want %s %v", c.ch.Status, c.ch.Mode, o.Result, o.Applied, c.result, c.applied)
		}
	}
}
