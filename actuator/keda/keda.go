// Package keda sets the floors of workloads that KEDA scales: KEDA owns the
// HorizontalPodAutoscaler it generates for a ScaledObject (keda-hpa-NAME)
// and writes its minReplicas back from the ScaledObject, so prescale raises
// spec.minReplicaCount on the ScaledObject (keda.sh/v1alpha1) and, when a
// rule asks, spec.maxReplicaCount; it never writes KEDA's HPA.
//
// The rules are the HPA actuator's (hpa.Decide): writes are server-side
// apply as the field manager "prescale", carrying the object's UID and
// resourceVersion so that a concurrent edit is read again rather than
// overwritten; the owner's values are remembered in annotations before the
// first change and Restore puts them back (an unset minReplicaCount, KEDA's
// default 0, is unset again); the floor never goes below the owner's. KEDA's
// own pause annotations (autoscaling.keda.sh/paused-replicas,
// autoscaling.keda.sh/paused) and prescale.io/paused stop all changes.
package keda

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/hpa"
	"github.com/prescale/prescale/actuator/internal/kubeevent"
)

// ScaledObjects is the ScaledObject resource of KEDA v2.
var ScaledObjects = schema.GroupVersionResource{Group: "keda.sh", Version: "v1alpha1", Resource: "scaledobjects"}

// KEDA's pause annotations and defaults.
const (
	AnnotationPausedReplicas = "autoscaling.keda.sh/paused-replicas"
	AnnotationPaused         = "autoscaling.keda.sh/paused"
	// DefaultMinReplicaCount and DefaultMaxReplicaCount are KEDA's when
	// the fields are unset.
	DefaultMinReplicaCount = 0
	DefaultMaxReplicaCount = 100
	// AnnotationOwnerUnset lists the fields the owner left unset (KEDA's
	// defaults applied), comma-separated: Restore unsets them again.
	AnnotationOwnerUnset = "prescale.io/owner-unset"
)

// Event reasons.
const (
	ReasonFloorChanged = "PrescaleFloorChanged"
	ReasonRestored     = "PrescaleRestored"
	ReasonMissing      = "PrescaleScaledObjectMissing"
)

// Desired is the plan for one ScaledObject.
type Desired struct {
	Mode            actuator.Mode
	Reasons         []string
	Target          string
	Namespace, Name string
	// Want is the HPA actuator's: MinReplicas, and MaxReplicas with
	// RaiseMax; Keep* leave a field as it is. Target utilisation is not
	// a ScaledObject field and is ignored.
	hpa.Want
}

func (d Desired) ref() actuator.Ref {
	return actuator.Ref{Kind: "scaledobject", Name: d.Namespace + "/" + d.Name, Target: d.Target}
}

// Actuator manages ScaledObjects through the dynamic client.
type Actuator struct {
	Dynamic dynamic.Interface
	// Client, when set, records Kubernetes Events (on the ScaledObject,
	// or naming it when it does not exist).
	Client   kubernetes.Interface
	Recorder actuator.Recorder
	// Manager is written to hpa.AnnotationManagedBy ("prescale" when empty).
	Manager string
	Logger  *slog.Logger
}

func (a *Actuator) manager() string {
	if a.Manager == "" {
		return "prescale"
	}
	return a.Manager
}

func (a *Actuator) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// Status is what Read found on a ScaledObject.
type Status struct {
	Found                    bool
	MinReplicas, MaxReplicas int
	// Owner are the owner's values (from the annotations, or the live
	// ones before prescale's first change).
	Owner hpa.Owner
	// Paused says why changes are stopped ("" when they are not).
	Paused string
}

// live reads the fields prescale manages.
func live(obj *unstructured.Unstructured) (min, max int, minSet, maxSet bool) {
	min, max = DefaultMinReplicaCount, DefaultMaxReplicaCount
	if v, ok, _ := unstructured.NestedInt64(obj.Object, "spec", "minReplicaCount"); ok {
		min, minSet = int(v), true
	}
	if v, ok, _ := unstructured.NestedInt64(obj.Object, "spec", "maxReplicaCount"); ok {
		max, maxSet = int(v), true
	}
	return
}

