package policy

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prescale/prescale/config"
)

var london = mustLoc("Europe/London")

func lon(m time.Month, d, h, mm int) time.Time { return time.Date(2026, m, d, h, mm, 0, 0, london) }

// The ticket service runbook (DESIGN.md, "Ticket service, on-sales") on
// deploy/examples/ticketing-on-sale.yaml (the HPA) and ticketing-keda.yaml
// (the KEDA ScaledObject).
func TestRunbookTicketingCapacity(t *testing.T) {
	// 2 pods ~500 RPS, 4 ~1000, 8 ~2000, 16 ~4000.
	for _, c := range []struct {
		rps  float64
		pods int
	}{{500, 2}, {1000, 4}, {2000, 8}, {4000, 16}} {
		tl := newTimeline(t, loadExample(t, "ticketing-on-sale.yaml"), lon(12, 1, 12, 0), map[string]float64{"tickets-api": c.rps})
		check(t, "capacity", tl.to(lon(12, 1, 12, 5)), floorOf("tickets-api", c.pods).because("capacity model"))
	}
}

func TestRunbookTicketingOnSale(t *testing.T) {
	T := lon(12, 4, 10, 0) // the stadium tour, a Friday: the weekly drop is at the same hour
	tl := newTimeline(t, loadExample(t, "ticketing-on-sale.yaml"), T.Add(-3*time.Hour), map[string]float64{"tickets-api": 100})
	pool := func(v int, why string) want { return want{"tickets-api", KindConnectionPool, FieldPoolSize, v, why} }

	// HPA min 2 max 16; 16 pods × 20 connections = 320 > 160 (80% of
	// max_connections 200): the pool shrinks to 10 (16 × 10 = 160).
	p := tl.to(T.Add(-time.Hour - time.Minute))
	check(t, "T-1h-1m", p, floorOf("tickets-api", 2), ceilOf("tickets-api", 16),
		pool(10, "16 pods × 20 connections = 320 > 160"))
	if r := resource(t, p, "tickets-api", KindConnectionPool, FieldPoolSize); r.Name != "tickets/api-db-pool:DB_POOL_SIZE" || r.Current != 10 {
		t.Errorf("the pool is written to the ConfigMap key (and was, ahead of the scale-up): %+v", r)
	}
	if tl.applied[KindConnectionPool+"/tickets/api-db-pool:DB_POOL_SIZE/"+FieldPoolSize] != 1 {
		t.Errorf("pool writes: %v", tl.applied)
	}
	// 1 hour before: 8 replicas.
	check(t, "T-1h", tl.to(T.Add(-time.Hour)), floorOf("tickets-api", 8).because("T-1h"), pool(10, ""))
	check(t, "T+30m", tl.to(T.Add(30*time.Minute)), floorOf("tickets-api", 8))
	// The weekly drop (an hour long) resets at 11:00; the tour (two
	// hours) holds 8 until 12:00: overlapping events, the later end wins.
	check(t, "T+1h30m, after the weekly drop, during the tour", tl.to(T.Add(90*time.Minute)),
		floorOf("tickets-api", 8).because("stadium-tour"))
	// After the event the HPA scales down by itself: the floor goes back
	// to the owner's 2.
	check(t, "T+3h", tl.to(T.Add(3*time.Hour)), floorOf("tickets-api", 2), ceilOf("tickets-api", 16))
}

// 8 pods × 20 connections = 160 is fine: with the HPA's ceiling at 8, the
// pool stays at 20.
func TestRunbookTicketingEightPodsFit(t *testing.T) {
	data, err := os.ReadFile("../deploy/examples/ticketing-on-sale.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(data), "maxReplicas: 16", "maxReplicas: 8", 1)
	ps, err := config.Parse([]byte(doc), "ticketing-8.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tl := newTimeline(t, NewEngine(ps[0]), lon(12, 4, 8, 0), map[string]float64{"tickets-api": 100})
	check(t, "T-1h", tl.to(lon(12, 4, 9, 0)), floorOf("tickets-api", 8), ceilOf("tickets-api", 8),
		want{"tickets-api", KindConnectionPool, FieldPoolSize, 20, "8 pods × 20 connections = 160 ≤ 160"})
	if len(tl.last.Warnings) != 0 {
		t.Errorf("warnings: %q", tl.last.Warnings)
	}
}

// The KEDA variant: the floor is the ScaledObject's (min 2, max 20); 20
// pods × 20 = 400 > 160: pool 8.
func TestRunbookTicketingKEDA(t *testing.T) {
	T := lon(12, 5, 10, 0)
	tl := newTimeline(t, loadExample(t, "ticketing-keda.yaml"), T.Add(-2*time.Hour), map[string]float64{"tickets-api": 100})
	p := tl.to(T.Add(-time.Hour))
	check(t, "T-1h", p, floorOf("tickets-api", 8).because("KEDA ScaledObject tickets/api"), ceilOf("tickets-api", 20),
		want{"tickets-api", KindConnectionPool, FieldPoolSize, 8, "20 pods × 20 connections = 400 > 160"})
	if r := resource(t, p, "tickets-api", KindHPA, FieldMinReplicas); r.Name != "tickets/api" {
		t.Errorf("the floor is planned on the ScaledObject tickets/api, got %q", r.Name)
	}
	check(t, "T+3h", tl.to(T.Add(3*time.Hour)), floorOf("tickets-api", 2))
}

// When the pool cannot shrink enough (minPoolSize), the replicas are capped
// and a warning says so: an event floor above the budget is never silent.
func TestRunbookTicketingPoolFloorCaps(t *testing.T) {
	data, err := os.ReadFile("../deploy/examples/ticketing-on-sale.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(data), "minPoolSize: 5", "minPoolSize: 16", 1)
	ps, err := config.Parse([]byte(doc), "ticketing-minpool.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps[0].Warnings) != 0 {
		t.Errorf("8 pods × 16 = 128 fits 160: no warning expected, got %v", ps[0].Warnings)
	}
	tl := newTimeline(t, NewEngine(ps[0]), lon(12, 4, 8, 0), map[string]float64{"tickets-api": 100})
	// 160 / 16 = 10 pods at most: the ceiling is capped at 10, pool 16.
	check(t, "T-1h", tl.to(lon(12, 4, 9, 0)), floorOf("tickets-api", 8), ceilOf("tickets-api", 10).because("even at the smallest pool"),
		want{"tickets-api", KindConnectionPool, FieldPoolSize, 16, ""})
}
