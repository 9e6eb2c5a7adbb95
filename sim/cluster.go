package sim

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/prescale/prescale/forecast"
)

// Config is the simulated cluster and its HPA. DefaultConfig gives the
// design's defaults; every field may be changed.
type Config struct {
	// Capacity is the demand one ready pod serves at 100% utilisation (c).
	Capacity float64
	// TargetUtilization is the HPA's target, as a fraction of Capacity.
	TargetUtilization float64
	// SyncPeriod is the HPA controller's period, and the simulator's tick.
	SyncPeriod time.Duration
	// Behavior is the HPA's spec.behavior.
	Behavior Behavior
	// MinReplicas and MaxReplicas are the owner's HPA bounds. A strategy's
	// floor raises MinReplicas, never lowers it. MaxReplicas 0 means no
	// bound.
	MinReplicas, MaxReplicas int32
	// MetricsLag is how old the demand behind the HPA's metric is (scrape
	// and rate window); a pod that became ready less than MetricsLag ago
	// has no metric yet. The strategies see demand that old, too.
	MetricsLag time.Duration
	// PodStart is the time from a pod being placed on a ready node to it
	// being ready.
	PodStart time.Duration
	// NodeStart is the time from the cluster autoscaler asking for a node
	// to the node accepting pods.
	NodeStart time.Duration
	// PodsPerNode is how many pods fit on a node; 0 means nodes are not
	// modelled and every pod is placed at once.
	PodsPerNode int
	// NodeScaleDownAfter is how long a node must be unneeded before the
	// cluster autoscaler removes it (its scale-down-unneeded-time).
	NodeScaleDownAfter time.Duration
	// PlanInterval is how often a strategy's floor is re-read (prescale's
	// tick). Each strategy refits its model on its own, longer schedule.
	PlanInterval time.Duration
	// EvalFrom is the first instant the metrics count. The simulation
	// runs from the trace's start so that every strategy reaches EvalFrom
	// in a steady state and with the same history behind it.
	EvalFrom time.Time
	// Record keeps a per-minute Timeline in the Result (for plots).
	Record bool
}

// DefaultConfig is the design's simulated cluster for pods of the given
// capacity.
func DefaultConfig(capacity float64) Config {
	return Config{
		Capacity:           capacity,
		TargetUtilization:  0.7,
		SyncPeriod:         15 * time.Second,
		Behavior:           DefaultBehavior(),
		MinReplicas:        1,
		MetricsLag:         60 * time.Second,
		PodStart:           60 * time.Second,
		NodeStart:          180 * time.Second,
		PodsPerNode:        8,
		NodeScaleDownAfter: 10 * time.Minute,
		PlanInterval:       60 * time.Second,
	}
}

// LeadTime is how far ahead a floor must be set for its pods to be ready
// in time: metrics lag + node start + pod start (the worst case, when the
// pods need a new node).
func (c Config) LeadTime() time.Duration {
	lead := c.MetricsLag + c.PodStart
	if c.PodsPerNode > 0 {
		lead += c.NodeStart
	}
	return lead
}

// Needed is r(t) = ceil(d / c): the pods demand d needs at 100%.
func (c Config) Needed(d float64) int32 {
	if math.IsNaN(d) || d <= 0 {
		return 0
	}
	return int32(math.Ceil(d/c.Capacity - 1e-9))
}

func (c Config) validate() error {
	switch {
	case !(c.Capacity > 0) || math.IsInf(c.Capacity, 0):
		return fmt.Errorf("capacity %v: must be a positive number", c.Capacity)
	case !(c.TargetUtilization > 0):
		return fmt.Errorf("target utilization %v: must be positive", c.TargetUtilization)
	case c.SyncPeriod <= 0 || c.SyncPeriod > Minute || Minute%c.SyncPeriod != 0:
		return fmt.Errorf("sync period %v: must divide a minute", c.SyncPeriod)
	case c.PlanInterval < c.SyncPeriod:
		return fmt.Errorf("plan interval %v: must be at least the sync period %v", c.PlanInterval, c.SyncPeriod)
	case c.MetricsLag < 0 || c.PodStart < 0 || c.NodeStart < 0 || c.NodeScaleDownAfter < 0:
		return fmt.Errorf("delays must not be negative")
	case c.PodsPerNode < 0:
		return fmt.Errorf("pods per node %d: must not be negative", c.PodsPerNode)
	case c.MinReplicas < 1:
		return fmt.Errorf("min replicas %d: must be at least 1", c.MinReplicas)
	case c.MaxReplicas != 0 && c.MaxReplicas < c.MinReplicas:
		return fmt.Errorf("max replicas %d: below min replicas %d", c.MaxReplicas, c.MinReplicas)
	}
	return nil
}

