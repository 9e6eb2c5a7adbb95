package config

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const minimal = `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata:
  name: demo
spec:
  targets:
    - name: api
      signals:
        demand:
          query: sum(rate(http_requests_total[2m]))
      capacity:
        perPod: 100
      hpa:
        namespace: default
        name: api
        maxReplicas: 10
`

func TestDefaults(t *testing.T) {
	ps, err := Parse([]byte(minimal), "min.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tg := ps[0].Spec.Targets[0]
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"timeZone", ps[0].Spec.TimeZone, "UTC"},
		{"targetUtilization", tg.Capacity.TargetUtilization, 0.7},
		{"quantile", tg.Capacity.Quantile, 0.9},
		{"leadTime", tg.Capacity.LeadTime.D(), 5 * time.Minute},
		{"window", tg.Capacity.Window.D(), 15 * time.Minute},
		{"mode", tg.HPA.Mode, "shadow"},
		{"minReplicas", tg.HPA.MinReplicas, 1},
		{"maxStepUp", tg.HPA.MaxStepUp, 10},
		{"scaleDown.pods", tg.HPA.ScaleDown.Pods, 1},
		{"scaleDown.period", tg.HPA.ScaleDown.Period.D(), 5 * time.Minute},
		{"stabilization", tg.HPA.ScaleDown.Stabilization.D(), 10 * time.Minute},
		{"cooldown", tg.HPA.Cooldown.D(), 5 * time.Minute},
		{"demand step", tg.Signals.Demand.Step.D(), time.Minute},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// edit returns minimal with old replaced by new (which must occur).
func edit(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(minimal, old) {
		t.Fatalf("fixture lacks %q", old)
	}
	return strings.Replace(minimal, old, new, 1)
}

func TestPromoteDefaults(t *testing.T) {
	ps, err := Parse([]byte(edit(t, "        name: api\n", "        name: api\n        promote: {}\n")), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	pr := ps[0].Spec.Targets[0].HPA.Promote
	if pr == nil || pr.After.D() != 7*24*time.Hour || pr.MaxMASE != 1 || math.Abs(pr.MinCoverage-0.85) > 1e-12 {
		t.Errorf("promote defaults %+v, want after 7d, maxMASE 1, minCoverage 0.85 (p90 − 0.05)", pr)
	}
	if ps, _ := Parse([]byte(minimal), "p.yaml"); ps[0].Spec.Targets[0].HPA.Promote != nil {
		t.Error("a target without promote got one")
	}
}

func TestProblemsCarryPositions(t *testing.T) {
	for _, c := range []struct {
		name, doc string
		want      string // one expected line of the error
	}{
		{"unknown field", edit(t, "        perPod: 100\n", "        perPod: 100\n        perPood: 3\n"),
			"p.yaml:13:9: spec.targets[0].capacity.perPood: unknown field (did you mean \"perPod\"?)"},
		{"wrong type", edit(t, "maxReplicas: 10", "maxReplicas: ten"),
			"p.yaml:16:22: spec.targets[0].hpa.maxReplicas: want an integer, got a string"},
		{"duplicate key", edit(t, "        maxReplicas: 10\n", "        maxReplicas: 10\n        maxReplicas: 12\n"),
			"p.yaml:17:9: spec.targets[0].hpa.maxReplicas: duplicate key (first at line 16)"},
		{"bad promql", edit(t, "sum(rate(http_requests_total[2m]))", "sum(rate(http_requests_total[2m])"),
			"p.yaml:10:18: spec.targets[0].signals.demand.query: PromQL does not parse"},
		{"floor above ceiling", edit(t, "        maxReplicas: 10\n", "        maxReplicas: 10\n        minReplicas: 12\n"),
			"p.yaml:17:22: spec.targets[0].hpa.minReplicas: floor 12 is above the ceiling maxReplicas 10"},
		{"bad zone", edit(t, "spec:\n", "spec:\n  timeZone: America/Nowhere\n"),
			"p.yaml:6:13: spec.timeZone: unknown IANA time zone \"America/Nowhere\""},
		{"bad duration", edit(t, "        perPod: 100\n", "        perPod: 100\n        leadTime: 5 minutes\n"),
			"p.yaml:13:19: spec.targets[0].capacity.leadTime: duration \"5 minutes\""},
		{"bad api version", strings.Replace(minimal, "v1alpha1", "v1", 1),
			"p.yaml:1:13: apiVersion: must be \"prescale.io/v1alpha1\""},
		{"bad mode", edit(t, "        name: api\n", "        name: api\n        mode: yolo\n"),
			"p.yaml:16:15: spec.targets[0].hpa.mode: must be one of observe, shadow, active"},
		{"unknown rule target", minimal + "  rules:\n    - name: r\n      targets: [web]\n      schedule: {cron: \"0 8 * * 1-5\", duration: 8h, minReplicas: 3}\n",
			"p.yaml:19:17: spec.rules[0].targets[0]: unknown target \"web\""},
		{"bad cron", minimal + "  rules:\n    - name: r\n      schedule: {cron: \"0 25 * * 1-5\", duration: 8h, minReplicas: 3}\n",
			"p.yaml:19:24: spec.rules[0].schedule.cron: cron \"CRON_TZ=UTC 0 25 * * 1-5\": end of range (25) above maximum (23)"},
		{"bad cron zone", minimal + "  rules:\n    - name: r\n      schedule: {cron: \"CRON_TZ=Moon/Base 0 8 * * *\", duration: 8h, minReplicas: 3}\n",
			"p.yaml:19:24: spec.rules[0].schedule.cron: cron \"CRON_TZ=Moon/Base"},
		{"unknown calendar", minimal + "  rules:\n    - name: r\n      schedule: {sessions: [regular], calendar: nyse, minReplicas: 3}\n",
			"p.yaml:19:49: spec.rules[0].schedule.calendar: unknown calendar \"nyse\""},
		{"promote an active target", edit(t, "        name: api\n", "        name: api\n        mode: active\n        promote: {}\n"),
			"p.yaml:17:18: spec.targets[0].hpa.promote: only a shadow target can be promoted; this one is active"},
		{"promote coverage above 1", edit(t, "        name: api\n", "        name: api\n        promote: {minCoverage: 1.5}\n"),
			"p.yaml:16:32: spec.targets[0].hpa.promote.minCoverage: must be between 0 and 1, got 1.5"},
		{"promote gain per cost negative", edit(t, "        name: api\n", "        name: api\n        promote: {minGainPerCost: -1}\n"),
			"p.yaml:16:35: spec.targets[0].hpa.promote.minGainPerCost: must be between 0 (not required) and 100, got -1"},
		{"promote gain per cost too high", edit(t, "        name: api\n", "        name: api\n        promote: {minGainPerCost: 500}\n"),
			"p.yaml:16:35: spec.targets[0].hpa.promote.minGainPerCost: must be between 0 (not required) and 100, got 500"},
		{"promote gain per cost not a number", edit(t, "        name: api\n", "        name: api\n        promote: {minGainPerCost: .nan}\n"),
			"p.yaml:16:35: spec.targets[0].hpa.promote.minGainPerCost: want a finite number, got \".nan\""},
		{"promote after negative", edit(t, "        name: api\n", "        name: api\n        promote: {after: -1h}\n"),
			"p.yaml:16:26: spec.targets[0].hpa.promote.after: must be positive, got -1h"},
		{"yaml syntax", "apiVersion: [\n", "p.yaml:1:1: did not find expected node content"},
		{"not a mapping", "- 1\n- 2\n", "p.yaml:1:1: want a mapping, got a list"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc), "p.yaml")
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want Problems, got %v", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(line, c.want) {
					return
				}
			}
			t.Errorf("no line starting %q in:\n%v", c.want, err)
		})
	}
}

