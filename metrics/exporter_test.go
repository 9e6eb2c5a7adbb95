package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

// TestExportedMetricsLint: every metric follows Prometheus' naming rules
// (checked by promlint) and has HELP.
func TestExportedMetricsLint(t *testing.T) {
	e := NewExporter("test", nil)
	// Vectors appear once they have a series: give each one.
	e.Forecast.WithLabelValues("api", "demand", "mean").Set(1)
	e.Observed.WithLabelValues("api", "demand").Set(1)
	e.Desired.WithLabelValues("api", "hpa", "minReplicas").Set(3)
	e.Applied.WithLabelValues("api", "hpa", "minReplicas").Set(3)
	e.Actuations.WithLabelValues("api", "hpa", string(ResultApplied)).Inc()
	e.Decisions.WithLabelValues("api", "hpa", string(ReasonForecast)).Inc()
	e.ForecastMASE.WithLabelValues("api", "demand").Set(0.7)
	e.ForecastCoverage.WithLabelValues("api", "demand").Set(0.88)
	e.Promoted.WithLabelValues("api").Set(1)
	e.Model.WithLabelValues("api", "demand", "profile-weekly").Set(1)
	e.SourceError(Query{Target: "api", Signal: "demand"}, KindTimeout, errors.New("slow"))
	e.SourceAge(Query{Target: "api", Signal: "demand"}, 90*time.Second)
	e.FailStatic.WithLabelValues("api").Set(0)
	e.PodCPU.WithLabelValues("api").Set(0.4)
	e.DemandPerPod.WithLabelValues("api").Set(500)
	e.ImpliedCapacityPerPod.WithLabelValues("api").Set(720)
	e.CapacityPerPod.WithLabelValues("api").Set(800)
	e.TargetInfo.WithLabelValues("api", "default", "api").Set(1)
	e.StoodDown.WithLabelValues("api").Set(0)
	e.OperatingQuantile.WithLabelValues("api").Set(0.5)
	e.ImpactUnservedSaved.WithLabelValues("api", "14d").Set(0.004)
	e.ImpactReplicaHoursPaid.WithLabelValues("api", "14d").Set(432000)
	e.ImpactEqualCostRatio.WithLabelValues("api", "14d").Set(0.3)
	e.ImpactDays.WithLabelValues("api", "14d", "better").Set(11)
	e.PolicyAccepted("file", time.Unix(0, 0))
	e.PolicyRejected("file")
	e.PolicyFailing("file", true)
	e.LoopDuration.Observe(0.02)
	e.LastTick.SetToCurrentTime()
	e.Leader.Set(1)

	problems, err := lintRegistry(e)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	mfs, err := e.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
		if mf.GetHelp() == "" {
			t.Errorf("%s has no HELP", mf.GetName())
		}
	}
	for _, n := range e.Names() {
		if !got[n] {
			t.Errorf("Names lists %s, which is not gathered", n)
		}
	}
	for _, want := range []string{"go_goroutines", "process_cpu_seconds_total", "prescale_build_info"} {
		if !got[want] {
			t.Errorf("%s missing", want)
		}
	}
	if v := testutil.ToFloat64(e.SourceErrors.WithLabelValues("api", "demand", "timeout")); v != 1 {
		t.Errorf("source errors counted %v, want 1", v)
	}
	if v := testutil.ToFloat64(e.SourceAgeSeconds.WithLabelValues("api", "demand")); v != 90 {
		t.Errorf("source age %v, want 90", v)
	}
	for _, n := range e.Names() {
		if !strings.HasPrefix(n, "prescale_") {
			t.Errorf("%s: not under the prescale_ prefix", n)
		}
	}
}

func lintRegistry(e *Exporter) ([]promlint.Problem, error) {
	mfs, err := e.Registry.Gather()
	if err != nil {
		return nil, err
	}
	return promlint.NewWithMetricFamilies(mfs).Lint()
}

// TestPolicyReload: a rejected version counts a failure and, failing, turns
// the source's last_reload_successful to 0 without moving its success
// time; an accepted one sets the time, and once no version of the source
// is rejected the gauge is back to 1.
func TestPolicyReload(t *testing.T) {
	e := NewExporter("test", nil)
	t0 := time.Date(2026, 3, 8, 7, 0, 0, 500_000_000, time.UTC)
	e.PolicyAccepted("file", t0)
	e.PolicyFailing("file", false)
	check := func(when string, failures, ok, at float64) {
		t.Helper()
		if v := testutil.ToFloat64(e.PolicyReloadFailures.WithLabelValues("file")); v != failures {
			t.Errorf("%s: failures %v, want %v", when, v, failures)
		}
		if v := testutil.ToFloat64(e.PolicyReloadOK.WithLabelValues("file")); v != ok {
			t.Errorf("%s: last_reload_successful %v, want %v", when, v, ok)
		}
		if v := testutil.ToFloat64(e.PolicyReloadSuccess.WithLabelValues("file")); v != at {
			t.Errorf("%s: success time %v, want %v", when, v, at)
		}
	}
	check("loaded", 0, 1, 1772953200.5)
	for range 2 {
		e.PolicyRejected("file")
		e.PolicyFailing("file", true)
	}
	check("two rejected versions", 2, 0, 1772953200.5)
	// A ScalingPolicy accepted while another stays rejected.
	e.PolicyAccepted("scalingpolicy", t0)
	e.PolicyFailing("scalingpolicy", true)
	if v := testutil.ToFloat64(e.PolicyReloadOK.WithLabelValues("scalingpolicy")); v != 0 {
		t.Errorf("scalingpolicy with one object rejected: last_reload_successful %v, want 0", v)
	}
	e.PolicyAccepted("file", t0.Add(3*time.Minute))
	e.PolicyFailing("file", false)
	check("fixed", 2, 1, 1772953380.5)
}