// paused says why a ScaledObject must not be changed, or "".
func paused(obj *unstructured.Unstructured) string {
	an := obj.GetAnnotations()
	if v, ok := an[AnnotationPausedReplicas]; ok {
		return fmt.Sprintf("KEDA annotation %s=%q: KEDA holds the replicas there; no change", AnnotationPausedReplicas, v)
	}
	if strings.EqualFold(an[AnnotationPaused], "true") {
		return fmt.Sprintf("KEDA annotation %s=true: autoscaling paused; no change", AnnotationPaused)
	}
	if an[hpa.AnnotationPaused] == "true" {
		return fmt.Sprintf("annotation %s=true: no change", hpa.AnnotationPaused)
	}
	return ""
}

// Read returns the ScaledObject's state, for the engine's Current.
func (a *Actuator) Read(ctx context.Context, namespace, name string) (Status, error) {
	obj, err := a.Dynamic.Resource(ScaledObjects).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Status{}, nil
	}
	if err != nil {
		return Status{}, fmt.Errorf("get scaledobject %s/%s: %w", namespace, name, err)
	}
	min, max, _, _ := live(obj)
	d := hpa.Decide(hpa.Live{MinReplicas: min, MaxReplicas: max, Annotations: obj.GetAnnotations()}, hpa.Want{KeepMin: true, KeepMax: true, KeepTarget: true})
	return Status{Found: true, MinReplicas: min, MaxReplicas: max, Owner: d.Owner, Paused: paused(obj)}, nil
}

// Apply brings the ScaledObject to the desired floor (and ceiling):
// level-triggered, so call it every tick.
func (a *Actuator) Apply(ctx context.Context, d Desired) (actuator.Change, error) {
	var written *unstructured.Unstructured
	var missing bool
	ch, err := actuator.Run(ctx, a.Recorder, d.Mode, d.ref(), d.Reasons, actuator.ObserveAgainOnConflict(d.Mode, func(ctx context.Context) (actuator.Observation, error) {
		obs, w, m, err := a.observe(ctx, d)
		missing = m
		if w != nil {
			inner := w
			obs.Write = func(ctx context.Context) error {
				out, err := inner(ctx)
				written = out
				return err
			}
		}
		return obs, err
	}))
	switch {
	case ch.Status == actuator.Applied && written != nil:
		a.event(ctx, d.Namespace, d.Name, written.GetUID(), corev1.EventTypeNormal, ReasonFloorChanged, ch)
	case missing:
		a.event(ctx, d.Namespace, d.Name, "", corev1.EventTypeWarning, ReasonMissing, ch)
	}
	return ch, err
}

type writeFunc func(ctx context.Context) (*unstructured.Unstructured, error)