// Strategy is what differs between the compared set-ups: the floor
// (minReplicas) asserted on top of the HPA.
type Strategy interface {
	// Name is the strategy's key in results ("reactive", "predictive").
	Name() string
	// Floor returns the minReplicas to hold from now on. observed is the
	// demand known at now: the 1-minute samples whose minute ended at
	// least MetricsLag before now, and nothing later. When planning fails
	// it returns the floor it falls back to together with the error,
	// which the simulator counts.
	Floor(now time.Time, observed forecast.Series) (int32, error)
}

// TargetSetter is a Strategy that also plans the HPA's target utilisation,
// prescale's second lever: HPATarget is the target to hold after the last
// Floor decision, 0 for the cluster's own.
type TargetSetter interface {
	HPATarget() float64
}

// Reactive is the HPA alone: no floor beyond the owner's minReplicas.
type Reactive struct{}

// Name implements Strategy.
func (Reactive) Name() string { return "reactive" }

// Floor implements Strategy.
func (Reactive) Floor(time.Time, forecast.Series) (int32, error) { return 0, nil }

// Result is what one strategy cost and what it left unserved, over the
// evaluated span.
type Result struct {
	Strategy string
	// UnservedFraction is unserved demand over total demand.
	UnservedFraction float64
	// UnderprovisionedMinutes is the time with demand above ready capacity.
	UnderprovisionedMinutes float64
	// ReplicaHours counts pods placed on nodes (starting or ready).
	ReplicaHours float64
	// NodeHours counts nodes, starting ones included (0 when nodes are not
	// modelled).
	NodeHours float64
	// Actuations counts changes to the workload's replicas.
	Actuations int
	// FloorChanges counts changes of the strategy's floor (prescale's
	// writes to minReplicas).
	FloorChanges int
	// FloorErrors counts floor decisions that failed and kept the last floor.
	FloorErrors int
	// LastFloorError is the last of those errors, for the report.
	LastFloorError error
	// EvaluatedMinutes is the span the metrics cover (gaps excluded).
	EvaluatedMinutes int
	// Days splits the evaluated demand and what was left unserved by UTC
	// day, oldest first, for the stand-down's day-by-day test (see
	// PairedDays).
	Days []DayOutcome
	// Timeline is per-minute detail when Config.Record is set.
	Timeline *Timeline
}

// Timeline is a per-minute record of one run, for plots: index i is minute
// Start + i. Values are taken at the first tick of the minute, except
// Unserved, the mean unserved demand over the minute.
type Timeline struct {
	Start    time.Time
	Ready    []int32 // ready pods
	Replicas []int32 // the workload's replicas (spec)
	Floor    []int32 // the strategy's floor (0: none)
	Unserved []float64
}

