// Package crd serves ScalingPolicy objects (prescale.io/v1alpha1) to the
// control loop beside the policy files: it watches them with a client-go
// informer, puts each generation through the same decoder and validation
// as a file (config.Parse), enforces tenancy, keeps the last good version
// of each in force when an edit is rejected, and writes their status
// (conditions Accepted, Ready, Promoted; per-target floors, next change,
// forecast scores) and Events (every applied change, every rejected edit).
//
// Tenancy: a namespaced policy manages HPAs in its own namespace only, so
// that a RoleBinding to edit ScalingPolicies in a namespace is all the
// self-service a team needs; cluster-level resources (node groups,
// databases, caches) come only from policies in prescale's own namespace
// (or from files).
package crd

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/yaml"

	"github.com/prescale/prescale/api/v1alpha1"
	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/controller"
)

// Source is the set of ScalingPolicies in force. Safe for concurrent use.
type Source struct {
	dyn  dynamic.Interface
	kube kubernetes.Interface
	// own is prescale's own namespace: only its policies may name
	// cluster-level resources.
	own string
	log *slog.Logger
	now func() time.Time
	// reloads is told each generation accepted or rejected (never nil).
	reloads config.ReloadObserver

	synced func() bool

	// wmu serializes status writes, each computed and written under it,
	// so that an older status never overwrites a newer one.
	wmu sync.Mutex
	mu  sync.Mutex
	// entries by namespace/name.
	entries map[string]*entry
	// byPolicy finds an entry from the policy the loop reports on.
	byPolicy map[*config.Policy]*entry
}

// entry is one ScalingPolicy object.
type entry struct {
	namespace, name string
	uid             types.UID
	generation      int64 // the last generation judged
	accepted        int64 // the generation in force
	// policy is the last good version (nil: none yet).
	policy *config.Policy
	// problems of the last generation judged ("" when it was accepted).
	problems []string
	// verdicts are the targets' last verdicts as the object's status
	// holds them (whoever wrote it), by target name, for the loop's
	// Config.Verdicts (Source.Verdict).
	verdicts map[string]controller.Verdict
	// status written last, to write only changes; at a new generation,
	// the status the object holds (a previous process's, at start).
	status    v1alpha1.ScalingPolicyStatus
	written   string
	lastWrite time.Time
}

// Options configure a Source.
type Options struct {
	// Namespace is prescale's own namespace (POD_NAMESPACE).
	Namespace string
	// WatchNamespace limits the watch to one namespace ("" watches all).
	WatchNamespace string
	Logger         *slog.Logger
	// Now is the clock of condition times (time.Now by default).
	Now func() time.Time
	// Reloads is told of each generation accepted or rejected, and
	// whether any ScalingPolicy's newest generation is rejected now
	// (source "scalingpolicy"): the metrics exporter. Optional.
	Reloads config.ReloadObserver
}

// ReloadSource is the source label of ScalingPolicy objects in the
// ReloadObserver (the files' is "file").
const ReloadSource = "scalingpolicy"

type noReloads struct{}

func (noReloads) PolicyAccepted(string, time.Time) {}
func (noReloads) PolicyRejected(string)            {}
func (noReloads) PolicyFailing(string, bool)       {}

// New returns a Source; Start starts its watch.
func New(dyn dynamic.Interface, kube kubernetes.Interface, o Options) *Source {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Reloads == nil {
		o.Reloads = noReloads{}
	}
	return &Source{dyn: dyn, kube: kube, own: o.Namespace, log: o.Logger, now: o.Now, reloads: o.Reloads,
		entries: map[string]*entry{}, byPolicy: map[*config.Policy]*entry{}}
}

// Start watches ScalingPolicies until ctx ends, and returns once the
// informer's cache has synced (every existing policy judged), or with
// ctx's error.
func (s *Source) Start(ctx context.Context, watchNamespace string) error {
	// A missing CRD would leave the informer retrying for good: say so.
	if _, err := s.dyn.Resource(v1alpha1.Resource).Namespace(watchNamespace).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
		return fmt.Errorf("list scalingpolicies (is the CRD installed? kubectl apply -f deploy/crd/): %w", err)
	}
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(s.dyn, 10*time.Minute, watchNamespace, nil)
	inf := f.ForResource(v1alpha1.Resource).Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { s.admit(ctx, o) },
		UpdateFunc: func(_, o any) { s.admit(ctx, o) },
		DeleteFunc: func(o any) {
			if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			if u, ok := o.(*unstructured.Unstructured); ok {
				s.remove(u.GetNamespace(), u.GetName())
			}
		},
	})
	if err != nil {
		return fmt.Errorf("watch scalingpolicies: %w", err)
	}
	f.Start(ctx.Done())
	s.synced = inf.HasSynced
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		return fmt.Errorf("watch scalingpolicies: %w", ctx.Err())
	}
	return nil
}

