// Package hpa sets the floors (and, when a rule asks, the ceilings and
// target utilisation) of Kubernetes HorizontalPodAutoscalers, autoscaling/v2.
//
// Writes are server-side apply with the field manager "prescale", so a
// GitOps tool or a person can see who owns spec.minReplicas; each apply
// carries the object's UID and resourceVersion, so an edit that lands
// between prescale's read and its write makes the apply fail with a
// conflict, and the actuator reads again and recomputes rather than
// overwriting a value it has not seen. Before its first change prescale
// remembers the owner's values in annotations on the HPA, never sets the
// floor below them, and Restore puts them back. Every change is also a
// Kubernetes Event on the HPA with its reason.
package hpa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/prescale/prescale/actuator/internal/kubeevent"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	acautoscalingv2 "k8s.io/client-go/applyconfigurations/autoscaling/v2"
	"k8s.io/client-go/kubernetes"

	"github.com/prescale/prescale/actuator"
)

// FieldManager is the server-side apply field manager of every write.
const FieldManager = "prescale"

// Event reasons.
const (
	ReasonFloorChanged = "PrescaleFloorChanged"
	ReasonRestored     = "PrescaleRestored"
)

// Desired is the plan for one HPA.
type Desired struct {
	Mode    actuator.Mode
	Reasons []string
	// Target is the policy target the HPA belongs to.
	Target          string
	Namespace, Name string
	Want
}

func (d Desired) ref() actuator.Ref {
	return actuator.Ref{Kind: "hpa", Name: d.Namespace + "/" + d.Name, Target: d.Target}
}

// Actuator manages HPAs through a Kubernetes clientset.
type Actuator struct {
	Client   kubernetes.Interface
	Recorder actuator.Recorder
	// Manager is written to AnnotationManagedBy on every HPA changed
	// ("prescale" when empty): the daemon sets its Lease name, which
	// differs per shard.
	Manager string
	// Logger receives what is not a Change (an Event that could not be
	// written). Nil means slog.Default.
	Logger *slog.Logger

	// beforeWrite runs between the read and the write: tests use it to
	// make a concurrent edit land exactly there.
	beforeWrite func()

	mu   sync.Mutex
	uids map[string]types.UID // last UID seen per namespace/name
}

// New returns an Actuator.
func New(client kubernetes.Interface, rec actuator.Recorder) *Actuator {
	return &Actuator{Client: client, Recorder: rec}
}

func (a *Actuator) manager() string {
	if a.Manager == "" {
		return "prescale"
	}
	return a.Manager
}

// Managed lists, across all namespaces, the HPAs this Manager changed and
// has not restored (they carry its AnnotationManagedBy and the owner's
// values). HPAs changed by another manager, or by a prescale from before
// the annotation, are left out: what cannot be attributed is never
// restored.
func (a *Actuator) Managed(ctx context.Context) ([]types.NamespacedName, error) {
	list, err := a.Client.AutoscalingV2().HorizontalPodAutoscalers("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list hpas: %w", err)
	}
	var out []types.NamespacedName
	for _, h := range list.Items {
		if _, ok := h.Annotations[AnnotationOwnerMin]; ok && h.Annotations[AnnotationManagedBy] == a.manager() {
			out = append(out, types.NamespacedName{Namespace: h.Namespace, Name: h.Name})
		}
	}
	return out, nil
}

func (a *Actuator) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// Apply brings the HPA to the desired values: level-triggered, so call it
// every tick; an HPA already right costs one read.
func (a *Actuator) Apply(ctx context.Context, d Desired) (actuator.Change, error) {
	var written *autoscalingv2.HorizontalPodAutoscaler
	ch, err := actuator.Run(ctx, a.Recorder, d.Mode, d.ref(), d.Reasons, actuator.ObserveAgainOnConflict(d.Mode, func(ctx context.Context) (actuator.Observation, error) {
		return a.observe(ctx, d, &written)
	}))
	if ch.Status == actuator.Applied && written != nil {
		a.event(ctx, written, ReasonFloorChanged, ch)
	}
	return ch, err
}

