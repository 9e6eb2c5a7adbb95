// Package config is the YAML policy schema of prescale: the types, their
// defaults, strict decoding with FILE:LINE:COL positions, validation, and
// loading of files and directories (with a reload that keeps the last good
// version). docs/policy.md is the reference page for every field.
package config

import (
	"time"

	"github.com/robfig/cron/v3"

	"github.com/prescale/prescale/policy/calendar"
)

// APIVersion and Kind identify a policy document.
const (
	APIVersion = "prescale.io/v1alpha1"
	Kind       = "ScalingPolicy"
)

// Policy is one ScalingPolicy document.
type Policy struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	Spec       Spec     `yaml:"spec"`

	// File is the file the document came from; Document its 0-based index.
	File     string `yaml:"-"`
	Document int    `yaml:"-"`
	// Location is spec.timeZone, loaded.
	Location *time.Location `yaml:"-"`
	// Warnings are problems that do not stop the policy from loading but
	// need a person's look (prescale validate prints them, exit 0).
	Warnings Problems `yaml:"-"`

	pos map[string]Pos
}

// PosOf returns the position of the field at path (such as
// "spec.targets[0].hpa"), or of its closest recorded parent.
func (p *Policy) PosOf(path string) Pos {
	for path != "" {
		if ps, ok := p.pos[path]; ok {
			return ps
		}
		i := max(lastIndexAny(path, ".["), 0)
		path = path[:i]
	}
	return Pos{1, 1}
}

func lastIndexAny(s, chars string) int {
	for i := len(s) - 1; i >= 0; i-- {
		for j := 0; j < len(chars); j++ {
			if s[i] == chars[j] {
				return i
			}
		}
	}
	return -1
}

// Metadata names the policy.
type Metadata struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// Spec is the body of a policy.
type Spec struct {
	// TimeZone is the IANA zone for local-time seasonality and for rules
	// without their own zone. Default "UTC".
	TimeZone   string      `yaml:"timeZone"`
	Targets    []Target    `yaml:"targets"`
	NodeGroups []NodeGroup `yaml:"nodeGroups"`
	Databases  []Database  `yaml:"databases"`
	Caches     []Database  `yaml:"caches"`
	Calendars  []Calendar  `yaml:"calendars"`
	Rules      []Rule      `yaml:"rules"`
}

// Target is a workload scaled through its HPA.
type Target struct {
	Name     string   `yaml:"name"`
	Signals  Signals  `yaml:"signals"`
	Capacity Capacity `yaml:"capacity"`
	HPA      HPA      `yaml:"hpa"`
	// Pod is one pod's resource requests, for node planning.
	Pod Resources `yaml:"pod"`
	// NodeGroup, Database and Cache name the resources this target uses.
	NodeGroup string `yaml:"nodeGroup"`
	Database  string `yaml:"database"`
	Cache     string `yaml:"cache"`
	// ConnectionPool, when set, is where the application reads its
	// database pool size: prescale writes the size a connection budget
	// rule (action pool) plans there, ahead of the scale-up.
	ConnectionPool *ConnectionPool `yaml:"connectionPool"`
}

// ConnectionPool is a ConfigMap key holding a target's pool size per pod.
// prescale changes only that key (never a pod's environment, which would
// restart pods at the peak).
type ConnectionPool struct {
	// Namespace of the ConfigMap; default the target's hpa.namespace.
	Namespace string `yaml:"namespace"`
	ConfigMap string `yaml:"configMap"`
	Key       string `yaml:"key"`
}

// Signals are the PromQL queries prescale reads for a target.
type Signals struct {
	// Demand is required: the load the capacity model sizes for (RPS).
	Demand        *Signal        `yaml:"demand"`
	LatencyP95    *LatencySignal `yaml:"latencyP95"`
	DBConnections *Signal        `yaml:"dbConnections"`
	CacheHitRatio *CacheSignal   `yaml:"cacheHitRatio"`
	// Extra are further named signals rules can refer to, such as "vix".
	Extra []NamedSignal `yaml:"extra"`
}

// Signal is one PromQL query.
type Signal struct {
	Query string `yaml:"query"`
	// Step is the sampling step of the query. Default 1m.
	Step Duration `yaml:"step"`
}

// LatencySignal is the p95 latency query and its objective.
type LatencySignal struct {
	Query string   `yaml:"query"`
	Step  Duration `yaml:"step"`
	// Objective is the p95 latency the target must meet, e.g. 100ms.
	Objective Duration `yaml:"objective"`
	// MinCapacityFraction bounds the learned per-pod capacity from below,
	// as a fraction of capacity.perPod. Default 0.5.
	MinCapacityFraction float64 `yaml:"minCapacityFraction"`
}