func TestTierLadderAndReferences(t *testing.T) {
	doc := minimal + `  databases:
    - name: db
      identifier: db-1
      tiers:
        - {class: db.r5.large, maxConnections: 200}
        - {class: db.r5.xlarge, maxConnections: 400}
      current: db.r5.4xlarge
  calendars:
    - name: events
      events:
        - {name: launch, start: "2026-12-01T10:00", duration: 2h}
  rules:
    - name: launch
      event:
        calendar: events
        event: lunch
        steps:
          - {at: -1d, databaseClass: db.m5.large}
    - name: after
      event:
        calendar: events
        event: launch
        steps:
          - {at: 2h, minReplicas: 3}
`
	_, err := Parse([]byte(doc), "p.yaml")
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		"spec.databases[0].current: class \"db.r5.4xlarge\" is not in the tier ladder",
		"spec.rules[0].event.event: calendar \"events\" has no event \"lunch\"",
		"spec.rules[0].event.steps[0]: changes a database tier but none of the rule's targets has a database",
		"spec.rules[1].event.steps[0].at: step at 2h is not before the end of event \"launch\" (duration 2h): end the plan with a reset step",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestMultiDocumentAndDirectory(t *testing.T) {
	dir := t.TempDir()
	second := strings.Replace(minimal, "name: demo", "name: demo2", 1)
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(minimal+"---\n"+second), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not yaml: ["), 0o644); err != nil {
		t.Fatal(err)
	}
	ps, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[1].Metadata.Name != "demo2" || ps[1].Document != 1 {
		t.Fatalf("got %d policies", len(ps))
	}
	// The same policy name twice is a problem.
	if err := os.WriteFile(filepath.Join(dir, "b.yml"), []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "b.yml:4:9: metadata.name: policy \"demo\" already defined") {
		t.Errorf("duplicate policy: %v", err)
	}
}

func TestParseDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90s", 90 * time.Second, true}, {"7d", 7 * 24 * time.Hour, true}, {"-7d", -7 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true}, {"2w", 14 * 24 * time.Hour, true}, {"-30m", -30 * time.Minute, true},
		{"0", 0, true}, {"5 minutes", 0, false}, {"d", 0, false}, {"1x", 0, false}, {"--1h", 0, false},
	} {
		got, err := ParseDuration(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseDuration(%q) = %v, %v", c.in, got, err)
		}
	}
}

