// Command crdgen writes the ScalingPolicy CustomResourceDefinition,
// generated from config.Spec and api/v1alpha1, into the kustomize base and
// the Helm chart, and copies the alert rules and the Grafana dashboard into
// the chart (Helm reads only the chart's own files). Run it from the module
// root: go run ./internal/crdgen. The tests of api/v1alpha1 and charts fail
// while the committed files are not current.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/prescale/prescale/api/v1alpha1"
)

func main() {
	out, err := v1alpha1.Generate(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crdgen:", err)
		os.Exit(1)
	}
	for _, f := range v1alpha1.Manifests {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "crdgen:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(f, out, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "crdgen:", err)
			os.Exit(1)
		}
		fmt.Println("wrote", f)
	}
	for src, dst := range map[string]string{
		"deploy/prometheus/alerts.yaml": "charts/prescale/files/alerts.yaml",
		"deploy/grafana/prescale.json":  "charts/prescale/files/prescale.json",
	} {
		b, err := os.ReadFile(src)
		if err == nil {
			err = os.WriteFile(dst, b, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "crdgen:", err)
			os.Exit(1)
		}
		fmt.Println("copied", src, "to", dst)
	}
}