// Run replays demand (a 1-minute series, see Resample) through the cluster
// under strategy s. The cluster starts in the HPA's steady state for the
// first observed demand. A cancelled ctx stops the replay with its error.
func Run(ctx context.Context, cfg Config, demand forecast.Series, s Strategy) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, fmt.Errorf("sim %s: %w", s.Name(), err)
	}
	if demand.Step != Minute {
		return Result{}, fmt.Errorf("sim %s: demand step %v, want 1m (see Resample)", s.Name(), demand.Step)
	}
	first := math.NaN()
	for _, v := range demand.Values {
		if !math.IsNaN(v) {
			first = v
			break
		}
	}
	if math.IsNaN(first) {
		return Result{}, fmt.Errorf("sim %s: demand has no observed sample", s.Name())
	}
	c := newCluster(cfg)
	maxR := cfg.MaxReplicas
	if maxR == 0 {
		maxR = math.MaxInt32
	}
	hpa := &HPA{Min: cfg.MinReplicas, Max: maxR, Target: cfg.TargetUtilization, Behavior: cfg.Behavior}
	init := max(cfg.MinReplicas, int32(math.Ceil(first/(cfg.Capacity*cfg.TargetUtilization))))
	c.seed(int(min(init, maxR)))

	sync := int64(cfg.SyncPeriod / time.Second)
	lag := int64(cfg.MetricsLag / time.Second)
	planEvery := int64(cfg.PlanInterval / time.Second)
	ticks := int64(demand.Len()) * 60 / sync
	evalFrom := int64(0)
	if !cfg.EvalFrom.IsZero() {
		evalFrom = int64(cfg.EvalFrom.Sub(demand.Start) / time.Second)
	}
	// readyHist[k % len] is the ready count at tick k, for the lagged
	// per-pod metric.
	readyHist := make([]int32, lag/sync+2)
	res := Result{Strategy: s.Name()}
	var tl *Timeline
	if cfg.Record {
		n := demand.Len()
		tl = &Timeline{Start: demand.Start, Ready: make([]int32, n), Replicas: make([]int32, n),
			Floor: make([]int32, n), Unserved: make([]float64, n)}
		res.Timeline = tl
	}
	var floor int32
	var demandSum, unservedSum float64
	var underTicks, replicaTicks, nodeTicks, evalTicks int64
	dt := float64(sync)

	for k := int64(0); k < ticks; k++ {
		now := k * sync
		m := now / 60
		if now%3600 == 0 && ctx.Err() != nil {
			return Result{}, fmt.Errorf("sim %s: stopped at %s: %w", s.Name(), demand.Time(int(m)).Format(time.RFC3339), ctx.Err())
		}
		c.advance(now)
		ready := c.ready(now)
		readyHist[k%int64(len(readyHist))] = int32(ready)

		d := demand.Values[m]
		short := 0.0
		if !math.IsNaN(d) {
			short = max(0, d-float64(ready)*cfg.Capacity)
			if now >= evalFrom {
				evalTicks++
				demandSum += d * dt
				unservedSum += short * dt
				res.Days = addDay(res.Days, demand.Start.Unix()+now, d*dt, short*dt)
				if short > 0 {
					underTicks++
				}
				replicaTicks += int64(c.bound())
				nodeTicks += int64(len(c.nodes))
			}
		}

		if now%planEvery == 0 {
			visible := (now - lag) / 60
			if visible < 0 {
				visible = 0
			}
			// Capped at its length, so that not even a reslice reaches
			// past what is known at now.
			known := forecast.Series{Start: demand.Start, Step: demand.Step, Values: demand.Values[:visible:visible]}
			f, err := s.Floor(demand.Start.Add(time.Duration(now)*time.Second), known)
			if err != nil {
				res.FloorErrors++
				res.LastFloorError = err
			}
			if f != floor {
				if now >= evalFrom {
					res.FloorChanges++
				}
				floor = f
			}
		}
		hpa.Min = max(cfg.MinReplicas, min(floor, maxR))
		if ts, ok := s.(TargetSetter); ok {
			hpa.Target = cfg.TargetUtilization
			if u := ts.HPATarget(); u > 0 {
				hpa.Target = u
			}
		}

		current := int32(len(c.pods))
		pm := PodMetrics{Ready: 0}
		tLag := now - lag
		if tLag < 0 {
			tLag = 0
		}
		if dl := demand.Values[tLag/60]; !math.IsNaN(dl) {
			readyThen := int32(ready)
			if j := tLag / sync; j < k {
				readyThen = readyHist[j%int64(len(readyHist))]
			}
			withMetric := int32(c.ready(tLag))
			if readyThen > 0 {
				pm = PodMetrics{
					Ready:       withMetric,
					Missing:     int32(ready) - withMetric,
					Unready:     current - int32(ready),
					Utilization: dl / (float64(readyThen) * cfg.Capacity),
				}
			}
		}
		// No ready pod with a metric (or a gap in demand): the HPA holds
		// the scale, as the controller does when metrics fail.
		desired, _ := hpa.Sync(demand.Start.Add(time.Duration(now)*time.Second), current, pm)
		if desired != current {
			if now >= evalFrom {
				res.Actuations++
			}
			c.scale(int(desired), now)
		}
		if tl != nil && now%60 == 0 {
			tl.Ready[m] = int32(ready)
			tl.Replicas[m] = desired
			tl.Floor[m] = floor
		}
		if tl != nil {
			tl.Unserved[m] += short * dt / 60
		}
	}
	if demandSum > 0 {
		res.UnservedFraction = unservedSum / demandSum
	}
	res.UnderprovisionedMinutes = float64(underTicks) * dt / 60
	res.ReplicaHours = float64(replicaTicks) * dt / 3600
	if cfg.PodsPerNode > 0 {
		res.NodeHours = float64(nodeTicks) * dt / 3600
	}
	res.EvaluatedMinutes = int(float64(evalTicks) * dt / 60)
	return res, nil
}

// notPlaced marks a pod waiting for room on a node.
const notPlaced = math.MaxInt64

// cluster is the workload's pods and the node group, in seconds since the
// trace's start.
type cluster struct {
	cfg Config
	// pods holds each pod's ready time, ascending; pods not yet placed on a
	// node are at the end with notPlaced. Deleting from the end removes
	// unplaced, then starting, then the most recently ready pods: the
	// ReplicaSet controller's order.
	pods []int64
	// nodes holds each node's ready time, ascending.
	nodes []int64
	// needHist[i % len] is the nodes needed at tick i, over the cluster
	// autoscaler's scale-down window.
	needHist []int
	tick     int64
}

func newCluster(cfg Config) *cluster {
	c := &cluster{cfg: cfg}
	if cfg.PodsPerNode > 0 {
		n := int(cfg.NodeScaleDownAfter/cfg.SyncPeriod) + 1
		c.needHist = make([]int, n)
	}
	return c
}

