package deploy_test

import (
	"context"
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/metrics"
)

// permission is one thing the daemon does on the API server.
type permission struct {
	// Namespace is "" for the ClusterRole and prescale's namespace for
	// the Role.
	Namespace    string
	Group        string
	Resource     string
	Verb         string
	ResourceName string // "" for any
}

func (p permission) String() string {
	where := "cluster-wide"
	if p.Namespace != "" {
		where = "in " + p.Namespace
	}
	s := fmt.Sprintf("%s %s.%s %s", p.Verb, p.Resource, p.Group, where)
	if p.ResourceName != "" {
		s += " named " + p.ResourceName
	}
	return s
}

// needs is every call the daemon's code makes on the API server, and the
// code that makes it: the RBAC rules must grant exactly these. A new call
// in the code adds a row here and a rule in deploy/rbac (cluster-wide) or
// deploy/base/role.yaml (prescale's namespace).
//
// The rows marked podUsage are needed only with `run --pod-usage`; they are
// granted by deploy/rbac/pod-usage, which the default build leaves out.
var needs = []struct {
	permission
	by       string
	podUsage bool
}{
	{permission{"", "prescale.io", "scalingpolicies", "list", ""}, "controller/crd: Source.Start checks the CRD is served, then its informer lists (dynamic Resource.List)", false},
	{permission{"", "prescale.io", "scalingpolicies", "watch", ""}, "controller/crd: the informer watches ScalingPolicies (dynamic Resource.Watch)", false},
	{permission{"", "prescale.io", "scalingpolicies", "get", ""}, "controller/crd: the informer's relist and kubectl-like reads (dynamic Resource.Get)", false},
	{permission{"", "prescale.io", "scalingpolicies/status", "patch", ""}, "controller/crd: Source writes the status (dynamic Resource.Patch on /status)", false},
	{permission{"", "autoscaling", "horizontalpodautoscalers", "get", ""}, "actuator/hpa: Actuator.Apply and Restore read the HPA (HorizontalPodAutoscalers.Get)", false},
	{permission{"", "autoscaling", "horizontalpodautoscalers", "patch", ""}, "actuator/hpa: Actuator.Apply and Restore write by server-side apply (HorizontalPodAutoscalers.Apply, a PATCH)", false},
	{permission{"", "autoscaling", "horizontalpodautoscalers", "list", ""}, "actuator/hpa: Actuator.RestoreAll, `prescale restore` (HorizontalPodAutoscalers.List)", false},
	{permission{"", "keda.sh", "scaledobjects", "get", ""}, "actuator/keda: Actuator.Read, Apply and Restore read the ScaledObject (dynamic Resource.Get)", false},
	{permission{"", "keda.sh", "scaledobjects", "patch", ""}, "actuator/keda: Actuator.Apply and Restore write minReplicaCount/maxReplicaCount by server-side apply (dynamic Resource.Apply, a PATCH; never a create: a missing ScaledObject is reported, not made)", false},
	{permission{"", "keda.sh", "scaledobjects", "list", ""}, "actuator/keda: Actuator.Managed for the live actuator's ManagedHPAs at the daemon's start, and Actuator.RestoreAll for `prescale restore --all` (dynamic Resource.List)", false},
	{permission{"", "", "events", "create", ""}, "actuator/hpa, actuator/keda and actuator/headroom: each change is an Event on the HPA, ScaledObject, placeholder Deployment or CapacityBuffer (CoreV1 Events.Create)", false},
	{permission{"", "metrics.k8s.io", "pods", "list", ""}, "metrics: PodUsage.Workload reads a workload's pod usage (PodMetricses.List), with run --pod-usage", true},
	{permission{"", "", "pods", "list", ""}, "metrics: HPAUsage.Of reads the state and CPU requests of those pods (CoreV1 Pods.List by the scale's selector), with run --pod-usage", true},
	{permission{"", "apps", "deployments/scale", "get", ""}, "metrics: HPAUsage.Of finds the pods of an HPA's Deployment from its scale's selector (Deployments.GetScale), with run --pod-usage", true},
	{permission{"", "apps", "statefulsets/scale", "get", ""}, "metrics: HPAUsage.Of, for a StatefulSet (StatefulSets.GetScale)", true},
	{permission{"", "apps", "replicasets/scale", "get", ""}, "metrics: HPAUsage.Of, for a ReplicaSet (ReplicaSets.GetScale)", true},
	{permission{"", "apps", "deployments", "get", "prescale-placeholder"}, "actuator/headroom: Actuator.Apply reads the placeholder Deployment (Deployments.Get)", false},
	{permission{"", "apps", "deployments/scale", "get", "prescale-placeholder"}, "actuator/headroom: Actuator.Apply reads its scale (Deployments.GetScale)", false},
	{permission{"", "apps", "deployments/scale", "update", "prescale-placeholder"}, "actuator/headroom: Actuator.Apply scales it (Deployments.UpdateScale)", false},
	{permission{"", "autoscaling.x-k8s.io", "capacitybuffers", "get", "prescale-placeholder"}, "actuator/headroom: Actuator.Apply reads the CapacityBuffer (dynamic Resource.Get)", false},
	{permission{"", "autoscaling.x-k8s.io", "capacitybuffers", "patch", "prescale-placeholder"}, "actuator/headroom: Actuator.Apply sets it by server-side apply (dynamic Resource.Apply, a PATCH)", false},
	{permission{"", "autoscaling.x-k8s.io", "capacitybuffers", "create", "prescale-placeholder"}, "actuator/headroom: the first apply creates it; the API server checks create for an apply that creates, with the name", false},
	{permission{"", "scheduling.k8s.io", "priorityclasses", "get", ""}, "actuator/headroom: Actuator.Apply checks the placeholder's priority is negative (PriorityClasses.Get)", false},
	{permission{"prescale", "coordination.k8s.io", "leases", "create", ""}, "controller/leader: client-go's LeaseLock.Create when the Lease is missing", false},
	{permission{"prescale", "coordination.k8s.io", "leases", "get", "prescale"}, "controller/leader: LeaseLock.Get on every acquire and renew attempt", false},
	{permission{"prescale", "coordination.k8s.io", "leases", "update", "prescale"}, "controller/leader: LeaseLock.Update to take, renew and release the Lease", false},
}

