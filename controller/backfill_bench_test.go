package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/policy"
	"github.com/prescale/prescale/sim"
)

// BenchmarkBackfill is one target's ledger backfill as a backfill worker
// makes it (runBackfill, then seedReplayed at the tick): the floors of
// backfillPolicy's target (p90 and the default operating points p30, p50,
// p70) replayed over 14 days of 5-minute history, refitted every 15
// minutes from the past only (models selected afresh every 6 hours),
// and judged at equal cost, in CPU time per target. The time to backfill
// N targets at the budget is N × cpu-ms/op / Config.Backfills (each
// worker uses one core):
//
//	go test -run '^$' -bench 'Backfill$' -benchtime 3x ./controller/
func BenchmarkBackfill(b *testing.B) {
	// many is backfillPolicy with 19 more targets: a target's replay
	// plans it alone, so it costs what it costs in a policy of one.
	doc, tgt := backfillPolicy, backfillPolicy[strings.Index(backfillPolicy, "    - name: web"):]
	for i := range 19 {
		doc += strings.ReplaceAll(tgt, "name: web", fmt.Sprintf("name: web%d", i))
	}
	for _, c := range []struct{ name, file, doc string }{
		{"ELB", "../testdata/elb_request_count_8c0756.csv", backfillPolicy},
		{"GOOG", "../testdata/Twitter_volume_GOOG.csv", backfillPolicy},
		{"ELB-policy-of-20", "../testdata/elb_request_count_8c0756.csv", doc},
	} {
		ps, err := config.Parse([]byte(c.doc), "bench.yaml")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			tr, _ := benchTraceTarget(b, c.file, 14)
			ctx := context.Background()
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				ti, rf, why, err := sim.PolicyImpactFloors(ctx, policy.NewEngine(ps[0]), "web", tr, 15*time.Minute, StandDownMargin)
				if err != nil || ti == nil {
					b.Fatalf("%v (%s)", err, why)
				}
				(&floorLedger{}).seedReplayed(rf)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}