// observe reads the HPA and decides. The returned Write applies the
// decision and stores the object written in *written.
func (a *Actuator) observe(ctx context.Context, d Desired, written **autoscalingv2.HorizontalPodAutoscaler) (actuator.Observation, error) {
	hpas := a.Client.AutoscalingV2().HorizontalPodAutoscalers(d.Namespace)
	h, err := hpas.Get(ctx, d.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return actuator.Observation{Status: actuator.Missing,
			Notes: []string{fmt.Sprintf("hpa %s/%s not found: nothing to do until it exists", d.Namespace, d.Name)}}, nil
	}
	if err != nil {
		return actuator.Observation{}, fmt.Errorf("get hpa %s/%s: %w", d.Namespace, d.Name, err)
	}
	var notes []string
	if a.seen(h) {
		notes = append(notes, fmt.Sprintf("hpa %s/%s was recreated (new uid %s): the new object's values are the owner's", d.Namespace, d.Name, h.UID))
	}
	if so := kedaOwner(h); so != "" {
		// KEDA generated this HPA and writes it back from its ScaledObject:
		// a floor written here would be undone, and fight KEDA.
		return actuator.Observation{}, fmt.Errorf("hpa %s/%s is generated by KEDA ScaledObject %s: not written; name it as the target's hpa.scaledObject instead", d.Namespace, d.Name, so)
	}
	if h.Annotations[AnnotationPaused] == "true" {
		return actuator.Observation{Status: actuator.Paused,
			Notes: append(notes, fmt.Sprintf("annotation %s=true: no change", AnnotationPaused))}, nil
	}
	want := d.Want
	if want.Resource == "" {
		want.Resource = "cpu"
		if k, _, ok := strings.Cut(h.Annotations[AnnotationOwnerTarget], "="); ok {
			want.Resource = k
		}
	}
	live := readLive(h, want.Resource)
	dec := Decide(live, want)
	obs := actuator.Observation{Notes: append(notes, dec.Notes...)}

	fields := []actuator.FieldChange{}
	add := func(name string, from, to int) {
		if from != to {
			fields = append(fields, actuator.FieldChange{Field: name, From: strconv.Itoa(from), To: strconv.Itoa(to)})
		}
	}
	add("minReplicas", live.MinReplicas, dec.MinReplicas)
	add("maxReplicas", live.MaxReplicas, dec.MaxReplicas)
	if dec.Target > 0 {
		add(want.Resource+" target utilization", live.Target, dec.Target)
	}
	if len(fields) == 0 {
		return obs, nil
	}
	obs.Fields = fields
	obs.Write = func(ctx context.Context) error {
		if a.beforeWrite != nil {
			a.beforeWrite()
		}
		cfg, err := applyConfig(h, dec, want.Resource, a.manager())
		if err != nil {
			return fmt.Errorf("hpa %s/%s: %w", d.Namespace, d.Name, err)
		}
		out, err := hpas.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		if err != nil {
			return fmt.Errorf("apply hpa %s/%s: %w", d.Namespace, d.Name, err)
		}
		*written = out
		return nil
	}
	return obs, nil
}

// seen records the HPA's UID and reports whether it replaced a different
// one under the same name.
func (a *Actuator) seen(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.uids == nil {
		a.uids = map[string]types.UID{}
	}
	key := h.Namespace + "/" + h.Name
	old, ok := a.uids[key]
	a.uids[key] = h.UID
	return ok && old != h.UID
}

func readLive(h *autoscalingv2.HorizontalPodAutoscaler, resource string) Live {
	l := Live{MaxReplicas: int(h.Spec.MaxReplicas), MinReplicas: 1, Annotations: h.Annotations}
	if h.Spec.MinReplicas != nil {
		l.MinReplicas = int(*h.Spec.MinReplicas)
	}
	if i := resourceMetric(h.Spec.Metrics, resource); i >= 0 {
		if u := h.Spec.Metrics[i].Resource.Target.AverageUtilization; u != nil {
			l.Target = int(*u)
		}
	}
	return l
}