// The daemon's command line (cmd/prescale run): the manifests must match it.
var wantArgs = []string{
	"run",
	"--config=/etc/prescale/policy",
	"--scalingpolicies",
	"--prometheus-config=/etc/prescale/prometheus.yaml",
	"--listen=:8080",
	"--leader-elect",
	"--lease-name=prescale",
	"--lease-namespace=$(POD_NAMESPACE)",
}

// built is deploy/ after kustomize, decoded.
type built struct {
	objects   []runtime.Object
	unknown   []*unstructured.Unstructured // kinds outside client-go's scheme
	namespace string
}

func build(t *testing.T) *built {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), ".")
	if err != nil {
		t.Fatalf("kustomize build deploy/: %v", err)
	}
	strict := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	b := &built{}
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatalf("%s: %v", r.CurId(), err)
		}
		obj, _, err := strict.Decode(y, nil, nil)
		if runtime.IsNotRegisteredError(err) {
			u := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(y, &u.Object); err != nil {
				t.Fatalf("%s: %v", r.CurId(), err)
			}
			b.unknown = append(b.unknown, u)
			continue
		}
		if err != nil {
			t.Errorf("%s does not decode strictly into its Kubernetes type: %v", r.CurId(), err)
			continue
		}
		if ns, ok := obj.(*corev1.Namespace); ok {
			b.namespace = ns.Name
		}
		b.objects = append(b.objects, obj)
	}
	if b.namespace == "" {
		t.Fatal("no Namespace in deploy/")
	}
	return b
}

