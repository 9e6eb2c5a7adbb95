// Package deploy_test checks the files in deploy/ that other tools read:
// the Grafana dashboard and the Prometheus alert rules must parse, and may
// only use prescale metrics that the daemon exports.
package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/prescale/prescale/metrics"
)

var promql = parser.NewParser(parser.Options{})

// grafanaVars replaces the dashboard's variables with values PromQL accepts.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$target", "web", "${target}", "web")

// checkExpr parses expr and returns the prescale_* metric names it selects.
func checkExpr(t *testing.T, where, expr string) []string {
	t.Helper()
	e, err := promql.ParseExpr(grafanaVars.Replace(expr))
	if err != nil {
		t.Errorf("%s: %q does not parse: %v", where, expr, err)
		return nil
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && strings.HasPrefix(vs.Name, "prescale_") {
			names = append(names, vs.Name)
		}
		return nil
	})
	return names
}

func exported() map[string]bool {
	out := map[string]bool{}
	for _, n := range metrics.NewExporter("test", nil).Names() {
		out[n] = true
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			out[n+suffix] = true
		}
	}
	return out
}

func TestDashboard(t *testing.T) {
	raw, err := os.ReadFile("grafana/prescale.json")
	if err != nil {
		t.Fatal(err)
	}
	plugins.RegisterDefaultPlugins()
	var d dashboard.Dashboard
	if err := d.UnmarshalJSONStrict(raw); err != nil {
		t.Fatalf("not a Grafana dashboard: %v", err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("invalid dashboard: %v", err)
	}
	if d.Title == nil || *d.Title == "" {
		t.Error("dashboard has no title")
	}

	// The generic walk: every expr in the JSON, wherever it sits.
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	have := exported()
	used := map[string]bool{}
	var vars []string
	for _, v := range doc["templating"].(map[string]any)["list"].([]any) {
		vars = append(vars, v.(map[string]any)["name"].(string))
	}
	for _, want := range []string{"datasource", "target"} {
		if !slices.Contains(vars, want) {
			t.Errorf("no %q variable (have %v)", want, vars)
		}
	}
	labelValues := regexp.MustCompile(`label_values\((\w+),`)
	count := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if e, ok := x["expr"].(string); ok {
				count++
				for _, n := range checkExpr(t, path, e) {
					used[n] = true
				}
			}
			if def, ok := x["definition"].(string); ok {
				for _, m := range labelValues.FindAllStringSubmatch(def, -1) {
					used[m[1]] = true
				}
			}
			for k, c := range x {
				walk(path+"."+k, c)
			}
		case []any:
			for i, c := range x {
				walk(path+"["+string(rune('0'+i%10))+"]", c)
			}
		}
	}
	walk("dashboard", doc)
	if count < 15 {
		t.Errorf("only %d queries in the dashboard", count)
	}
	for n := range used {
		if !have[n] {
			t.Errorf("dashboard uses %s, which prescale does not export", n)
		}
	}
	// HPA panels show the selected targets' HPAs only (joined through
	// prescale_target_info), and one panel per target (repeated on
	// $target) holds its forecast band, floor and actual replicas.
	var repeated []string
	var panels []any
	for _, p := range doc["panels"].([]any) {
		panels = append(panels, p)
		if sub, ok := p.(map[string]any)["panels"].([]any); ok { // a collapsed row's
			panels = append(panels, sub...)
		}
	}
	for _, p := range panels {
		pm := p.(map[string]any)
		var exprs []string
		qs, _ := pm["targets"].([]any)
		for _, q := range qs {
			if e, ok := q.(map[string]any)["expr"].(string); ok {
				exprs = append(exprs, e)
			}
		}
		for _, e := range exprs {
			if strings.Contains(e, "kube_horizontalpodautoscaler") && !strings.Contains(e, `prescale_target_info{target=~"$target"}`) {
				t.Errorf("panel %q: %s is not filtered to the selected targets", pm["title"], e)
			}
		}
		if pm["repeat"] == "target" {
			repeated = exprs
		}
	}
	for _, want := range []string{`prescale_forecast{target=~"$target",signal="demand",stat="quantile"}`,
		`prescale_desired{target=~"$target",resource="hpa",field="minReplicas"}`, "kube_horizontalpodautoscaler_status_current_replicas"} {
		if !slices.ContainsFunc(repeated, func(e string) bool { return strings.Contains(e, want) }) {
			t.Errorf("no panel repeated per target with %s (its queries: %q)", want, repeated)
		}
	}
	// What the dashboard must show.
	for _, want := range []string{"prescale_observed", "prescale_forecast", "prescale_desired", "prescale_applied",
		"prescale_actuations_total", "prescale_decisions_total", "prescale_forecast_mase", "prescale_source_errors_total",
		"prescale_source_age_seconds", "prescale_loop_duration_seconds_bucket",
		"prescale_impact_unserved_saved_fraction", "prescale_impact_replica_seconds_paid",
		"prescale_impact_equal_cost_unserved_ratio", "prescale_stood_down", "prescale_impact_daily_outcomes"} {
		if !used[want] {
			t.Errorf("dashboard does not show %s", want)
		}
	}
}

func TestAlertRules(t *testing.T) {
	raw, err := os.ReadFile("prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var rf struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&rf); err != nil {
		t.Fatal(err)
	}
	have := exported()
	alerts := map[string]bool{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			for _, n := range checkExpr(t, r.Alert, r.Expr) {
				if !have[n] {
					t.Errorf("%s uses %s, which prescale does not export", r.Alert, n)
				}
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: needs a severity label and a summary", r.Alert)
			}
		}
	}
	// The list: daemon down, stale source, failing actuations,
	// high forecast error, floors held by fail-static; a rejected policy edit.
	for _, want := range []string{"PrescaleDown", "PrescaleSourceStale", "PrescaleActuationsFailing", "PrescaleForecastErrorHigh", "PrescaleFailStatic", "PrescalePolicyReloadFailed"} {
		if !alerts[want] {
			t.Errorf("no %s alert", want)
		}
	}
	// promtool, where installed (scripts/prometheus.sh), checks the file
	// as Prometheus will load it, templates included.
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("PRESCALE_REQUIRE_REAL_PARTS") == "1" {
			t.Fatal("promtool not on PATH: run scripts/prometheus.sh")
		}
		t.Skip("promtool not on PATH: run scripts/prometheus.sh")
	}
	if out, err := exec.Command(promtool, "check", "rules", "prometheus/alerts.yaml").CombinedOutput(); err != nil {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
	// And the alerts that compare series fire when they should, and
	// only then.
	if out, err := exec.Command(promtool, "test", "rules", "prometheus/alerts_test.yaml").CombinedOutput(); err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}
