package v1alpha1

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

// The committed CRD manifests are what the generator makes from the Go
// types now: run go run ./internal/crdgen after changing config.Spec or
// the status.
func TestCRDCurrent(t *testing.T) {
	want, err := Generate("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Manifests {
		got, err := os.ReadFile(filepath.Join("../..", f))
		if err != nil {
			t.Fatalf("%s: %v (run go run ./internal/crdgen)", f, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not current: run go run ./internal/crdgen", f)
		}
	}
}

// Every object and list of the spec has a description (kubectl explain), the
// enums are config's, and the manifest decodes into a typed CRD.
func TestCRDSchema(t *testing.T) {
	b, err := Generate("../..")
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(b, &crd); err != nil {
		t.Fatal(err)
	}
	root := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	var missing []string
	var walk func(path string, s apiextensionsv1.JSONSchemaProps)
	walk = func(path string, s apiextensionsv1.JSONSchemaProps) {
		if s.Description == "" && (s.Type == "object" || s.Type == "array") {
			missing = append(missing, path)
		}
		for k, p := range s.Properties {
			walk(path+"."+k, p)
		}
		if s.Items != nil && s.Items.Schema != nil {
			walk(path+"[]", *s.Items.Schema)
		}
	}
	walk("spec", root.Properties["spec"])
	if len(missing) > 0 {
		t.Errorf("objects and lists without a description (a doc comment in config/schema.go): %s", strings.Join(missing, ", "))
	}
	mode := root.Properties["spec"].Properties["targets"].Items.Schema.Properties["hpa"].Properties["mode"]
	if len(mode.Enum) != 3 {
		t.Errorf("hpa.mode enum = %v", mode.Enum)
	}
	if len(crd.Spec.Versions[0].AdditionalPrinterColumns) < 5 || crd.Spec.Versions[0].Subresources.Status == nil {
		t.Error("printer columns or status subresource missing")
	}
}
