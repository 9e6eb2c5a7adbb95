package policy

import (
	"time"

	"github.com/prescale/prescale/forecast"
)

// Inputs are what the engine knows at one tick besides the policy.
type Inputs struct {
	// Forecasts by target name, then signal name: "demand",
	// "dbConnections", or an extra signal's name. A forecast must cover the
	// planning window to be used.
	Forecasts map[string]map[string]*forecast.Forecast
	// Observed holds the latest observed value by target and signal:
	// "demand", "latencyP95" (seconds), "cacheHitRatio" (0..1), extra
	// signals by name ("vix"). Missing values are simply not used.
	Observed map[string]map[string]float64
	// Current is the live state of the managed resources; anything missing
	// falls back to the policy's owner values.
	Current Current
	// Promoted names the shadow targets with hpa.promote whose forecasts
	// met the bar, each with why: they are planned and applied as active.
	// The daemon decides this from its own scoring (it is not the
	// engine's to judge), so a plan stays a pure function of its inputs.
	Promoted map[string]string
	// StoodDown names the targets whose forecast floors do not pay (they
	// did not beat the HPA alone run cooler at equal cost on the target's
	// own history), each with why: their plans carry no forecast floor,
	// while rules and the owner's values still apply. The daemon judges
	// this, as it judges promotion.
	StoodDown map[string]string
	// OperatingPoint is, by target name, the quantile whose floors the
	// daemon's last judgement found to pay best (one of the target's
	// capacity.operatingPoints); the forecast floor is sized at it
	// instead of capacity.quantile. Absent: capacity.quantile.
	OperatingPoint map[string]float64
	// OperatingWhy is, by target name, why its OperatingPoint is in force
	// when it is not that it paid best (the daemon's: the floors are not
	// judged yet, so they start at the lowest operating point). Absent: it
	// paid best on the target's last 14 days.
	OperatingWhy map[string]string
}

// Current is the live state of the managed resources.
type Current struct {
	HPAs       map[string]HPAStatus // by target name
	NodeGroups map[string]int       // node group name → min size now
	Databases  map[string]string    // database name → instance class now
	Caches     map[string]string    // cache name → node type now
	// ReadReplicas is the number of read replicas of a database now
	// (everyone's), by database name.
	ReadReplicas map[string]int
	// Pools is the connection pool size per pod now, by target name, as
	// read from the target's connectionPool ConfigMap.
	Pools map[string]int
}

// HPAStatus is what the daemon reads from a managed HPA.
type HPAStatus struct {
	// OwnerMinReplicas is the owner's minReplicas, remembered by the
	// daemon (annotation) before prescale raised it; 0 means the policy's.
	OwnerMinReplicas int
	MinReplicas      int // minReplicas now
	MaxReplicas      int // maxReplicas now
	Replicas         int // current ready replicas
	// TargetCPUPercent is the HPA's CPU utilisation target now; 0 means
	// unknown (capacity.targetUtilization is assumed).
	TargetCPUPercent int
}

// State is what the engine remembers between ticks. The zero value is a
// fresh start. Engine.Plan returns the next State; callers keep it (in
// memory; the daemon may persist it) and pass it back at the next tick.
// State is a value: Plan never modifies the State it is given.
type State struct {
	Targets    map[string]TargetState
	Tiers      map[string]TierState // "database/NAME" or "cache/NAME"
	Volatility map[string]bool      // "RULE/TARGET" → rule active
}

// TargetState is one target's memory.
type TargetState struct {
	// Floor and Ceiling are the last planned minReplicas and maxReplicas.
	Floor, Ceiling int
	// LastChange is when Floor last changed, LastDecrease when it last
	// came down, LastCeilingDecrease when Ceiling last came down.
	LastChange, LastDecrease, LastCeilingDecrease time.Time
	// Recent are the recommendations inside the stabilisation window.
	Recent []Recommendation
	// LastForecast is when a usable demand forecast was last seen, and
	// ForecastFloor the floor it gave, held for the grace period when
	// data goes missing.
	LastForecast  time.Time
	ForecastFloor int
	// LevelFloors are the floors of the same forecast at each of
	// capacity.Levels() (the owner's quantile, then the operating
	// points), set with LastForecast: what the stand-down judges.
	LevelFloors []int
}

// Recommendation is one tick's pre-limit floor, kept for stabilisation.
type Recommendation struct {
	At    time.Time
	Floor int
}

// TierState is one database's or cache's memory.
type TierState struct {
	// Class is the last planned class.
	Class string
	// NeededAt is the last time the tier at or above Class was needed;
	// stepping down waits for the hysteresis period after it.
	NeededAt time.Time
	// Replicas is the last planned read replica count ("replicas/NAME").
	Replicas int
}

func (s State) clone() State {
	n := State{Targets: map[string]TargetState{}, Tiers: map[string]TierState{}, Volatility: map[string]bool{}}
	for k, v := range s.Targets {
		v.Recent = append([]Recommendation(nil), v.Recent...)
		n.Targets[k] = v
	}
	for k, v := range s.Tiers {
		n.Tiers[k] = v
	}
	for k, v := range s.Volatility {
		n.Volatility[k] = v
	}
	return n
}

// MissingDataGrace is how long a floor from the last usable forecast is
// held when forecasts go missing, before falling back to the schedule
// rules and the owner's values.
const MissingDataGrace = 30 * time.Minute
