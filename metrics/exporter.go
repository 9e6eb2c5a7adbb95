package metrics

import (
	"log/slog"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Reason is why a planned value is what it is. The set is fixed so that it
// can be a label: the plan's free-text reasons say the rest.
type Reason string

// The decision reasons.
const (
	ReasonForecast         Reason = "forecast"
	ReasonSchedule         Reason = "schedule_rule"
	ReasonEvent            Reason = "event_rule"
	ReasonVolatility       Reason = "volatility_rule"
	ReasonOwnerFloor       Reason = "owner_floor"
	ReasonCeiling          Reason = "ceiling"
	ReasonMaxStepUp        Reason = "max_step_up"
	ReasonScaleDownLimit   Reason = "scale_down_limit"
	ReasonCooldown         Reason = "cooldown"
	ReasonConnectionBudget Reason = "connection_budget"
	ReasonFailStatic       Reason = "fail_static"
	ReasonWindow           Reason = "change_window"
)

// ActuationResult is how an attempted change ended.
type ActuationResult string

// The actuation results.
const (
	ResultApplied  ActuationResult = "applied"
	ResultDryRun   ActuationResult = "dry_run"
	ResultShadow   ActuationResult = "shadow"
	ResultPaused   ActuationResult = "paused"
	ResultConflict ActuationResult = "conflict"
	ResultFailed   ActuationResult = "failed"
)

// Exporter holds the metrics prescale exports, on its own registry with the
// Go and process collectors. Label values are bounded: targets and
// resources come from the policy, signals, reasons, results and error kinds
// from fixed sets.
type Exporter struct {
	Registry *prometheus.Registry
	log      *slog.Logger
	names    []string

	// Forecast of a signal at the lead horizon: stat is "mean" or
	// "quantile" (the provisioning quantile).
	Forecast *prometheus.GaugeVec
	// Observed is the newest observed value of a signal.
	Observed *prometheus.GaugeVec
	// Desired and Applied are per resource field: replicas, nodes, or the
	// tier's rung in its ladder (0 is the smallest).
	Desired *prometheus.GaugeVec
	Applied *prometheus.GaugeVec
	// Actuations counts attempted changes by result.
	Actuations *prometheus.CounterVec
	// Decisions counts planned values by the reason that bound them.
	Decisions *prometheus.CounterVec
	// ForecastMASE is the rolling mean absolute scaled error of a target's
	// demand forecast against what happened.
	ForecastMASE *prometheus.GaugeVec
	// ForecastCoverage is the rolling share of a signal's samples at or
	// under the forecast's provisioning quantile: what hpa.promote checks
	// against minCoverage, and what floors sized at that quantile rely on.
	ForecastCoverage *prometheus.GaugeVec
	// Promoted is 1 for a shadow target that met its hpa.promote bar and
	// is applied as active.
	Promoted *prometheus.GaugeVec
	// StoodDown is 1 for a target whose forecast floors do not pay and
	// stand down; ImpactUnservedSaved, ImpactReplicaHoursPaid and
	// ImpactEqualCostRatio are its impact report over a window ("7d",
	// "14d") of its own history.
	StoodDown *prometheus.GaugeVec
	// OperatingQuantile is the forecast quantile a target's floors are
	// sized at: its capacity.quantile, or the operating point the last
	// judgement found to pay best.
	OperatingQuantile      *prometheus.GaugeVec
	ImpactUnservedSaved    *prometheus.GaugeVec
	ImpactReplicaHoursPaid *prometheus.GaugeVec
	ImpactEqualCostRatio   *prometheus.GaugeVec
	// ImpactDays counts a window's UTC days on which the floors left
	// less (outcome "better") or more ("worse") of the day's demand
	// unserved than the HPA alone run cooler at equal replica-hours.
	ImpactDays *prometheus.GaugeVec
	// Model is 1 for the model currently selected for a target's signal.
	Model *prometheus.GaugeVec
	// SourceErrors counts failed fetches by kind.
	SourceErrors *prometheus.CounterVec
	// SourceAgeSeconds is how old the newest sample of a signal is.
	SourceAgeSeconds *prometheus.GaugeVec
	// FailStatic is 1 while a target's floors are held because its data
	// is missing or stale.
	FailStatic *prometheus.GaugeVec
	// LoopDuration is the time one tick of the control loop takes.
	LoopDuration prometheus.Histogram
	// LastTick is when the last tick completed without error.
	LastTick prometheus.Gauge
	// Leader is 1 in the instance that holds the lease.
	Leader prometheus.Gauge
	// BackfillsPending is how many targets wait for their first judgement
	// on floors replayed from their history: queued, being replayed, or
	// replayed and not yet put in force.
	BackfillsPending prometheus.Gauge
	// PodCPU is the CPU the target's pods use, from the metrics API, and
	// DemandPerPod the demand each pod serves: together they check the
	// capacity model.
	PodCPU       *prometheus.GaugeVec
	DemandPerPod *prometheus.GaugeVec
	// ImpliedCapacityPerPod is the demand one pod would serve at 100% of
	// its CPU request, from the same pods' demand, CPU and requests
	// (Usage.ImpliedCapacity); CapacityPerPod is the policy's configured
	// capacity.perPod, on the same basis. Implied below configured says
	// the policy is optimistic: its floors are too low.
	ImpliedCapacityPerPod *prometheus.GaugeVec
	CapacityPerPod        *prometheus.GaugeVec
	// PolicyReloadFailures counts rejected versions of the policies by
	// source ("file", "scalingpolicy"); PolicyReloadOK is 1 while no
	// version from the source is rejected (0: an edit is not in force,
	// the last good version is); PolicyReloadSuccess is when a version
	// from the source was last taken into force.
	PolicyReloadFailures *prometheus.CounterVec
	PolicyReloadOK       *prometheus.GaugeVec
	PolicyReloadSuccess  *prometheus.GaugeVec
	// TargetInfo is 1 per target with the namespace and name of its HPA,
	// to join kube-state-metrics' HPA series to a target in dashboards.
	TargetInfo *prometheus.GaugeVec
}

// NewExporter registers every metric on a new registry. version is the
// build's version string. logger may be nil.
func NewExporter(version string, logger *slog.Logger) *Exporter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	e := &Exporter{Registry: r, log: logger}
	g := func(name, help string, labels ...string) *prometheus.GaugeVec {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "prescale", Name: name, Help: help}, labels)
		r.MustRegister(v)
		e.names = append(e.names, "prescale_"+name)
		return v
	}
	c := func(name, help string, labels ...string) *prometheus.CounterVec {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "prescale", Name: name, Help: help}, labels)
		r.MustRegister(v)
		e.names = append(e.names, "prescale_"+name)
		return v
	}
	e.Forecast = g("forecast", "Forecast of a signal at the lead horizon; stat is mean or quantile (the provisioning quantile).", "target", "signal", "stat")
	e.Observed = g("observed", "Newest observed value of a signal.", "target", "signal")
	e.Desired = g("desired", "Value the plan wants for a resource field (replicas, nodes, or tier rung from 0).", "target", "resource", "field")
	e.Applied = g("applied", "Value last applied (or found) on a resource field.", "target", "resource", "field")
	e.Actuations = c("actuations_total", "Attempted changes to resources, by result.", "target", "resource", "result")
	e.Decisions = c("decisions_total", "Planned values, by the reason that bound them.", "target", "resource", "reason")
	e.ForecastMASE = g("forecast_mase", "Rolling mean absolute scaled error of the demand forecast (below 1 beats the seasonal naive).", "target", "signal")
	e.ForecastCoverage = g("forecast_coverage", "Rolling share of a signal's samples at or under the forecast's provisioning quantile.", "target", "signal")
	e.Promoted = g("promoted", "1 for a shadow target whose forecasts met its promotion bar: its plan is applied.", "target")
	e.StoodDown = g("stood_down", "1 for a target whose forecast floors did not beat the HPA alone run cooler at equal cost on its own history: no forecast floors, rules and owner values still apply.", "target")
	e.OperatingQuantile = g("operating_quantile", "Forecast quantile the target's floors are sized at: capacity.quantile, or the lower operating point (capacity.operatingPoints) that paid best at equal cost on its own history.", "target")
	e.ImpactUnservedSaved = g("impact_unserved_saved_fraction", "Share of demand the forecast floors served that the HPA alone at the owner's target left unserved, over a window of the target's own history.", "target", "window")
	e.ImpactReplicaHoursPaid = g("impact_replica_seconds_paid", "Replica-seconds (pod-seconds) the forecast floors added over the HPA alone at the owner's target, over a window of the target's own history.", "target", "window")
	e.ImpactEqualCostRatio = g("impact_equal_cost_unserved_ratio", "Unserved demand with the forecast floors over what the HPA alone run cooler leaves at equal replica-hours (below 1: the floors pay).", "target", "window")
	e.ImpactDays = g("impact_daily_outcomes", "UTC days of a window of the target's own history on which the forecast floors left less (outcome better) or more (outcome worse) of the day's demand unserved than the HPA alone run cooler at equal replica-hours.", "target", "window", "outcome")
	e.Model = g("model_info", "1 for the forecasting model selected for a signal.", "target", "signal", "model")
	e.SourceErrors = c("source_errors_total", "Failed or suspect fetches of a signal, by kind.", "target", "signal", "kind")
	e.SourceAgeSeconds = g("source_age_seconds", "Age of the newest sample of a signal.", "target", "signal")
	e.FailStatic = g("fail_static", "1 while a target's floors are held because its data is missing or stale.", "target")
	e.PodCPU = g("pod_cpu_usage_cores", "CPU used per pod of a target's workload, from the Kubernetes metrics API.", "target")
	e.DemandPerPod = g("demand_per_pod", "Demand served per ready pod of a target.", "target")
	e.ImpliedCapacityPerPod = g("implied_capacity_per_pod", "Demand one pod of a target would serve at 100% of its CPU request, from its pods' demand, CPU usage and requests; below prescale_capacity_per_pod the policy is optimistic.", "target")
	e.TargetInfo = g("target_info", "1 per policy target, labelled with its HPA's namespace and name (kube-state-metrics' labels), to join HPA series to targets.", "target", "namespace", "horizontalpodautoscaler")
	e.CapacityPerPod = g("capacity_per_pod", "Demand one pod of a target serves at 100% utilisation, as configured in the policy (capacity.perPod).", "target")
	e.PolicyReloadFailures = c("config_reload_failures_total", "Rejected versions of the policies (files that do not validate, ScalingPolicy generations refused), by source; the last good version stays in force.", "source")
	e.PolicyReloadOK = g("config_last_reload_successful", "1 while no version of the policies from the source is rejected; 0 while an edit is refused and the last good version stays in force.", "source")
	e.PolicyReloadSuccess = g("config_last_reload_success_timestamp_seconds", "Unix time a version of the policies from the source was last taken into force (loaded, or found back to the version in force).", "source")
	e.LoopDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "prescale", Name: "loop_duration_seconds",
		Help: "Time one tick of the control loop takes.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)})
	e.LastTick = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "prescale", Name: "last_successful_tick_timestamp_seconds",
		Help: "Unix time of the last tick that completed without error."})
	e.Leader = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "prescale", Name: "leader",
		Help: "1 in the instance that holds the leader lease and acts, 0 in followers."})
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "prescale", Name: "build_info",
		Help: "Build information; the value is 1."}, []string{"version", "goversion"})
	e.BackfillsPending = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "prescale", Name: "backfills_pending",
		Help: "Targets waiting for their first judgement on the floors their forecast would have planned over their demand history (queued or being replayed); they run at their lowest operating point meanwhile."})
	r.MustRegister(e.LoopDuration, e.LastTick, e.Leader, e.BackfillsPending, build)
	e.names = append(e.names, "prescale_loop_duration_seconds", "prescale_last_successful_tick_timestamp_seconds", "prescale_leader", "prescale_backfills_pending", "prescale_build_info")
	build.WithLabelValues(buildVersion(version), runtime.Version()).Set(1)
	return e
}