// seed starts the cluster with n ready pods on ready nodes.
func (c *cluster) seed(n int) {
	for range n {
		c.pods = append(c.pods, math.MinInt64/2)
	}
	if ppn := c.cfg.PodsPerNode; ppn > 0 {
		for range (n + ppn - 1) / ppn {
			c.nodes = append(c.nodes, math.MinInt64/2)
		}
		for i := range c.needHist {
			c.needHist[i] = len(c.nodes)
		}
	}
}

// ready counts pods ready at t.
func (c *cluster) ready(t int64) int {
	return sort.Search(len(c.pods), func(i int) bool { return c.pods[i] > t })
}

// bound counts pods placed on a node.
func (c *cluster) bound() int {
	return sort.Search(len(c.pods), func(i int) bool { return c.pods[i] == notPlaced })
}

// readyNodes counts nodes ready at t.
func (c *cluster) readyNodes(t int64) int {
	return sort.Search(len(c.nodes), func(i int) bool { return c.nodes[i] > t })
}

// scale sets the workload's replicas to n at now: new pods are placed
// where there is room, the rest wait for nodes; surplus pods are deleted
// in the ReplicaSet controller's order.
func (c *cluster) scale(n int, now int64) {
	if n < len(c.pods) {
		c.pods = c.pods[:n]
	}
	for len(c.pods) < n {
		c.pods = append(c.pods, notPlaced)
	}
	c.place(now)
	c.autoscaleUp(now)
}

// place puts waiting pods on free room of ready nodes. A pod placed now is
// ready at now+PodStart, no earlier than any pod placed before it, so the
// order stays sorted.
func (c *cluster) place(now int64) {
	b := c.bound()
	room := len(c.pods) - b
	if ppn := c.cfg.PodsPerNode; ppn > 0 {
		room = min(room, c.readyNodes(now)*ppn-b)
	}
	for i := b; i < b+room; i++ {
		c.pods[i] = now + int64(c.cfg.PodStart/time.Second)
	}
}

// autoscaleUp asks for enough nodes to hold every waiting pod, counting
// room on nodes still starting (the cluster autoscaler's scale-up).
func (c *cluster) autoscaleUp(now int64) {
	ppn := c.cfg.PodsPerNode
	if ppn == 0 {
		return
	}
	need := (len(c.pods) + ppn - 1) / ppn
	for len(c.nodes) < need {
		c.nodes = append(c.nodes, now+int64(c.cfg.NodeStart/time.Second))
	}
}

// advance moves the cluster to now: pods waiting for nodes that became
// ready are placed, and nodes unneeded for NodeScaleDownAfter are removed,
// starting ones first.
func (c *cluster) advance(now int64) {
	c.place(now)
	ppn := c.cfg.PodsPerNode
	if ppn == 0 {
		return
	}
	c.needHist[c.tick%int64(len(c.needHist))] = (len(c.pods) + ppn - 1) / ppn
	c.tick++
	keep := 0
	for _, n := range c.needHist {
		keep = max(keep, n)
	}
	if len(c.nodes) > keep {
		c.nodes = c.nodes[:keep]
	}
}

// RunOracle is perfect foresight: exactly r(t) = ceil(d(t)/c) pods ready in
// every minute, at no start-up cost. Nothing is unserved; its replica-hours
// are the least any strategy could pay.
func RunOracle(cfg Config, demand forecast.Series) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, fmt.Errorf("sim oracle: %w", err)
	}
	res := Result{Strategy: "oracle"}
	var tl *Timeline
	if cfg.Record {
		n := demand.Len()
		tl = &Timeline{Start: demand.Start, Ready: make([]int32, n), Replicas: make([]int32, n),
			Floor: make([]int32, n), Unserved: make([]float64, n)}
		res.Timeline = tl
	}
	var pods, nodes float64
	prev := int32(-1)
	for m, d := range demand.Values {
		r := max(cfg.MinReplicas, cfg.Needed(d))
		if tl != nil {
			tl.Ready[m], tl.Replicas[m] = r, r
		}
		if math.IsNaN(d) || (!cfg.EvalFrom.IsZero() && demand.Time(m).Before(cfg.EvalFrom)) {
			prev = r
			continue
		}
		res.EvaluatedMinutes++
		pods += float64(r)
		if cfg.PodsPerNode > 0 {
			nodes += math.Ceil(float64(r) / float64(cfg.PodsPerNode))
		}
		if prev >= 0 && r != prev {
			res.Actuations++
		}
		prev = r
	}
	res.ReplicaHours = pods / 60
	res.NodeHours = nodes / 60
	return res, nil
}