// one returns the only object of type T named name ("" for any name).
func one[T runtime.Object](t *testing.T, b *built, name string) T {
	t.Helper()
	var found []T
	for _, o := range b.objects {
		if v, ok := o.(T); ok && (name == "" || objectName(o) == name) {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("%d %T named %q in deploy/, want 1", len(found), zero, name)
	}
	return found[0]
}

func objectName(o runtime.Object) string {
	m, ok := o.(interface{ GetName() string })
	if !ok {
		return ""
	}
	return m.GetName()
}

func TestKinds(t *testing.T) {
	b := build(t)
	count := map[string]int{}
	for _, o := range b.objects {
		kind := fmt.Sprintf("%T", o)
		count[kind[strings.LastIndex(kind, ".")+1:]]++
		if m, ok := o.(interface{ GetNamespace() string }); ok {
			if _, cluster := o.(*corev1.Namespace); cluster {
				continue
			}
			switch o.(type) {
			case *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding:
				continue
			}
			if ns := m.GetNamespace(); ns != b.namespace {
				t.Errorf("%T %s is in namespace %q, want %q", o, objectName(o), ns, b.namespace)
			}
		}
	}
	for _, u := range b.unknown {
		count[u.GetKind()]++
		if u.GetKind() == "CustomResourceDefinition" {
			continue // cluster-scoped
		}
		if u.GetNamespace() != b.namespace {
			t.Errorf("%s %s is in namespace %q, want %q", u.GetKind(), u.GetName(), u.GetNamespace(), b.namespace)
		}
	}
	want := map[string]int{
		"Namespace": 1, "ServiceAccount": 1, "ClusterRole": 1, "ClusterRoleBinding": 1, "Role": 1, "RoleBinding": 1,
		"Deployment": 1, "Service": 1, "PodDisruptionBudget": 1, "CustomResourceDefinition": 1,
		"ConfigMap": 2, // the policy files (empty) and the Prometheus client configuration
	}
	if !maps.Equal(count, want) {
		t.Errorf("kinds in deploy/: %v, want %v", count, want)
	}
}

func TestDeployment(t *testing.T) {
	b := build(t)
	d := one[*appsv1.Deployment](t, b, "prescale")
	pod := d.Spec.Template.Spec

	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2: a warm follower beside the leader", d.Spec.Replicas)
	}
	sel, err := metav1LabelSelectorOf(d.Spec.Selector)
	if err != nil || sel.Empty() {
		t.Fatal(err)
	}
	if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Fatalf("selector %s does not match the pod labels %v", sel, d.Spec.Template.Labels)
	}

	// Pod security: the restricted Pod Security Standard and then some.
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
		t.Errorf("pod securityContext %+v: want runAsNonRoot and runAsUser 65532 (distroless nonroot)", psc)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod seccompProfile is not RuntimeDefault")
	}
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
		t.Fatalf("%d containers and %d init containers, want 1 and 0", len(pod.Containers), len(pod.InitContainers))
	}
	c := pod.Containers[0]
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Error("container has no securityContext")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("container allows privilege escalation")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("container root filesystem is writable")
	case sc.Privileged != nil && *sc.Privileged:
		t.Error("container is privileged")
	case sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0:
		t.Errorf("capabilities %+v, want drop [ALL] and no add", sc.Capabilities)
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Error("pod shares a host namespace")
	}

	// The command line and the downward API it relies on.
	if !slices.Equal(c.Args, wantArgs) || len(c.Command) > 0 {
		t.Errorf("command %q args %q, want the image's entrypoint with %q", c.Command, c.Args, wantArgs)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			env[e.Name] = e.ValueFrom.FieldRef.FieldPath
		}
	}
	for name, path := range map[string]string{"POD_NAMESPACE": "metadata.namespace", "POD_NAME": "metadata.name"} {
		if env[name] != path {
			t.Errorf("env %s from %q, want the downward API's %s", name, env[name], path)
		}
	}

	// The http port and the probes on it.
	var port *corev1.ContainerPort
	for i := range c.Ports {
		if c.Ports[i].Name == "http" {
			port = &c.Ports[i]
		}
	}
	if port == nil || port.ContainerPort != 8080 {
		t.Fatalf("ports %+v: want http on 8080 (--listen=:8080)", c.Ports)
	}
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no %s HTTP probe", p.name)
			continue
		}
		if g := p.probe.HTTPGet; g.Path != p.path || g.Port != intstr.FromString("http") {
			t.Errorf("%s probe %s on port %s, want %s on http", p.name, g.Path, g.Port.String(), p.path)
		}
	}

	// Requests and limits, both resources, requests within limits.
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := c.Resources.Requests[r]
		lim, okLim := c.Resources.Limits[r]
		if !okReq || !okLim || req.IsZero() || lim.IsZero() {
			t.Errorf("%s: request %v, limit %v: want both", r, req.String(), lim.String())
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s request %s above its limit %s", r, req.String(), lim.String())
		}
	}

	// Long enough for the leader to finish an actuation after SIGTERM:
	// an HPA apply is seconds, but an API server or AWS call may retry up
	// to the 30s request timeout of the daemon's clients.
	if g := pod.TerminationGracePeriodSeconds; g == nil || time.Duration(*g)*time.Second < 45*time.Second {
		t.Errorf("terminationGracePeriodSeconds %v, want at least 45", g)
	}

	// Spread across nodes, so losing a node leaves a follower.
	spread := false
	for _, tsc := range pod.TopologySpreadConstraints {
		if tsc.TopologyKey == corev1.LabelHostname && tsc.WhenUnsatisfiable == corev1.DoNotSchedule && tsc.MaxSkew == 1 {
			s, err := metav1LabelSelectorOf(tsc.LabelSelector)
			spread = err == nil && s.Matches(labels.Set(d.Spec.Template.Labels))
		}
	}
	if a := pod.Affinity; a != nil && a.PodAntiAffinity != nil {
		for _, term := range a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution {
			s, err := metav1LabelSelectorOf(term.LabelSelector)
			spread = spread || (term.TopologyKey == corev1.LabelHostname && err == nil && s.Matches(labels.Set(d.Spec.Template.Labels)))
		}
	}
	if !spread {
		t.Error("replicas may share a node: want a hostname topology spread (DoNotSchedule, maxSkew 1) or required anti-affinity on the pod labels")
	}

	sa := one[*corev1.ServiceAccount](t, b, "")
	if pod.ServiceAccountName != sa.Name {
		t.Errorf("serviceAccountName %q, want %q", pod.ServiceAccountName, sa.Name)
	}
}