func (a *Actuator) observe(ctx context.Context, d Desired) (actuator.Observation, writeFunc, bool, error) {
	res := a.Dynamic.Resource(ScaledObjects).Namespace(d.Namespace)
	obj, err := res.Get(ctx, d.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return actuator.Observation{Status: actuator.Missing, Notes: []string{fmt.Sprintf(
			"scaledobject %s/%s not found: nothing applied until it exists (a target naming a KEDA ScaledObject never falls back to an HPA)", d.Namespace, d.Name)}}, nil, true, nil
	}
	if err != nil {
		return actuator.Observation{}, nil, false, fmt.Errorf("get scaledobject %s/%s: %w", d.Namespace, d.Name, err)
	}
	if why := paused(obj); why != "" {
		return actuator.Observation{Status: actuator.Paused, Notes: []string{why}}, nil, false, nil
	}
	min, max, minSet, maxSet := live(obj)
	want := d.Want
	want.Target, want.KeepTarget = 0, true
	dec := hpa.Decide(hpa.Live{MinReplicas: min, MaxReplicas: max, Annotations: obj.GetAnnotations()}, want)
	obs := actuator.Observation{Notes: dec.Notes}
	var fields []actuator.FieldChange
	if dec.MinReplicas != min {
		fields = append(fields, actuator.FieldChange{Field: "minReplicaCount", From: strconv.Itoa(min), To: strconv.Itoa(dec.MinReplicas)})
	}
	if dec.MaxReplicas != max {
		fields = append(fields, actuator.FieldChange{Field: "maxReplicaCount", From: strconv.Itoa(max), To: strconv.Itoa(dec.MaxReplicas)})
	}
	if len(fields) == 0 {
		return obs, nil, false, nil
	}
	obs.Fields = fields
	an := obj.GetAnnotations()
	unset := an[AnnotationOwnerUnset]
	if an[hpa.AnnotationOwnerMin] == "" || an[hpa.AnnotationOwnerMax] == "" {
		// First change: remember which fields the owner left to KEDA.
		var u []string
		if !minSet {
			u = append(u, "minReplicaCount")
		}
		if !maxSet {
			u = append(u, "maxReplicaCount")
		}
		unset = strings.Join(u, ",")
	} else {
		// A field someone set since is theirs, no longer unset.
		if dec.Owner.MinReplicas != atoiOr(an[hpa.AnnotationOwnerMin], -1) {
			unset = without(unset, "minReplicaCount")
		}
		if dec.Owner.MaxReplicas != atoiOr(an[hpa.AnnotationOwnerMax], -1) {
			unset = without(unset, "maxReplicaCount")
		}
	}
	ownerMin, ownerMax := strconv.Itoa(dec.Owner.MinReplicas), strconv.Itoa(dec.Owner.MaxReplicas)
	w := func(ctx context.Context) (*unstructured.Unstructured, error) {
		cfg := applyConfig(obj, map[string]string{
			hpa.AnnotationOwnerMin:  ownerMin,
			hpa.AnnotationOwnerMax:  ownerMax,
			hpa.AnnotationApplied:   fmt.Sprintf("min=%d,max=%d", dec.MinReplicas, dec.MaxReplicas),
			hpa.AnnotationManagedBy: a.manager(),
			AnnotationOwnerUnset:    unset,
		}, map[string]any{"minReplicaCount": int64(dec.MinReplicas), "maxReplicaCount": int64(dec.MaxReplicas)})
		out, err := res.Apply(ctx, d.Name, cfg, metav1.ApplyOptions{FieldManager: hpa.FieldManager, Force: true})
		if err != nil {
			return nil, fmt.Errorf("apply scaledobject %s/%s: %w", d.Namespace, d.Name, err)
		}
		return out, nil
	}
	return obs, w, false, nil
}

// applyConfig is the apply configuration of prescale's fields: the
// annotations and the spec fields given (a field left out is released and,
// if no other manager owns it, unset), pinned to the object read by UID and
// resourceVersion.
func applyConfig(obj *unstructured.Unstructured, annotations map[string]string, spec map[string]any) *unstructured.Unstructured {
	an := map[string]any{}
	for k, v := range annotations {
		an[k] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": ScaledObjects.GroupVersion().String(),
		"kind":       "ScaledObject",
		"metadata": map[string]any{
			"name": obj.GetName(), "namespace": obj.GetNamespace(),
			"uid": string(obj.GetUID()), "resourceVersion": obj.GetResourceVersion(),
			"annotations": an,
		},
		"spec": spec,
	}}
}

