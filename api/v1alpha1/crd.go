package v1alpha1

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/prescale/prescale/config"
)

// Docs are Go doc comments by "Type" and "Type.Field", the descriptions of
// the schema (what kubectl explain shows).
type Docs map[string]string

// ParseDocs reads the doc comments of the types declared in the Go files of
// dirs (tests excluded).
func ParseDocs(dirs ...string) (Docs, error) {
	docs := Docs{}
	fset := token.NewFileSet()
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
			if err != nil {
				return nil, fmt.Errorf("docs: %w", err)
			}
			for _, decl := range file.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.TYPE {
					continue
				}
				for _, spec := range gd.Specs {
					ts := spec.(*ast.TypeSpec)
					doc := ts.Doc
					if doc == nil && len(gd.Specs) == 1 {
						doc = gd.Doc
					}
					if doc != nil {
						docs[ts.Name.Name] = clean(doc.Text())
					}
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, fld := range st.Fields.List {
						text := ""
						if fld.Doc != nil {
							text = fld.Doc.Text()
						} else if fld.Comment != nil {
							text = fld.Comment.Text()
						}
						for _, n := range fld.Names {
							if text != "" {
								docs[ts.Name.Name+"."+n.Name] = clean(text)
							}
						}
					}
				}
			}
		}
	}
	return docs, nil
}

func clean(s string) string { return strings.Join(strings.Fields(s), " ") }

// The statically checkable rules of the policy, beside the types: enums
// by Type.Field (the values config validates against), bounds, and CEL
// rules by Type. Everything else (references between sections, cron
// syntax, time zones, durations, tenancy) is checked by the daemon's own
// validation, which reports it in the Accepted condition and an Event.
var (
	enums = map[string][]string{
		"HPA.Mode":                 config.Modes,
		"ASGRef.CapacityMode":      config.CapacityModes,
		"PlaceholderRef.Mode":      config.PlaceholderModes,
		"NodeGroup.Provider":       {"asg", "eks", "placeholder"},
		"Database.Provider":        {"rds", "elasticache"},
		"Calendar.Exchange":        config.Exchanges,
		"ScheduleRule.Sessions":    {"pre-market", "regular", "post-market"},
		"Event.Occurrence":         {"first", "second", "third", "fourth", "fifth", "last"},
		"ScalingPolicyStatus.Mode": {"observe", "shadow", "active", "mixed"},
	}
	minimums = map[string]float64{
		"HPA.MinReplicas":                   0,
		"HPA.MaxReplicas":                   1,
		"HPA.MaxStepUp":                     0,
		"ScaleDown.Pods":                    0,
		"ScaleDown.Percent":                 0,
		"Capacity.PerPod":                   0,
		"Capacity.Headroom":                 0,
		"NodeGroup.MinSize":                 0,
		"NodeGroup.MaxSize":                 0,
		"ConnectionBudget.PoolSize":         0,
		"Tier.MaxConnections":               0,
		"Tier.Capacity":                     0,
		"ScheduleRule.MinReplicas":          0,
		"ScheduleRule.MaxReplicas":          0,
		"VolatilityRule.MinReplicas":        0,
		"VolatilityRule.MaxReplicas":        0,
		"EventStep.MinReplicas":             0,
		"EventStep.MaxReplicas":             0,
		"Promote.MaxMASE":                   0,
		"Promote.MinCoverage":               0,
		"Promote.MinGainPerCost":            0,
		"LatencySignal.MinCapacityFraction": 0,
	}
	maximums = map[string]float64{
		"ScaleDown.Percent":                 100,
		"Capacity.TargetUtilization":        1,
		"Capacity.Quantile":                 1,
		"Promote.MinCoverage":               1,
		"Promote.MinGainPerCost":            config.MaxPromoteGainPerCost,
		"CacheSignal.Baseline":              1,
		"LatencySignal.MinCapacityFraction": 1,
	}
	rules = map[string][]apiextensionsv1.ValidationRule{
		"HPA": {{
			Rule:    "!has(self.minReplicas) || !has(self.maxReplicas) || self.minReplicas <= self.maxReplicas",
			Message: "minReplicas (the owner's floor) must not be above maxReplicas (the ceiling)",
		}},
		"Event": {{
			Rule:    "has(self.start) != has(self.schedule)",
			Message: "exactly one of start (one-off) and schedule (recurring)",
		}},
	}
	required = map[string][]string{
		"Spec":   {"targets"},
		"Target": {"name", "hpa", "capacity", "signals"},
		"HPA":    {"maxReplicas"},
	}
	minItems = map[string]int64{"Spec.Targets": 1}
)