// CacheSignal is the cache hit ratio query and its normal level.
type CacheSignal struct {
	Query string   `yaml:"query"`
	Step  Duration `yaml:"step"`
	// Baseline is the usual hit ratio (0..1) the database tiers assume.
	// Default 0.9.
	Baseline float64 `yaml:"baseline"`
}

// NamedSignal is an extra signal that rules refer to by name.
type NamedSignal struct {
	Name  string   `yaml:"name"`
	Query string   `yaml:"query"`
	Step  Duration `yaml:"step"`
}

// Capacity is the target's capacity model.
type Capacity struct {
	// PerPod is the demand one pod serves at 100% utilisation. Required.
	PerPod float64 `yaml:"perPod"`
	// TargetUtilization is the utilisation the floor plans for. Default 0.7.
	TargetUtilization float64 `yaml:"targetUtilization"`
	// Headroom is extra demand on top of the forecast, 0.1 = 10%. Default 0.
	Headroom float64 `yaml:"headroom"`
	// Quantile of the forecast to provision for. Default 0.9.
	Quantile float64 `yaml:"quantile"`
	// OperatingPoints are lower quantiles the daily stand-down judges
	// beside Quantile: the floors of the one that pays best at equal cost
	// on the target's last 14 days are put in force (the lowest that pays,
	// unless a higher one's ratio is under its by the margin), and the
	// target stands
	// down only when none pays. Until the first judgement (a day of
	// floors) the lowest is in force. Each in (0, quantile), at most 4.
	// Default 0.3, 0.5 and 0.7 (those below quantile); [] judges quantile
	// alone, in force from the first tick.
	OperatingPoints []float64 `yaml:"operatingPoints"`
	// StandDown lets the daily judgement of the floors act: stand them
	// down where they do not pay, or put a lower operating point in
	// force. Default true. false keeps the floors at quantile whatever the
	// judgement says (the owner knows their cluster better than the
	// simulated one it is judged on); the impact report is still made.
	StandDown *bool `yaml:"standDown"`
	// LeadTime is how long capacity takes to be ready. Default 5m.
	LeadTime Duration `yaml:"leadTime"`
	// Window is the span after the lead time the floor covers. Default 15m.
	Window Duration `yaml:"window"`
}

// HPA is the HorizontalPodAutoscaler prescale manages and its limits.
type HPA struct {
	Namespace string `yaml:"namespace"`
	Name      string `yaml:"name"`
	// ScaledObject names a KEDA ScaledObject instead of an HPA (set one of
	// name and scaledObject): KEDA owns the HPA it generates, so the
	// floor is written to the ScaledObject's minReplicaCount (and a rule's
	// ceiling to its maxReplicaCount), never to KEDA's HPA.
	ScaledObject string `yaml:"scaledObject"`
	// Mode is observe, shadow or active. Default shadow.
	Mode string `yaml:"mode"`
	// MinReplicas is the owner's floor: prescale never plans below it. The
	// live HPA's value, when known, takes precedence. Default 1.
	MinReplicas int `yaml:"minReplicas"`
	// MaxReplicas is the ceiling. Required.
	MaxReplicas int `yaml:"maxReplicas"`
	// MaxStepUp is the largest floor increase per tick. Default 10; 0 in
	// the file means the default.
	MaxStepUp int       `yaml:"maxStepUp"`
	ScaleDown ScaleDown `yaml:"scaleDown"`
	// Cooldown is the time after any floor change before the floor may
	// come down again. Default 5m.
	Cooldown Duration `yaml:"cooldown"`
	// Promote, on a shadow target, makes it act as active once its own
	// demand forecasts have proved themselves in shadow. Nil: a shadow
	// target stays shadow until its mode is changed.
	Promote *Promote `yaml:"promote"`
	// MaxTargetUtilization turns on the HPA's CPU target as a second
	// lever, bounded by the owner: while the forecast floor covers the
	// coming lead time and window at capacity.quantile (no rise ahead), the
	// floor already holds the forecast's headroom, so the HPA's own can be
	// thinner and its CPU target is raised to this; before a predicted rise
	// it goes back to capacity.targetUtilization. 0 (the default) leaves
	// the CPU target alone. Range (capacity.targetUtilization, 1]; not
	// with scaledObject.
	MaxTargetUtilization float64 `yaml:"maxTargetUtilization"`
}