// resourceMetric is the index of the Resource metric with a utilisation
// target on the named resource, or -1.
func resourceMetric(ms []autoscalingv2.MetricSpec, resource string) int {
	for i, m := range ms {
		if m.Type == autoscalingv2.ResourceMetricSourceType && m.Resource != nil && string(m.Resource.Name) == resource &&
			m.Resource.Target.Type == autoscalingv2.UtilizationMetricType {
			return i
		}
	}
	return -1
}

// applyConfig is the server-side apply configuration of a decision: the
// fields prescale owns and nothing else. The UID and resourceVersion make
// the apply a compare-and-swap against the object that was read.
func applyConfig(h *autoscalingv2.HorizontalPodAutoscaler, dec Decision, resource, manager string) (*acautoscalingv2.HorizontalPodAutoscalerApplyConfiguration, error) {
	ann := map[string]string{
		AnnotationOwnerMin:  strconv.Itoa(dec.Owner.MinReplicas),
		AnnotationOwnerMax:  strconv.Itoa(dec.Owner.MaxReplicas),
		AnnotationApplied:   formatApplied(dec),
		AnnotationManagedBy: manager,
	}
	// The owner's target is remembered only once prescale changes it.
	if dec.Owner.Target > 0 && (dec.Target > 0 || h.Annotations[AnnotationOwnerTarget] != "") {
		ann[AnnotationOwnerTarget] = fmt.Sprintf("%s=%d", resource, dec.Owner.Target)
	}
	spec := acautoscalingv2.HorizontalPodAutoscalerSpec().
		WithMinReplicas(int32(dec.MinReplicas)).
		WithMaxReplicas(int32(dec.MaxReplicas))
	// The metric list is atomic: once prescale has applied it, every later
	// apply must carry it, or server-side apply deletes it.
	if dec.Target > 0 || ownsMetrics(h) {
		ms, err := metricsWithTarget(h.Spec.Metrics, resource, dec.Target)
		if err != nil {
			return nil, err
		}
		spec.WithMetrics(ms...)
	}
	return acautoscalingv2.HorizontalPodAutoscaler(h.Name, h.Namespace).
		WithUID(h.UID).
		WithResourceVersion(h.ResourceVersion).
		WithAnnotations(ann).
		WithSpec(spec), nil
}

// ownsMetrics reports whether prescale's apply owns spec.metrics.
func ownsMetrics(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	for _, mf := range h.ManagedFields {
		if mf.Manager == FieldManager && mf.Operation == metav1.ManagedFieldsOperationApply && mf.FieldsV1 != nil &&
			strings.Contains(string(mf.FieldsV1.Raw), `"f:metrics"`) {
			return true
		}
	}
	return false
}

// metricsWithTarget is the HPA's metric list with one resource target
// changed (target 0: unchanged). The list is atomic for server-side apply,
// so all of it is sent.
func metricsWithTarget(ms []autoscalingv2.MetricSpec, resource string, target int) ([]*acautoscalingv2.MetricSpecApplyConfiguration, error) {
	i := resourceMetric(ms, resource)
	out := make([]*acautoscalingv2.MetricSpecApplyConfiguration, 0, len(ms))
	for j, m := range ms {
		m = *m.DeepCopy()
		if j == i && target > 0 {
			u := int32(target)
			m.Resource.Target.AverageUtilization = &u
		}
		// Apply configurations share the API types' JSON form.
		b, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("metric %d: %w", j, err)
		}
		var c acautoscalingv2.MetricSpecApplyConfiguration
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("metric %d: %w", j, err)
		}
		out = append(out, &c)
	}
	return out, nil
}

// event writes a Kubernetes Event on the HPA. Failing to write one is
// logged, not returned: the change itself succeeded.
func (a *Actuator) event(ctx context.Context, h *autoscalingv2.HorizontalPodAutoscaler, reason string, ch actuator.Change) {
	obj := corev1.ObjectReference{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler",
		Namespace: h.Namespace, Name: h.Name, UID: h.UID, ResourceVersion: h.ResourceVersion}
	if err := kubeevent.Record(ctx, a.Client, obj, reason, ch); err != nil {
		a.log().Warn("event not written", "hpa", h.Namespace+"/"+h.Name, "reason", reason, "err", err)
	}
}