// TestConfigFiles: what the pod mounts is what the daemon reads, and it
// loads: the policy as config.Load would (a directory of files, as
// --config points at), the Prometheus client configuration as
// metrics.NewPrometheus.
func TestConfigFiles(t *testing.T) {
	b := build(t)
	d := one[*appsv1.Deployment](t, b, "prescale")
	c := d.Spec.Template.Spec.Containers[0]
	volumes := map[string]corev1.Volume{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	mounted := func(path string) (corev1.VolumeMount, *corev1.ConfigMap) {
		t.Helper()
		for _, m := range c.VolumeMounts {
			if m.MountPath != path {
				continue
			}
			v, ok := volumes[m.Name]
			if !ok || v.ConfigMap == nil {
				t.Fatalf("%s: volume %q is not a ConfigMap volume of the pod", path, m.Name)
			}
			if !m.ReadOnly {
				t.Errorf("%s is mounted writable", path)
			}
			return m, one[*corev1.ConfigMap](t, b, v.ConfigMap.Name)
		}
		t.Fatalf("nothing mounted at %s", path)
		return corev1.VolumeMount{}, nil
	}

	// The policy: a whole-ConfigMap mount (a subPath mount would never see
	// an edited ConfigMap, and the daemon reloads on change).
	m, cm := mounted("/etc/prescale/policy")
	if m.SubPath != "" {
		t.Errorf("policy mounted with subPath %q: the daemon would never see a change", m.SubPath)
	}
	dir := t.TempDir()
	for name, data := range cm.Data {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// Empty by default (policies are ScalingPolicy objects); whatever it
	// holds loads, and acts on nothing by default.
	policies, err := config.Load(dir)
	if err != nil {
		t.Errorf("policy ConfigMap %s does not load: %v", cm.Name, err)
	}
	for _, p := range policies {
		for _, tg := range p.Spec.Targets {
			if tg.HPA.Mode == "active" {
				t.Errorf("policy ConfigMap %s: target %s in mode active: the default is shadow", cm.Name, tg.Name)
			}
		}
	}

	// The Prometheus client configuration: one file.
	m, cm = mounted("/etc/prescale/prometheus.yaml")
	data, ok := cm.Data[m.SubPath]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %q (the subPath mounted)", cm.Name, m.SubPath)
	}
	var pc metrics.PrometheusConfig
	dec := yaml.NewDecoder(strings.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&pc); err != nil {
		t.Fatalf("prometheus.yaml: %v", err)
	}
	if _, err := metrics.NewPrometheus(pc, nil); err != nil {
		t.Errorf("prometheus.yaml: %v", err)
	}

	// Writable scratch space only where the Go runtime may want it.
	for _, m := range c.VolumeMounts {
		if v := volumes[m.Name]; v.ConfigMap == nil && (v.EmptyDir == nil || m.MountPath != "/tmp") {
			t.Errorf("volume %s at %s: only ConfigMaps and an emptyDir at /tmp are expected", m.Name, m.MountPath)
		}
	}
}

func TestServiceAndMonitoring(t *testing.T) {
	b := build(t)
	d := one[*appsv1.Deployment](t, b, "prescale")
	podLabels := labels.Set(d.Spec.Template.Labels)

	svc := one[*corev1.Service](t, b, "")
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, podLabels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].TargetPort != intstr.FromString("http") {
		t.Errorf("Service ports %+v, want one named http targeting the container's http port", svc.Spec.Ports)
	}

	// The ServiceMonitor is apart (deploy/monitoring): it needs the
	// Prometheus Operator's CRDs, which a plain cluster does not have.
	for _, u := range b.unknown {
		if u.GetKind() != "CustomResourceDefinition" {
			t.Errorf("%s %s in deploy/: only the ScalingPolicy CRD may be outside client-go's scheme", u.GetKind(), u.GetName())
		}
	}
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "monitoring")
	if err != nil || len(rm.Resources()) != 1 {
		t.Fatalf("kustomize build deploy/monitoring: %v", err)
	}
	sm := &unstructured.Unstructured{}
	if y, err := rm.Resources()[0].AsYAML(); err != nil || yaml.Unmarshal(y, &sm.Object) != nil {
		t.Fatalf("deploy/monitoring: %v", err)
	}
	if sm.GetAPIVersion() != "monitoring.coreos.com/v1" || sm.GetKind() != "ServiceMonitor" {
		t.Fatalf("%s %s, want monitoring.coreos.com/v1 ServiceMonitor", sm.GetAPIVersion(), sm.GetKind())
	}
	match, _, err := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	if err != nil || len(match) == 0 || !labels.SelectorFromSet(match).Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v (%v) does not select the Service's labels %v", match, err, svc.Labels)
	}
	endpoints, _, err := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if err != nil || len(endpoints) != 1 {
		t.Fatalf("ServiceMonitor endpoints %v (%v), want one", endpoints, err)
	}
	ep, _ := endpoints[0].(map[string]any)
	if ep["port"] != "http" || ep["path"] != "/metrics" {
		t.Errorf("ServiceMonitor endpoint %v, want port http, path /metrics", ep)
	}

	pdb := one[*policyv1.PodDisruptionBudget](t, b, "")
	if pdb.Spec.MinAvailable == nil || *pdb.Spec.MinAvailable != intstr.FromInt32(1) || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("PodDisruptionBudget minAvailable %v, maxUnavailable %v; want minAvailable 1", pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
	}
	if s, err := metav1LabelSelectorOf(pdb.Spec.Selector); err != nil || s.Empty() || !s.Matches(podLabels) {
		t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Spec.Selector)
	}
}

