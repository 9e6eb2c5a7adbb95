// Package headroomtest reads the placeholder manifest the headroom tests
// and the RBAC test create.
package headroomtest

import (
	"os"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"sigs.k8s.io/yaml"
)

// Placeholder reads a file holding a PriorityClass and a Deployment, in
// that order, separated by "---".
func Placeholder(t *testing.T, path string) (*appsv1.Deployment, *schedulingv1.PriorityClass) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(b), "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("%s: %d documents, want a PriorityClass and a Deployment", path, len(docs))
	}
	var pc schedulingv1.PriorityClass
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &pc); err != nil {
		t.Fatalf("%s: priority class: %v", path, err)
	}
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &d); err != nil {
		t.Fatalf("%s: deployment: %v", path, err)
	}
	return &d, &pc
}