// Restore puts the owner's values back on an HPA prescale changed (its
// minReplicas, maxReplicas and target utilisation, remembered in the
// annotations) and removes prescale's annotations. It is what happens when
// a target leaves the policy, its mode becomes observe, or a person runs
// `prescale restore`. An HPA prescale never changed is left alone
// (InSync), and a paused one too. In Shadow or DryRun mode it only
// records what it would do.
func (a *Actuator) Restore(ctx context.Context, mode actuator.Mode, target, namespace, name string, reasons []string) (actuator.Change, error) {
	ref := actuator.Ref{Kind: "hpa", Name: namespace + "/" + name, Target: target}
	var written *autoscalingv2.HorizontalPodAutoscaler
	ch, err := actuator.Run(ctx, a.Recorder, mode, ref, reasons, actuator.ObserveAgainOnConflict(mode, func(ctx context.Context) (actuator.Observation, error) {
		return a.observeRestore(ctx, namespace, name, &written)
	}))
	if ch.Status == actuator.Applied && written != nil {
		a.event(ctx, written, ReasonRestored, ch)
	}
	return ch, err
}

func (a *Actuator) observeRestore(ctx context.Context, namespace, name string, written **autoscalingv2.HorizontalPodAutoscaler) (actuator.Observation, error) {
	hpas := a.Client.AutoscalingV2().HorizontalPodAutoscalers(namespace)
	h, err := hpas.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return actuator.Observation{Status: actuator.Missing, Notes: []string{fmt.Sprintf("hpa %s/%s not found: nothing to restore", namespace, name)}}, nil
	}
	if err != nil {
		return actuator.Observation{}, fmt.Errorf("get hpa %s/%s: %w", namespace, name, err)
	}
	if _, ok := h.Annotations[AnnotationOwnerMin]; !ok {
		return actuator.Observation{Notes: []string{"not changed by prescale: nothing to restore"}}, nil
	}
	if h.Annotations[AnnotationPaused] == "true" {
		return actuator.Observation{Status: actuator.Paused,
			Notes: []string{fmt.Sprintf("annotation %s=true: not restored; remove the annotation first", AnnotationPaused)}}, nil
	}
	resource := "cpu"
	if k, _, ok := strings.Cut(h.Annotations[AnnotationOwnerTarget], "="); ok {
		resource = k
	}
	live := readLive(h, resource)
	owner, notes := ownerValues(live, resource)
	obs := actuator.Observation{Notes: append(notes, "restoring the owner's values")}
	for _, f := range []struct {
		name     string
		from, to int
	}{{"minReplicas", live.MinReplicas, owner.MinReplicas}, {"maxReplicas", live.MaxReplicas, owner.MaxReplicas}, {resource + " target utilization", live.Target, owner.Target}} {
		if f.from != f.to && f.to > 0 {
			obs.Fields = append(obs.Fields, actuator.FieldChange{Field: f.name, From: strconv.Itoa(f.from), To: strconv.Itoa(f.to)})
		}
	}
	// Even with the values already the owner's, the annotations go.
	obs.Fields = append(obs.Fields, actuator.FieldChange{Field: "annotations", From: "prescale.io/*", To: "removed"})
	obs.Write = func(ctx context.Context) error {
		spec := acautoscalingv2.HorizontalPodAutoscalerSpec().
			WithMinReplicas(int32(owner.MinReplicas)).
			WithMaxReplicas(int32(owner.MaxReplicas))
		if (owner.Target > 0 && live.Target > 0) || ownsMetrics(h) {
			ms, err := metricsWithTarget(h.Spec.Metrics, resource, owner.Target)
			if err != nil {
				return fmt.Errorf("hpa %s/%s: %w", namespace, name, err)
			}
			spec.WithMetrics(ms...)
		}
		// prescale's annotations are absent from this configuration, so
		// server-side apply removes them (prescale is their only manager).
		cfg := acautoscalingv2.HorizontalPodAutoscaler(name, namespace).
			WithUID(h.UID).WithResourceVersion(h.ResourceVersion).WithSpec(spec)
		out, err := hpas.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		if err != nil {
			return fmt.Errorf("apply hpa %s/%s: %w", namespace, name, err)
		}
		// An annotation someone edited by hand is theirs for server-side
		// apply and stays: it is removed explicitly, or prescale would
		// keep finding the HPA "changed by prescale".
		if patch, ok := RecordPatch(out.Annotations, RecordAnnotations, out.ResourceVersion); ok {
			if out, err = hpas.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: FieldManager}); err != nil {
				return fmt.Errorf("remove prescale's annotations from hpa %s/%s: %w", namespace, name, err)
			}
		}
		*written = out
		return nil
	}
	return obs, nil
}