func buildVersion(v string) string {
	if v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "unknown"
}

// SourceError implements SourceObserver: it counts the error and logs it.
func (e *Exporter) SourceError(q Query, kind ErrorKind, err error) {
	e.SourceErrors.WithLabelValues(q.Target, q.Signal, string(kind)).Inc()
	e.log.Warn("source error", "target", q.Target, "signal", q.Signal, "kind", kind, "err", err)
}

// PolicyAccepted implements config.ReloadObserver: a version of the
// policies from source was taken into force at at.
func (e *Exporter) PolicyAccepted(source string, at time.Time) {
	e.PolicyReloadSuccess.WithLabelValues(source).Set(float64(at.UnixNano()) / 1e9)
}

// PolicyRejected implements config.ReloadObserver: a version of the
// policies from source was refused.
func (e *Exporter) PolicyRejected(source string) {
	e.PolicyReloadFailures.WithLabelValues(source).Inc()
}

// PolicyFailing implements config.ReloadObserver: whether any version
// from source is refused now (its last good version in force).
func (e *Exporter) PolicyFailing(source string, failing bool) {
	e.PolicyReloadOK.WithLabelValues(source).Set(map[bool]float64{false: 1, true: 0}[failing])
}

// SourceAge implements SourceObserver.
func (e *Exporter) SourceAge(q Query, age time.Duration) {
	e.SourceAgeSeconds.WithLabelValues(q.Target, q.Signal).Set(age.Seconds())
}

// Names returns the name of every prescale_* metric family the exporter
// registers, for checks that dashboards and alerts use only metrics that
// exist. Histograms also expose _bucket, _sum and _count series.
func (e *Exporter) Names() []string { return append([]string(nil), e.names...) }