// TestRBAC: the rules bound to prescale's ServiceAccount grant exactly the
// needs table, no wildcard, the Lease only in prescale's own namespace.
func TestRBAC(t *testing.T) {
	b := build(t)
	sa := one[*corev1.ServiceAccount](t, b, "")
	bound := func(subjects []rbacv1.Subject) bool {
		for _, s := range subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Name == sa.Name && s.Namespace == sa.Namespace {
				return true
			}
		}
		return false
	}
	granted := map[permission]bool{}
	grant := func(where, namespace string, rules []rbacv1.PolicyRule) {
		for _, r := range rules {
			if len(r.NonResourceURLs) > 0 {
				t.Errorf("%s grants non-resource URLs %v", where, r.NonResourceURLs)
			}
			names := r.ResourceNames
			if len(names) == 0 {
				names = []string{""}
			}
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					for _, v := range r.Verbs {
						for _, n := range names {
							if g == "*" || res == "*" || v == "*" {
								t.Errorf("%s grants a wildcard: %q %q %q", where, g, res, v)
							}
							granted[permission{namespace, g, res, v, n}] = true
						}
					}
				}
			}
		}
	}
	crb := one[*rbacv1.ClusterRoleBinding](t, b, "")
	if !bound(crb.Subjects) || crb.RoleRef.Kind != "ClusterRole" {
		t.Errorf("ClusterRoleBinding %s: subjects %+v, roleRef %+v; want the ServiceAccount bound to a ClusterRole", crb.Name, crb.Subjects, crb.RoleRef)
	}
	cr := one[*rbacv1.ClusterRole](t, b, crb.RoleRef.Name)
	if cr.AggregationRule != nil {
		t.Error("the ClusterRole aggregates others: its rights are not the ones listed")
	}
	grant("ClusterRole "+cr.Name, "", cr.Rules)
	rb := one[*rbacv1.RoleBinding](t, b, "")
	if !bound(rb.Subjects) || rb.RoleRef.Kind != "Role" {
		t.Errorf("RoleBinding %s: subjects %+v, roleRef %+v; want the ServiceAccount bound to a Role", rb.Name, rb.Subjects, rb.RoleRef)
	}
	role := one[*rbacv1.Role](t, b, rb.RoleRef.Name)
	if role.Namespace != b.namespace || rb.Namespace != b.namespace {
		t.Errorf("Role in %q, RoleBinding in %q: want prescale's namespace %q (--lease-namespace=$(POD_NAMESPACE))", role.Namespace, rb.Namespace, b.namespace)
	}
	grant("Role "+role.Name, role.Namespace, role.Rules)

	checkGrants(t, granted, false)
}