// Restore puts the owner's minReplicaCount and maxReplicaCount back (or
// unsets them when the owner had left them to KEDA's defaults) and drops
// prescale's annotations: the ScaledObject is the owner's again.
func (a *Actuator) Restore(ctx context.Context, mode actuator.Mode, target, namespace, name string, reasons []string) (actuator.Change, error) {
	ref := actuator.Ref{Kind: "scaledobject", Name: namespace + "/" + name, Target: target}
	res := a.Dynamic.Resource(ScaledObjects).Namespace(namespace)
	var written *unstructured.Unstructured
	ch, err := actuator.Run(ctx, a.Recorder, mode, ref, reasons, actuator.ObserveAgainOnConflict(mode, func(ctx context.Context) (actuator.Observation, error) {
		obj, err := res.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return actuator.Observation{Status: actuator.Missing, Notes: []string{"scaledobject gone: nothing to restore"}}, nil
		}
		if err != nil {
			return actuator.Observation{}, fmt.Errorf("get scaledobject %s/%s: %w", namespace, name, err)
		}
		an := obj.GetAnnotations()
		_, okMin := an[hpa.AnnotationOwnerMin]
		_, okMax := an[hpa.AnnotationOwnerMax]
		if !okMin || !okMax {
			return actuator.Observation{Status: actuator.InSync, Notes: []string{"no owner's values recorded: prescale never changed it"}}, nil
		}
		min, max, _, _ := live(obj)
		dec := hpa.Decide(hpa.Live{MinReplicas: min, MaxReplicas: max, Annotations: an}, hpa.Want{KeepTarget: true})
		spec := map[string]any{}
		fields := []actuator.FieldChange{}
		unset := strings.Split(an[AnnotationOwnerUnset], ",")
		for _, f := range []struct {
			name      string
			live, own int
		}{{"minReplicaCount", min, dec.Owner.MinReplicas}, {"maxReplicaCount", max, dec.Owner.MaxReplicas}} {
			to := strconv.Itoa(f.own)
			if slices.Contains(unset, f.name) {
				to = "unset (KEDA's default)"
			} else {
				spec[f.name] = int64(f.own)
			}
			if f.live != f.own || spec[f.name] == nil {
				fields = append(fields, actuator.FieldChange{Field: f.name, From: strconv.Itoa(f.live), To: to})
			}
		}
		fields = append(fields, actuator.FieldChange{Field: "annotations", From: "prescale's", To: "removed"})
		obs := actuator.Observation{Fields: fields, Notes: dec.Notes}
		obs.Write = func(ctx context.Context) error {
			// Owning no annotation any more releases (removes) them.
			out, err := res.Apply(ctx, name, applyConfig(obj, nil, spec), metav1.ApplyOptions{FieldManager: hpa.FieldManager, Force: true})
			if err != nil {
				return fmt.Errorf("apply scaledobject %s/%s: %w", namespace, name, err)
			}
			// One someone edited by hand is theirs and stays: removed
			// explicitly.
			if patch, ok := hpa.RecordPatch(out.GetAnnotations(), append([]string{AnnotationOwnerUnset}, hpa.RecordAnnotations...), out.GetResourceVersion()); ok {
				if out, err = res.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: hpa.FieldManager}); err != nil {
					return fmt.Errorf("remove prescale's annotations from scaledobject %s/%s: %w", namespace, name, err)
				}
			}
			written = out
			return nil
		}
		return obs, nil
	}))
	if ch.Status == actuator.Applied && written != nil {
		a.event(ctx, namespace, name, written.GetUID(), corev1.EventTypeNormal, ReasonRestored, ch)
	}
	return ch, err
}

func without(list, item string) string {
	var out []string
	for _, x := range strings.Split(list, ",") {
		if x != "" && x != item {
			out = append(out, x)
		}
	}
	return strings.Join(out, ",")
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

func (a *Actuator) event(ctx context.Context, namespace, name string, uid types.UID, typ, reason string, ch actuator.Change) {
	if a.Client == nil {
		return
	}
	ref := corev1.ObjectReference{APIVersion: ScaledObjects.GroupVersion().String(), Kind: "ScaledObject",
		Namespace: namespace, Name: name, UID: uid}
	if err := kubeevent.RecordType(ctx, a.Client, ref, typ, reason, ch); err != nil {
		a.log().Warn("event not recorded", "scaledobject", namespace+"/"+name, "reason", reason, "err", err)
	}
}