// gen builds schemas from Go types by reflection, with the struct tag tag
// (yaml for the policy's spec, json for the status) naming the fields.
type gen struct {
	docs Docs
	tag  string
}

var (
	durationType  = reflect.TypeFor[config.Duration]()
	quantityType  = reflect.TypeFor[config.Quantity]()
	conditionType = reflect.TypeFor[metav1.Condition]()
	timeType      = reflect.TypeFor[metav1.Time]()
)

func (g gen) schema(t reflect.Type) apiextensionsv1.JSONSchemaProps {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case durationType:
		return apiextensionsv1.JSONSchemaProps{XIntOrString: true, AnyOf: []apiextensionsv1.JSONSchemaProps{{Type: "integer"}, {Type: "string"}},
			Description: "A duration: 90s, 5m, 1h30m, 7d, 2w (a leading - for offsets before an event)."}
	case quantityType:
		return apiextensionsv1.JSONSchemaProps{XIntOrString: true, AnyOf: []apiextensionsv1.JSONSchemaProps{{Type: "integer"}, {Type: "string"}},
			Description: "A resource quantity: CPU as 500m or 2, memory as 512Mi or 4Gi."}
	case timeType:
		return apiextensionsv1.JSONSchemaProps{Type: "string", Format: "date-time"}
	case conditionType:
		return conditionSchema()
	}
	switch t.Kind() {
	case reflect.String:
		return apiextensionsv1.JSONSchemaProps{Type: "string"}
	case reflect.Bool:
		return apiextensionsv1.JSONSchemaProps{Type: "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		s := apiextensionsv1.JSONSchemaProps{Type: "integer"}
		if t.Kind() == reflect.Int32 {
			s.Format = "int32"
		}
		return s
	case reflect.Float64:
		return apiextensionsv1.JSONSchemaProps{Type: "number"}
	case reflect.Slice:
		item := g.schema(t.Elem())
		return apiextensionsv1.JSONSchemaProps{Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &item}}
	case reflect.Map:
		v := g.schema(t.Elem())
		return apiextensionsv1.JSONSchemaProps{Type: "object", AdditionalProperties: &apiextensionsv1.JSONSchemaPropsOrBool{Allows: true, Schema: &v}}
	case reflect.Struct:
		return g.object(t)
	}
	panic(fmt.Sprintf("crd: no schema for %s", t))
}

func (g gen) object(t reflect.Type) apiextensionsv1.JSONSchemaProps {
	s := apiextensionsv1.JSONSchemaProps{Type: "object", Description: g.docs[t.Name()], Properties: map[string]apiextensionsv1.JSONSchemaProps{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get(g.tag), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		key := t.Name() + "." + f.Name
		p := g.schema(f.Type)
		if d := g.docs[key]; d != "" {
			p.Description = d
		} else if p.Type == "array" && p.Items.Schema.Description != "" {
			p.Description = "A list. " + p.Items.Schema.Description
		}
		if vals, ok := enums[key]; ok {
			target := &p
			if p.Type == "array" {
				target = p.Items.Schema
			}
			for _, v := range vals {
				b, _ := json.Marshal(v)
				target.Enum = append(target.Enum, apiextensionsv1.JSON{Raw: b})
			}
		}
		if m, ok := minimums[key]; ok {
			p.Minimum = &m
		}
		if m, ok := maximums[key]; ok {
			p.Maximum = &m
		}
		if n, ok := minItems[key]; ok {
			p.MinItems = &n
		}
		s.Properties[name] = p
	}
	s.Required = required[t.Name()]
	s.XValidations = rules[t.Name()]
	return s
}

func conditionSchema() apiextensionsv1.JSONSchemaProps {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	return apiextensionsv1.JSONSchemaProps{
		Type:        "object",
		Description: "A condition of the policy (metav1.Condition).",
		Required:    []string{"type", "status", "lastTransitionTime", "reason", "message"},
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"type":               str,
			"status":             {Type: "string", Enum: []apiextensionsv1.JSON{{Raw: []byte(`"True"`)}, {Raw: []byte(`"False"`)}, {Raw: []byte(`"Unknown"`)}}},
			"observedGeneration": {Type: "integer", Format: "int64"},
			"lastTransitionTime": {Type: "string", Format: "date-time"},
			"reason":             str,
			"message":            str,
		},
	}
}