// TestPodUsageRBAC: deploy/rbac/pod-usage binds prescale's ServiceAccount
// to exactly what `run --pod-usage` adds, cluster-wide reads only.
func TestPodUsageRBAC(t *testing.T) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(filesys.MakeFsOnDisk(), "rbac/pod-usage")
	if err != nil {
		t.Fatalf("kustomize build deploy/rbac/pod-usage: %v", err)
	}
	sa := one[*corev1.ServiceAccount](t, build(t), "")
	var roles []rbacv1.ClusterRole
	var bindings []rbacv1.ClusterRoleBinding
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		switch r.GetKind() {
		case "ClusterRole":
			var cr rbacv1.ClusterRole
			if err := sigsyaml.UnmarshalStrict(y, &cr); err != nil {
				t.Fatal(err)
			}
			roles = append(roles, cr)
		case "ClusterRoleBinding":
			var b rbacv1.ClusterRoleBinding
			if err := sigsyaml.UnmarshalStrict(y, &b); err != nil {
				t.Fatal(err)
			}
			bindings = append(bindings, b)
		default:
			t.Errorf("deploy/rbac/pod-usage holds a %s: only a ClusterRole and its binding belong there", r.GetKind())
		}
	}
	if len(roles) != 1 || len(bindings) != 1 {
		t.Fatalf("%d ClusterRoles and %d bindings, want one each", len(roles), len(bindings))
	}
	b := bindings[0]
	if b.RoleRef.Name != roles[0].Name || len(b.Subjects) != 1 || b.Subjects[0].Name != sa.Name || b.Subjects[0].Namespace != sa.Namespace {
		t.Errorf("binding %s: roleRef %+v, subjects %+v; want ServiceAccount %s/%s bound to %s", b.Name, b.RoleRef, b.Subjects, sa.Namespace, sa.Name, roles[0].Name)
	}
	granted := map[permission]bool{}
	for _, r := range roles[0].Rules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					if len(r.ResourceNames) > 0 || v != "get" && v != "list" {
						t.Errorf("%s grants %s %s %s%v: pod usage only reads, and any object", roles[0].Name, g, res, v, r.ResourceNames)
					}
					granted[permission{"", g, res, v, ""}] = true
				}
			}
		}
	}
	checkGrants(t, granted, true)
}