// Promote is the accuracy bar a shadow target must meet, scored on the
// forecasts the daemon made for it and the demand that followed, before
// its plan is applied.
type Promote struct {
	// After is how long the target's forecasts must have been scored in
	// shadow, by this process, before it can be promoted. Default 7d.
	After Duration `yaml:"after"`
	// MaxMASE: the rolling MASE of the demand forecast must be at most
	// this. Default 1, no worse than the seasonal naive forecast.
	MaxMASE float64 `yaml:"maxMASE"`
	// MinCoverage: the rolling share of demand samples at or under the
	// forecast's capacity.quantile must be at least this. Default the
	// quantile minus 0.05 (0.85 for the default p90).
	MinCoverage float64 `yaml:"minCoverage"`
	// MinGainPerCost: when above 0, the target's floors must also have
	// paid over the last 14 days of its history (the daemon's impact
	// report): the share of the HPA alone's unserved demand they saved,
	// over the share of its replica-hours they added, at least this, and
	// the floors not stood down. 0 to 100; default 0, not required.
	MinGainPerCost float64 `yaml:"minGainPerCost"`
}

// ScaleDown limits how fast a floor comes down.
type ScaleDown struct {
	// Pods is the largest decrease per Period. Default 1 when Percent is 0.
	Pods int `yaml:"pods"`
	// Percent is the largest decrease per Period as a percentage of the
	// current floor; with Pods set too, the larger step wins (like the HPA's
	// selectPolicy Max).
	Percent float64 `yaml:"percent"`
	// Period of the rate. Default 5m.
	Period Duration `yaml:"period"`
	// Stabilization: the floor is the highest recommendation over this
	// window, like the HPA's scale-down stabilisation. Default 10m.
	Stabilization Duration `yaml:"stabilization"`
}

// Resources are CPU and memory amounts.
type Resources struct {
	CPU    Quantity `yaml:"cpu"`
	Memory Quantity `yaml:"memory"`
}

// NodeGroup is the node capacity behind one or more targets.
type NodeGroup struct {
	Name string `yaml:"name"`
	// Provider is asg, eks or placeholder.
	Provider    string          `yaml:"provider"`
	ASG         *ASGRef         `yaml:"asg"`
	EKS         *EKSRef         `yaml:"eks"`
	Placeholder *PlaceholderRef `yaml:"placeholder"`
	Allocatable Resources       `yaml:"allocatable"`
	Overhead    Resources       `yaml:"overhead"`
	// PackingMargin is spare node capacity for imperfect bin packing.
	// Default 0.1.
	PackingMargin float64 `yaml:"packingMargin"`
	MinSize       int     `yaml:"minSize"`
	MaxSize       int     `yaml:"maxSize"`
}

// ASGRef names an AWS Auto Scaling group.
type ASGRef struct {
	Name   string `yaml:"name"`
	Region string `yaml:"region"`
	// CapacityMode is the field prescale raises: minSize (default), which
	// leaves the desired capacity to the Cluster Autoscaler, or
	// desiredCapacity, only upward and within the group's bounds, for
	// groups no other autoscaler manages.
	CapacityMode string `yaml:"capacityMode"`
}

// EKSRef names an EKS managed node group.
type EKSRef struct {
	Cluster   string `yaml:"cluster"`
	NodeGroup string `yaml:"nodeGroup"`
	Region    string `yaml:"region"`
}

// PlaceholderRef is a Deployment of pause pods that reserves headroom,
// or, where the cluster serves the Cluster Autoscaler's CapacityBuffer API,
// the shape of one unit of a CapacityBuffer of the same name.
type PlaceholderRef struct {
	Namespace     string `yaml:"namespace"`
	Name          string `yaml:"name"`
	PriorityClass string `yaml:"priorityClass"`
	// Mode is how the headroom is reserved: auto (default) uses a
	// CapacityBuffer when the cluster serves that API and scales the
	// Deployment otherwise; deployment and capacityBuffer force one.
	Mode string `yaml:"mode"`
}