// Policies returns the policies in force (the last good version of each
// ScalingPolicy), in namespace/name order. The pointers stay the same
// while a policy is unchanged.
func (s *Source) Policies() []*config.Policy {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := make([]string, 0, len(s.entries))
	for k, e := range s.entries {
		if e.policy != nil {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]*config.Policy, len(keys))
	for i, k := range keys {
		out[i] = s.entries[k].policy
	}
	return out
}

// Name is how problems and logs name a ScalingPolicy object.
func Name(namespace, name string) string { return "scalingpolicy/" + namespace + "/" + name }

// Parse decodes and validates a ScalingPolicy object through config.Parse,
// the decoder and validation of the policy files, and checks its tenancy:
// own is prescale's namespace. It returns the policy, or nil and the
// problems, each "FIELD: MESSAGE".
//
// An HPA without a namespace is in the policy's namespace.
func Parse(obj *unstructured.Unstructured, own string) (*config.Policy, []string) {
	ns, name := obj.GetNamespace(), obj.GetName()
	spec, _, _ := unstructured.NestedMap(obj.Object, "spec")
	if spec == nil {
		spec = map[string]any{}
	}
	spec = runtime.DeepCopyJSON(spec) // defaulting never writes into the informer's cache
	if ts, ok := spec["targets"].([]any); ok {
		for _, t := range ts {
			if tm, ok := t.(map[string]any); ok {
				if h, ok := tm["hpa"].(map[string]any); ok {
					if _, set := h["namespace"]; !set {
						h["namespace"] = ns
					}
				}
			}
		}
	}
	md := map[string]any{"name": name, "namespace": ns}
	if l := obj.GetLabels(); len(l) > 0 {
		md["labels"] = l
	}
	doc := map[string]any{"apiVersion": obj.GetAPIVersion(), "kind": obj.GetKind(), "metadata": md, "spec": spec}
	j, err := json.Marshal(doc)
	if err != nil {
		return nil, []string{fmt.Sprintf("spec: %v", err)}
	}
	y, err := yaml.JSONToYAML(j)
	if err != nil {
		return nil, []string{fmt.Sprintf("spec: %v", err)}
	}
	ps, err := config.Parse(y, Name(ns, name))
	var problems []string
	if pr, ok := err.(config.Problems); ok {
		for _, p := range pr {
			problems = append(problems, p.Field+": "+p.Message)
		}
	} else if err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) == 0 && len(ps) != 1 {
		problems = append(problems, fmt.Sprintf("spec: decoded %d policies, want 1", len(ps)))
	}
	if len(problems) > 0 {
		return nil, problems
	}
	p := ps[0]
	problems = append(problems, Tenancy(p, ns, own)...)
	if len(problems) > 0 {
		return nil, problems
	}
	return p, nil
}

// Tenancy returns the tenancy problems of a policy from a ScalingPolicy in
// namespace ns, prescale's own namespace being own.
func Tenancy(p *config.Policy, ns, own string) []string {
	var out []string
	for i, t := range p.Spec.Targets {
		if t.HPA.Namespace != ns {
			what := "HPA " + t.HPA.Namespace + "/" + t.HPA.Name
			if t.HPA.ScaledObject != "" {
				what = "ScaledObject " + t.HPA.Namespace + "/" + t.HPA.ScaledObject
			}
			out = append(out, fmt.Sprintf("spec.targets[%d].hpa.namespace: %s is outside the policy's namespace %s: a ScalingPolicy manages workloads in its own namespace only",
				i, what, ns))
		}
		// The pool size is written to a ConfigMap: in the policy's
		// namespace only, like the HPA.
		if c := t.ConnectionPool; c != nil && c.Namespace != "" && c.Namespace != ns {
			out = append(out, fmt.Sprintf("spec.targets[%d].connectionPool.namespace: ConfigMap %s/%s is outside the policy's namespace %s: a ScalingPolicy writes pool sizes in its own namespace only",
				i, c.Namespace, c.ConfigMap, ns))
		}
	}
	if ns != own {
		for _, c := range []struct {
			field string
			n     int
		}{{"spec.nodeGroups", len(p.Spec.NodeGroups)}, {"spec.databases", len(p.Spec.Databases)}, {"spec.caches", len(p.Spec.Caches)}} {
			if c.n > 0 {
				out = append(out, fmt.Sprintf("%s: cluster-level resources come only from ScalingPolicies in prescale's namespace %s (or from policy files), not from namespace %s", c.field, own, ns))
			}
		}
	}
	return out
}