// checkGrants compares granted with the needs rows of one kind (podUsage
// or the default).
func checkGrants(t *testing.T, granted map[permission]bool, podUsage bool) {
	t.Helper()
	want := map[permission]string{}
	for _, n := range needs {
		if n.podUsage == podUsage {
			want[n.permission] = n.by
		}
	}
	for _, p := range slices.SortedFunc(maps.Keys(want), comparePermissions) {
		if !granted[p] {
			t.Errorf("missing: %s, which %s", p, want[p])
		}
	}
	for _, p := range slices.SortedFunc(maps.Keys(granted), comparePermissions) {
		if _, ok := want[p]; !ok {
			t.Errorf("granted but no code needs it: %s", p)
		}
	}
}

func comparePermissions(a, b permission) int { return strings.Compare(a.String(), b.String()) }

// TestDockerfile builds the binary the way the Dockerfile does and checks
// what the distroless image needs: no dynamic loader, the time zone
// database inside, no local paths.
func TestDockerfile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	raw, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := strings.ReplaceAll(string(raw), "\\\n", " ")
	froms := regexp.MustCompile(`(?m)^FROM\s+(?:--platform=\S+\s+)?(\S+)`).FindAllStringSubmatch(df, -1)
	if len(froms) < 2 {
		t.Fatalf("%d FROM lines: want a multi-stage build", len(froms))
	}
	if final := froms[len(froms)-1][1]; !regexp.MustCompile(`^gcr\.io/distroless/static(-debian\d+)?:nonroot$`).MatchString(final) {
		t.Errorf("final image %s, want gcr.io/distroless/static:nonroot", final)
	}
	if !regexp.MustCompile(`(?m)^USER\s+65532(:65532)?\s*$`).MatchString(df) {
		t.Error("no numeric USER 65532: runAsNonRoot cannot check a user name")
	}
	cmd := regexp.MustCompile(`CGO_ENABLED=0[^\n]*?go build ([^\n]*?) -o (\S+) (\./cmd/prescale)`).FindStringSubmatch(df)
	if cmd == nil {
		t.Fatal("no `CGO_ENABLED=0 ... go build FLAGS -o OUT ./cmd/prescale` in the Dockerfile")
	}
	// Words as the shell splits them here: -ldflags="-s -w" is one.
	var flags []string
	for _, w := range regexp.MustCompile(`\S*"[^"]*"\S*|\S+`).FindAllString(cmd[1], -1) {
		flags = append(flags, strings.ReplaceAll(w, `"`, ""))
	}
	out := filepath.Join(t.TempDir(), "prescale")
	// -trimpath and CGO_ENABLED=0 make this a build of its own: with a
	// cold cache it compiles the binary's ~1,000 packages again, which on
	// a loaded machine takes longer than go test's default 10 minutes. It
	// is bounded by the test's deadline so that it ends with this message
	// rather than the test binary's timeout panic.
	ctx, cancel := context.Background(), func() {}
	if d, ok := t.Deadline(); ok {
		ctx, cancel = context.WithDeadline(ctx, d.Add(-30*time.Second))
	}
	defer cancel()
	build := exec.CommandContext(ctx, "go", append(append([]string{"build"}, flags...), "-o", out, cmd[3])...)
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	start := time.Now()
	b, err := build.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish in %s, before the test's deadline: a cold build cache on a loaded machine; "+
			"warm it with the same command or run go test with a longer -timeout", build, time.Since(start).Round(time.Second))
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", build, err, b)
	}
	t.Logf("the Dockerfile's build took %s", time.Since(start).Round(time.Second))

	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary asks for a dynamic loader: distroless/static has none")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v", libs)
	}
	info, err := buildinfo.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for k, v := range map[string]string{"CGO_ENABLED": "0", "-trimpath": "true"} {
		if settings[k] != v {
			t.Errorf("build setting %s=%q, want %q", k, settings[k], v)
		}
	}
	if !slices.Contains(strings.Split(settings["-tags"], ","), "timetzdata") {
		t.Errorf("build tags %q, want timetzdata", settings["-tags"])
	}
}

func metav1LabelSelectorOf(s *metav1.LabelSelector) (labels.Selector, error) {
	if s == nil {
		return labels.Nothing(), nil
	}
	return metav1.LabelSelectorAsSelector(s)
}