// CRD returns the ScalingPolicy CustomResourceDefinition: the spec's schema
// from config.Spec, the status's from ScalingPolicyStatus, printer columns
// and the status subresource.
func CRD(docs Docs) *apiextensionsv1.CustomResourceDefinition {
	spec := gen{docs: docs, tag: "yaml"}.schema(reflect.TypeFor[config.Spec]())
	spec.Description = "The policy: the same schema as a policy file's spec (docs/policy.md). A namespaced policy manages HPAs, ScaledObjects and pool ConfigMaps in its own namespace only; node groups, databases and caches only from a policy in prescale's own namespace."
	status := gen{docs: docs, tag: "json"}.schema(reflect.TypeFor[ScalingPolicyStatus]())
	// Conditions are keyed by type.
	c := status.Properties["conditions"]
	c.XListType = ptr("map")
	c.XListMapKeys = []string{"type"}
	status.Properties["conditions"] = c
	root := apiextensionsv1.JSONSchemaProps{
		Type:        "object",
		Description: "ScalingPolicy tells prescale which workloads to scale ahead of demand, from which forecasts and rules, within which limits.",
		Required:    []string{"spec"},
		Properties: map[string]apiextensionsv1.JSONSchemaProps{
			"apiVersion": {Type: "string"},
			"kind":       {Type: "string"},
			"metadata":   {Type: "object"},
			"spec":       spec,
			"status":     status,
		},
	}
	col := func(name, typ, path, desc string, prio int32) apiextensionsv1.CustomResourceColumnDefinition {
		return apiextensionsv1.CustomResourceColumnDefinition{Name: name, Type: typ, JSONPath: path, Description: desc, Priority: prio}
	}
	return &apiextensionsv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: Plural + "." + Group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: Group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{
				Plural: Plural, Singular: Singular, Kind: Kind, ListKind: ListKind,
				ShortNames: []string{"spol"}, Categories: []string{"prescale"},
			},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: Version, Served: true, Storage: true,
				Schema:       &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &root},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
				AdditionalPrinterColumns: []apiextensionsv1.CustomResourceColumnDefinition{
					col("Mode", "string", ".status.mode", "the targets' mode: observe, shadow, active or mixed", 0),
					col("Targets", "integer", ".status.targetCount", "targets in the policy in force", 0),
					col("Promoted", "string", ".status.promoted", "targets with hpa.promote that are promoted, N/M", 0),
					col("Accepted", "string", `.status.conditions[?(@.type=="Accepted")].status`, "whether the current generation was accepted", 0),
					col("Next Change", "string", ".status.nextChange", "the soonest planned floor change", 0),
					col("Age", "date", ".metadata.creationTimestamp", "", 0),
					col("Ready", "string", `.status.conditions[?(@.type=="Ready")].status`, "planned with forecasts for every target", 1),
				},
			}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// Header starts the generated YAML.
const Header = "# Generated by go run ./internal/crdgen from config.Spec and api/v1alpha1: do not edit.\n"

// YAML renders the CRD as the committed manifest: no status, no
// creationTimestamp, keys in order.
func YAML(crd *apiextensionsv1.CustomResourceDefinition) ([]byte, error) {
	b, err := json.Marshal(crd)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	if md, ok := m["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	out, err := yaml.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append([]byte(Header), out...), nil
}

// Generate is the generator: the CRD's YAML from the doc comments of the
// module at root.
func Generate(root string) ([]byte, error) {
	docs, err := ParseDocs(filepath.Join(root, "config"), filepath.Join(root, "api", "v1alpha1"))
	if err != nil {
		return nil, err
	}
	return YAML(CRD(docs))
}

// Manifests are the files the generator writes, relative to the module root.
var Manifests = []string{
	"deploy/crd/prescale.io_scalingpolicies.yaml",
	"charts/prescale/crds/prescale.io_scalingpolicies.yaml",
}
