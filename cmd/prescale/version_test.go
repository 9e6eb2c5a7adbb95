package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/prescale/prescale/metrics"
)

// One version everywhere: `prescale version`, the build-info metric, and
// the Helm chart's appVersion (the release this tree is).
func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := dispatch(context.Background(), []string{"version", "--json"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var v struct{ Version string }
	if err := json.Unmarshal(out.Bytes(), &v); err != nil || v.Version != currentVersion() || !strings.HasPrefix(v.Version, releaseVersion) {
		t.Errorf("prescale version --json = %s (%v), want %s…", out.String(), err, releaseVersion)
	}
	b, err := os.ReadFile("../../charts/prescale/Chart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var chart struct {
		AppVersion string `yaml:"appVersion"`
	}
	if err := yaml.Unmarshal(b, &chart); err != nil || chart.AppVersion != releaseVersion {
		t.Errorf("chart appVersion %q, want releaseVersion %q", chart.AppVersion, releaseVersion)
	}
	exp := metrics.NewExporter(buildVersion(), nil)
	fams, err := exp.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range fams {
		if f.GetName() == "prescale_build_info" {
			for _, l := range f.GetMetric()[0].GetLabel() {
				if l.GetName() == "version" {
					found = l.GetValue() == v.Version
				}
			}
		}
	}
	if !found {
		t.Errorf("prescale_build_info does not carry version %s", v.Version)
	}
	version = "v9.9.9"
	defer func() { version = "" }()
	if currentVersion() != "v9.9.9" {
		t.Errorf("-ldflags main.version is not used")
	}
}