// Database is an RDS instance (under databases) or an ElastiCache
// replication group (under caches) with its tier ladder.
type Database struct {
	Name string `yaml:"name"`
	// Provider is rds for databases, elasticache for caches (the default
	// for each list).
	Provider string `yaml:"provider"`
	// Identifier is the DB instance identifier or replication group id.
	Identifier string `yaml:"identifier"`
	Region     string `yaml:"region"`
	// Tiers is the ladder, smallest first.
	Tiers []Tier `yaml:"tiers"`
	// Current is the class the resource runs at normally (its owner's).
	Current string `yaml:"current"`
	// ConnectionFraction of max connections planned pods may use. Default 0.8.
	ConnectionFraction float64 `yaml:"connectionFraction"`
	// LoadPerDemand converts target demand into this resource's load units.
	// Default 1.
	LoadPerDemand float64  `yaml:"loadPerDemand"`
	ChangeWindows []Window `yaml:"changeWindows"`
	// Calendar names a trading calendar whose sessions (pre-market to
	// post-market) are off limits for class changes: never during market
	// hours unless an event step allows changes outside windows.
	Calendar string `yaml:"calendar"`
	// LeadTime before a need that a tier change must start. Default 1h.
	LeadTime Duration `yaml:"leadTime"`
	// Hysteresis is how long a higher tier must be unneeded before stepping
	// down. Default 24h.
	Hysteresis Duration `yaml:"hysteresis"`
	// DryRun: plan but never change the resource. Default true.
	DryRun *bool `yaml:"dryRun"`
	// SnapshotBeforeChange takes a manual RDS snapshot before each class
	// change, which waits until the snapshot is available (databases only).
	SnapshotBeforeChange bool `yaml:"snapshotBeforeChange"`
	// ReadReplicas, on an rds database, lets rules add read replicas.
	ReadReplicas *ReadReplicas `yaml:"readReplicas"`
}

// ReadReplicas bounds the read replicas of a database. prescale creates
// replicas named IDENTIFIER-prescale-N, tagged as its own, and removes only
// those, after the database's hysteresis and inside a change window.
type ReadReplicas struct {
	// Count is the number the owner runs normally (their replicas,
	// never removed by prescale). Default 0.
	Count int `yaml:"count"`
	// Max is the most read replicas a rule may ask for. Required.
	Max int `yaml:"max"`
	// Class of the replicas prescale creates; default the source's.
	Class string `yaml:"class"`
}

// Tier is one rung of a ladder.
type Tier struct {
	Class string `yaml:"class"`
	// MaxConnections of a database at this class (0: not limited).
	MaxConnections int `yaml:"maxConnections"`
	// Capacity is the load (queries per second, operations per second) the
	// tier serves comfortably (0: not limited).
	Capacity float64  `yaml:"capacity"`
	Memory   Quantity `yaml:"memory"`
}

// Window is a recurring time window: a cron start and a duration.
type Window struct {
	Schedule string   `yaml:"schedule"`
	Duration Duration `yaml:"duration"`
	// TimeZone of the schedule; default spec.timeZone. A CRON_TZ= prefix
	// in the schedule wins.
	TimeZone string `yaml:"timeZone"`

	// Parsed is Schedule, parsed by validation.
	Parsed cron.Schedule `yaml:"-"`
}

// Calendar is a trading calendar (exchange), a custom holiday list, an
// event calendar, or all three.
type Calendar struct {
	Name string `yaml:"name"`
	// Exchange is a built-in trading calendar computed by rule: XNYS.
	Exchange string `yaml:"exchange"`
	// TimeZone; default America/New_York for XNYS, else spec.timeZone.
	TimeZone string    `yaml:"timeZone"`
	Sessions *Sessions `yaml:"sessions"`
	Holidays []Holiday `yaml:"holidays"`
	Events   []Event   `yaml:"events"`

	// Trading is the resolved trading calendar; Events the event calendar.
	Trading  *calendar.TradingCalendar `yaml:"-"`
	EventSet *calendar.EventCalendar   `yaml:"-"`
	Location *time.Location            `yaml:"-"`
}

// Sessions overrides session boundaries (HH:MM local).
type Sessions struct {
	PreMarket  string `yaml:"preMarket"`
	Open       string `yaml:"open"`
	Close      string `yaml:"close"`
	PostMarket string `yaml:"postMarket"`
}

// Holiday is a custom closure or early close.
type Holiday struct {
	Date string `yaml:"date"`
	Name string `yaml:"name"`
	// EarlyClose (HH:MM) makes the day an early close instead of a closure.
	EarlyClose string `yaml:"earlyClose"`
}

// Event is a named event, one-off (start) or recurring (schedule).
type Event struct {
	Name string `yaml:"name"`
	// Start is RFC 3339, or YYYY-MM-DDTHH:MM / YYYY-MM-DD in the calendar's zone.
	Start    string   `yaml:"start"`
	Schedule string   `yaml:"schedule"`
	Duration Duration `yaml:"duration"`
	LeadTime Duration `yaml:"leadTime"`
	// Occurrence keeps only the schedule's firings that are the first,
	// second, third, fourth, fifth or last of their weekday in the month
	// ("first" with "30 8 * * 5" is the monthly jobs report).
	Occurrence string `yaml:"occurrence"`
}