func TestParseQuantity(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
	}{{"500m", 0.5}, {"2", 2}, {"1Gi", 1 << 30}, {"512Mi", 512 << 20}, {"1.5G", 1.5e9}} {
		q, err := ParseQuantity(c.in)
		if err != nil || q.Value != c.want {
			t.Errorf("ParseQuantity(%q) = %v, %v", c.in, q.Value, err)
		}
	}
	if _, err := ParseQuantity("lots"); err == nil {
		t.Error("accepted lots")
	}
}

func TestTargetCrossChecks(t *testing.T) {
	doc := minimal + `    - name: api2
      signals:
        demand: {query: "up"}
      capacity: {perPod: 10}
      hpa: {namespace: default, name: api, maxReplicas: 3}
      pod: {cpu: "8", memory: 1Gi}
      nodeGroup: small
  nodeGroups:
    - name: small
      provider: asg
      asg: {name: small}
      allocatable: {cpu: "4", memory: 16Gi}
      maxSize: 3
`
	_, err := Parse([]byte(doc), "p.yaml")
	for _, want := range []string{
		"spec.targets[1].hpa.name: HPA default/api is already managed by target \"api\"",
		"spec.targets[1].pod.cpu: a pod's cpu request does not fit on a node of group \"small\"",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

// A target's hpa.namespace defaults to the policy's metadata.namespace, as
// it does for a ScalingPolicy object: the README's Install policy
// validates as a file; without either it is required.
func TestHPANamespaceFromMetadata(t *testing.T) {
	const doc = `apiVersion: prescale.io/v1alpha1
kind: ScalingPolicy
metadata: {name: web, namespace: shop}
spec:
  targets:
    - name: web
      signals: {demand: {query: 'sum(rate(http_requests_total{app="web"}[5m]))'}}
      capacity: {perPod: 50}
      hpa: {name: web, maxReplicas: 20}
`
	ps, err := Parse([]byte(doc), "web.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tg := ps[0].Spec.Targets[0]
	if tg.HPA.Namespace != "shop" {
		t.Errorf("hpa.namespace %q: want the policy's shop", tg.HPA.Namespace)
	}
	_, err = Parse([]byte(strings.Replace(doc, ", namespace: shop", "", 1)), "web.yaml")
	if err == nil || !strings.Contains(err.Error(), "web.yaml:9:12: spec.targets[0].hpa.namespace: required (or the policy's metadata.namespace)") {
		t.Errorf("without a namespace: %v", err)
	}
}
