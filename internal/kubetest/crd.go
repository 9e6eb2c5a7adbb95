package kubetest

import (
	"context"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// InstallCRD creates (or updates) the CustomResourceDefinition in the YAML
// file at path, as kubectl apply would, and waits until the API server
// serves it (Established).
func InstallCRD(cfg *rest.Config, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("install crd: %w", err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("install crd %s: %w", path, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("install crd: %w", err)
	}
	u := &unstructured.Unstructured{Object: obj}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	crds := dyn.Resource(crdResource)
	if old, err := crds.Get(ctx, u.GetName(), metav1.GetOptions{}); err == nil {
		u.SetResourceVersion(old.GetResourceVersion())
		_, err = crds.Update(ctx, u, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("install crd %s: %w", u.GetName(), err)
		}
	} else if _, err := crds.Create(ctx, u, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("install crd %s: %w", u.GetName(), err)
	}
	for {
		got, err := crds.Get(ctx, u.GetName(), metav1.GetOptions{})
		if err == nil {
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, c := range conds {
				if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("install crd %s: not established: %w", u.GetName(), ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