// Rule adjusts the forecast-based recommendation. Exactly one of Schedule,
// Event, Volatility and ConnectionBudget is set.
type Rule struct {
	Name string `yaml:"name"`
	// Targets the rule applies to; empty means every target.
	Targets          []string          `yaml:"targets"`
	Schedule         *ScheduleRule     `yaml:"schedule"`
	Event            *EventRule        `yaml:"event"`
	Volatility       *VolatilityRule   `yaml:"volatility"`
	ConnectionBudget *ConnectionBudget `yaml:"connectionBudget"`
}

// ScheduleRule is active in recurring windows: cron + duration, or the
// sessions of a trading calendar.
type ScheduleRule struct {
	Cron     string   `yaml:"cron"`
	Duration Duration `yaml:"duration"`
	TimeZone string   `yaml:"timeZone"`
	// Calendar names a trading calendar, used by Sessions and TradingDaysOnly.
	Calendar string `yaml:"calendar"`
	// Sessions (pre-market, regular, post-market) make the window follow
	// the calendar's sessions, early closes included, instead of a cron.
	Sessions        []string `yaml:"sessions"`
	TradingDaysOnly bool     `yaml:"tradingDaysOnly"`
	MinReplicas     int      `yaml:"minReplicas"`
	Multiplier      float64  `yaml:"multiplier"`
	MaxReplicas     int      `yaml:"maxReplicas"`
	// Ramp raises the floor linearly over this span before a window opens.
	Ramp Duration `yaml:"ramp"`
	// RampDown lowers the floor linearly over this span after the window
	// closes, from minReplicas back to the floor without the rule ("reduce
	// gradually after the close").
	RampDown Duration `yaml:"rampDown"`

	// Parsed is Cron, parsed by validation.
	Parsed cron.Schedule `yaml:"-"`
}

// EventRule is a step plan relative to an event's start (T).
type EventRule struct {
	Calendar string      `yaml:"calendar"`
	Event    string      `yaml:"event"`
	Steps    []EventStep `yaml:"steps"`
}

// EventStep applies from T+At (At negative before the event) until a later
// step changes the same field or a reset step.
type EventStep struct {
	At                 Duration `yaml:"at"`
	MinReplicas        int      `yaml:"minReplicas"`
	MinReplicasPercent float64  `yaml:"minReplicasPercent"`
	MaxReplicas        int      `yaml:"maxReplicas"`
	MaxReplicasPercent float64  `yaml:"maxReplicasPercent"`
	NodesPercent       float64  `yaml:"nodesPercent"`
	DatabaseTiersUp    int      `yaml:"databaseTiersUp"`
	CacheTiersUp       int      `yaml:"cacheTiersUp"`
	DatabaseClass      string   `yaml:"databaseClass"`
	CacheClass         string   `yaml:"cacheClass"`
	// TargetUtilization plans the HPA's CPU target (0.6 = 60%) from this
	// step, as a volatility rule does.
	TargetUtilization float64 `yaml:"targetUtilization"`
	// ReadReplicas is the number of read replicas of the targets' database
	// from this step (0 in a later step: back to the owner's count).
	ReadReplicas *int `yaml:"readReplicas"`
	// OutsideWindows lets this step's tier change happen outside the
	// resource's change windows.
	OutsideWindows bool `yaml:"outsideWindows"`
	// Reset ends every earlier step: back to normal.
	Reset bool `yaml:"reset"`
}

// VolatilityRule reacts to a market signal with hysteresis.
type VolatilityRule struct {
	// Signal names an extra signal of the rule's targets, e.g. vix.
	Signal string `yaml:"signal"`
	// Above activates the rule; Below (<= Above) deactivates it.
	Above             float64 `yaml:"above"`
	Below             float64 `yaml:"below"`
	MinReplicas       int     `yaml:"minReplicas"`
	MaxReplicas       int     `yaml:"maxReplicas"`
	Multiplier        float64 `yaml:"multiplier"`
	TargetUtilization float64 `yaml:"targetUtilization"`
}

// ConnectionBudget keeps pods × pool size under a fraction of the
// database's max connections.
type ConnectionBudget struct {
	Database string `yaml:"database"`
	PoolSize int    `yaml:"poolSize"`
	// Fraction of max connections; default the database's connectionFraction.
	Fraction float64 `yaml:"fraction"`
	// Action is cap (cap the replicas and plan the next tier), warn, or
	// pool (plan a smaller pool per pod, down to minPoolSize, so that the
	// planned maxReplicas fit; capped below that). Default cap.
	Action string `yaml:"action"`
	// MinPoolSize is the smallest pool per pod action pool plans. Default 1.
	MinPoolSize int `yaml:"minPoolSize"`
}
