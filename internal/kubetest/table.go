package kubetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Table asks the API server for the server-side table of the list at path
// (e.g. /apis/prescale.io/v1alpha1/scalingpolicies: the CRD's printer
// columns) and prints it as `kubectl get -A` does: a NAMESPACE column, the
// columns of priority 0 upper-cased, ages as durations, empty cells as
// <none>. It is what a user sees without needing kubectl in the test.
func Table(ctx context.Context, cfg *rest.Config, path string) (string, error) {
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return "", fmt.Errorf("table %s: %w", path, err)
	}
	raw, err := c.Discovery().RESTClient().Get().AbsPath(path).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
	if err != nil {
		return "", fmt.Errorf("table %s: %w", path, err)
	}
	var tab metav1.Table
	if err := json.Unmarshal(raw, &tab); err != nil {
		return "", fmt.Errorf("table %s: %w", path, err)
	}
	var sb strings.Builder
	w := tabwriter.NewWriter(&sb, 0, 8, 3, ' ', 0)
	var heads []string
	var cols []int
	for i, c := range tab.ColumnDefinitions {
		if c.Priority == 0 {
			heads = append(heads, strings.ToUpper(c.Name))
			cols = append(cols, i)
		}
	}
	fmt.Fprintln(w, "NAMESPACE\t"+strings.Join(heads, "\t"))
	for _, row := range tab.Rows {
		var meta struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		_ = json.Unmarshal(row.Object.Raw, &meta)
		cells := []string{meta.Metadata.Namespace}
		for _, i := range cols {
			v := fmt.Sprint(row.Cells[i])
			if tab.ColumnDefinitions[i].Type == "date" {
				if ts, err := time.Parse(time.RFC3339, v); err == nil {
					v = time.Since(ts).Round(time.Second).String()
				}
			}
			if v == "<nil>" {
				v = "<none>"
			}
			cells = append(cells, v)
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	w.Flush()
	return sb.String(), nil
}