// admit judges a new or updated object: a new generation is decoded and
// validated; accepted, it replaces the version in force, rejected, the last
// good version stays and the problems go to the status and an Event.
func (s *Source) admit(ctx context.Context, o any) {
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return
	}
	key := u.GetNamespace() + "/" + u.GetName()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	e := s.entries[key]
	if e != nil && e.uid != u.GetUID() {
		// Deleted and created again between two events: a new object.
		delete(s.byPolicy, e.policy)
		e = nil
	}
	if e == nil {
		e = &entry{namespace: u.GetNamespace(), name: u.GetName(), uid: u.GetUID()}
		s.entries[key] = e
	}
	cur, err := statusOf(u)
	if err != nil {
		s.log.Warn("status not read: verdicts are not carried over", "policy", key, "err", err)
	} else {
		e.verdicts = verdictsOf(cur)
	}
	if u.GetGeneration() == e.generation {
		s.mu.Unlock()
		return // a status update, or a resync: nothing new to judge
	}
	if err == nil {
		// Judged on top of the status as it is, not as this process last
		// wrote it (or, at start, as nothing): another process (the one
		// before a restart, the leader) may have written it since, and
		// its per-target floors and impact reports stay until the next
		// tick replaces them.
		e.status = cur
	}
	e.generation = u.GetGeneration()
	p, problems := Parse(u, s.own)
	e.problems = problems
	if p != nil {
		e.accepted = u.GetGeneration()
		delete(s.byPolicy, e.policy)
		e.policy = p
		s.byPolicy[p] = e
	}
	st := s.judged(e)
	failing := s.failing()
	s.mu.Unlock()

	if p != nil {
		s.reloads.PolicyAccepted(ReloadSource, s.now())
	} else {
		s.reloads.PolicyRejected(ReloadSource)
	}
	s.reloads.PolicyFailing(ReloadSource, failing)
	ref := objectRef(u)
	if p != nil {
		s.log.Info("scalingpolicy accepted", "policy", key, "generation", u.GetGeneration(), "targets", len(p.Spec.Targets))
		s.event(ctx, ref, corev1.EventTypeNormal, v1alpha1.ReasonAccepted,
			fmt.Sprintf("generation %d accepted: %d targets, mode %s", u.GetGeneration(), len(p.Spec.Targets), modeOf(p, nil)))
	} else {
		kept := "no version is in force"
		if e.policy != nil {
			kept = "the last good version stays in force"
		}
		s.log.Error("scalingpolicy rejected", "policy", key, "generation", u.GetGeneration(), "problems", strings.Join(problems, "; "), "kept", kept)
		s.event(ctx, ref, corev1.EventTypeWarning, v1alpha1.ReasonRejected,
			fmt.Sprintf("generation %d rejected (%s): %s", u.GetGeneration(), kept, strings.Join(problems, "; ")))
	}
	s.writeStatus(ctx, e, st)
}

// remove forgets a deleted object: its policy leaves the set in force, and
// the loop hands its HPAs back to their owners at the next tick.
func (s *Source) remove(namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := namespace + "/" + name
	if e := s.entries[key]; e != nil {
		delete(s.byPolicy, e.policy)
		delete(s.entries, key)
		s.log.Info("scalingpolicy deleted: its floors are handed back", "policy", key)
		s.reloads.PolicyFailing(ReloadSource, s.failing())
	}
}

// failing reports whether the newest generation of any ScalingPolicy is
// rejected. Called under s.mu.
func (s *Source) failing() bool {
	for _, e := range s.entries {
		if len(e.problems) > 0 {
			return true
		}
	}
	return false
}

// Known reports whether a policy came from a ScalingPolicy of this Source.
func (s *Source) Known(p *config.Policy) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byPolicy[p] != nil
}

func objectRef(u *unstructured.Unstructured) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.Kind,
		Namespace: u.GetNamespace(), Name: u.GetName(), UID: u.GetUID(), ResourceVersion: u.GetResourceVersion()}
}

func (e *entry) ref() corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: v1alpha1.GroupVersion.String(), Kind: v1alpha1.Kind,
		Namespace: e.namespace, Name: e.name, UID: e.uid}
}

// event records an Event on the ScalingPolicy. A failure is logged: Events
// are best effort, the status and the logs say the same.
func (s *Source) event(ctx context.Context, ref corev1.ObjectReference, typ, reason, msg string) {
	if s.kube == nil {
		return
	}
	if len(msg) > 1000 {
		msg = msg[:997] + "..."
	}
	now := metav1.NewTime(s.now())
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: ref.Name + ".", Namespace: ref.Namespace},
		InvolvedObject: ref, Type: typ, Reason: reason, Message: msg,
		Source: corev1.EventSource{Component: "prescale"}, ReportingController: "prescale.io/prescale", ReportingInstance: "prescale",
		FirstTimestamp: now, LastTimestamp: now, Count: 1, Action: reason,
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.kube.CoreV1().Events(ref.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		s.log.Warn("event not recorded", "policy", ref.Namespace+"/"+ref.Name, "reason", reason, "err", err)
	}
}
