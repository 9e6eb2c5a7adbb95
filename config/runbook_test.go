package config

import (
	"strings"
	"testing"
)

// runbookDoc is a ticketing-like policy; replace the markers to break it.
const runbookDoc = `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata: {name: tickets}
spec:
  calendars:
    - name: sales
      events:
        - {name: tour, start: 2026-12-05T10:00, duration: 2h, leadTime: 1h}
  targets:
    - name: api
      signals: {demand: {query: "sum(rate(x[1m]))"}}
      capacity: {perPod: 360}
      hpa: {namespace: tickets, HPAREF, maxReplicas: 16}
      database: pg
      connectionPool: {configMap: api-db-pool, key: DB_POOL_SIZE}
  databases:
    - name: pg
      identifier: pg
      tiers: [{class: db.t3.large, maxConnections: 200}]
      readReplicas: {count: 1, max: 3}
  rules:
    - name: tour
      targets: [api]
      event:
        calendar: sales
        event: tour
        steps:
          - {at: -1h, minReplicas: FLOOR, readReplicas: REPLICAS}
          - {at: 2h, reset: true}
    - name: budget
      connectionBudget: {database: pg, poolSize: POOL, action: ACTION, minPoolSize: MINPOOL}
`

func runbookPolicy(repl ...string) string {
	base := map[string]string{"HPAREF": "name: api", "FLOOR": "8", "REPLICAS": "2", "POOL": "20", "ACTION": "pool", "MINPOOL": "5"}
	for i := 0; i+1 < len(repl); i += 2 {
		base[repl[i]] = repl[i+1]
	}
	var pairs []string
	for k, v := range base {
		pairs = append(pairs, k, v)
	}
	return strings.NewReplacer(pairs...).Replace(runbookDoc)
}

func TestRunbookBadInput(t *testing.T) {
	ps, err := Parse([]byte(runbookPolicy()), "ok.yaml")
	if err != nil {
		t.Fatalf("the base policy must validate: %v", err)
	}
	if len(ps[0].Warnings) != 0 {
		t.Fatalf("warnings: %v", ps[0].Warnings)
	}
	if c := ps[0].Spec.Targets[0].ConnectionPool; c.Namespace != "tickets" {
		t.Errorf("connectionPool.namespace defaults to the hpa's: %q", c.Namespace)
	}
	for _, c := range []struct {
		name string
		repl []string
		want string
	}{
		{"an HPA and a ScaledObject", []string{"HPAREF", "name: api, scaledObject: api"},
			"ok.yaml:13:58: spec.targets[0].hpa.scaledObject: set one of name (an HPA) and scaledObject (a KEDA ScaledObject), not both"},
		{"neither", []string{"HPAREF", "mode: active"}, "spec.targets[0].hpa.name: required: the HorizontalPodAutoscaler to manage (or scaledObject"},
		{"read replicas above the limit", []string{"REPLICAS", "4"},
			"ok.yaml:28:53: spec.rules[0].event.steps[0].readReplicas: 4 read replicas are above the limit of database \"pg\" (readReplicas.max 3)"},
		{"negative read replicas", []string{"REPLICAS", "-1"}, "spec.rules[0].event.steps[0].readReplicas: must not be negative"},
		{"pool size 0", []string{"POOL", "0"}, "ok.yaml:31:50: spec.rules[1].connectionBudget.poolSize: required and at least 1: connections per pod, got 0"},
		{"min pool size below 1", []string{"MINPOOL", "-2"}, "spec.rules[1].connectionBudget.minPoolSize: a pool needs at least 1 connection per pod, got -2"},
		{"unknown action", []string{"ACTION", "shrink"}, "spec.rules[1].connectionBudget.action: must be one of cap, warn, pool, got \"shrink\""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(runbookPolicy(c.repl...)), "ok.yaml")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v\nwant %q", err, c.want)
			}
		})
	}
}

// An event floor above what the connection budget allows is a warning
// with its position (the budget caps it at run time; the owner should
// know before the event).
func TestRunbookEventFloorAboveBudgetWarns(t *testing.T) {
	// cap: 160 / 20 = 8 pods; a floor of 12 does not fit.
	ps, err := Parse([]byte(runbookPolicy("ACTION", "cap", "FLOOR", "12", "MINPOOL", "1")), "w.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps[0].Warnings) != 1 {
		t.Fatalf("want one warning, got %v", ps[0].Warnings)
	}
	want := `w.yaml:28:36: spec.rules[0].event.steps[0].minReplicas: warning: floor 12 for target "api" is above what connection budget rule "budget" allows on pg db.t3.large: 12 pods × 20 connections > 160 (0.8 × max_connections 200)`
	if got := ps[0].Warnings[0].String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// pool: the pool shrinks to minPoolSize 5: 32 pods fit, 12 is fine.
	ps, err = Parse([]byte(runbookPolicy("FLOOR", "12")), "w.yaml")
	if err != nil || len(ps[0].Warnings) != 0 {
		t.Errorf("pool 5: %v %v", err, ps[0].Warnings)
	}
	// pool with minPoolSize 20 is cap: warned.
	ps, err = Parse([]byte(runbookPolicy("FLOOR", "12", "MINPOOL", "20")), "w.yaml")
	if err != nil || len(ps[0].Warnings) != 1 {
		t.Errorf("minPoolSize 20: %v %v", err, ps[0].Warnings)
	}
}