// RecordAnnotations are the annotations in which prescale records the
// owner's values and its own writes; restore removes them all (not
// AnnotationPaused, which is a person's).
var RecordAnnotations = []string{AnnotationOwnerMin, AnnotationOwnerMax, AnnotationOwnerTarget, AnnotationApplied, AnnotationManagedBy}

// RecordPatch is a JSON merge patch that deletes those of keys still in
// annotations, guarded by resourceVersion; false when none is left.
func RecordPatch(annotations map[string]string, keys []string, resourceVersion string) ([]byte, bool) {
	del := map[string]any{}
	for _, k := range keys {
		if _, ok := annotations[k]; ok {
			del[k] = nil
		}
	}
	if len(del) == 0 {
		return nil, false
	}
	b, err := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": resourceVersion, "annotations": del}})
	return b, err == nil
}

// RestoreAll restores every HPA prescale changed in the namespace ("" for
// all namespaces), returning one Change per HPA it found annotated.
func (a *Actuator) RestoreAll(ctx context.Context, mode actuator.Mode, namespace string, reasons []string) ([]actuator.Change, error) {
	list, err := a.Client.AutoscalingV2().HorizontalPodAutoscalers(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list hpas in %q: %w", namespace, err)
	}
	var out []actuator.Change
	var errs []error
	for _, h := range list.Items {
		if _, ok := h.Annotations[AnnotationOwnerMin]; !ok {
			continue
		}
		ch, err := a.Restore(ctx, mode, "", h.Namespace, h.Name, reasons)
		out = append(out, ch)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// Status is what Read finds on an HPA.
type Status struct {
	Found  bool
	Paused bool
	// MinReplicas, MaxReplicas and TargetCPU (percent, 0 when the HPA has
	// no CPU utilisation metric) are the live values.
	MinReplicas, MaxReplicas, TargetCPU int
	// Replicas is the scale target's current replica count.
	Replicas int
	// Owner is the owner's values (from the annotations, or the live
	// values before prescale's first change).
	Owner Owner
}

// Read returns an HPA's live and owner's values; Found is false when it
// does not exist.
func (a *Actuator) Read(ctx context.Context, namespace, name string) (Status, error) {
	h, err := a.Client.AutoscalingV2().HorizontalPodAutoscalers(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Status{}, nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("get hpa %s/%s: %w", namespace, name, err)
	}
	live := readLive(h, "cpu")
	owner, _ := ownerValues(live, "cpu")
	return Status{Found: true, Paused: h.Annotations[AnnotationPaused] == "true",
		MinReplicas: live.MinReplicas, MaxReplicas: live.MaxReplicas, TargetCPU: live.Target,
		Replicas: int(h.Status.CurrentReplicas), Owner: owner}, nil
}

// kedaOwner returns the name of the KEDA ScaledObject that owns the HPA,
// or "".
func kedaOwner(h *autoscalingv2.HorizontalPodAutoscaler) string {
	for _, o := range h.OwnerReferences {
		if o.Kind == "ScaledObject" && strings.HasPrefix(o.APIVersion, "keda.sh/") {
			return o.Name
		}
	}
	return ""
}
