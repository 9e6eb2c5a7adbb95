package headroom

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/internal/kubetest"
)

var bufferGVR = schema.GroupVersionResource{Group: BufferGroup, Version: "v1beta1", Resource: BufferResource}

// guard watches what a client sends. At every write of a Deployment's
// scale it reads, with an unwatched client, the Deployment and the
// CapacityBuffer of the same name as they are just before the write, and
// records a violation when the write, accepted, removed more pods than the
// buffer held units. With handBack set it checks the other direction
// instead: at every write of a CapacityBuffer, a violation is a write,
// accepted, that removed more units than the Deployment ran pods. It
// counts every write other than an Event, and lists every request.
type guard struct {
	mu           sync.Mutex
	requests     []string
	writes       []string
	scaleWrites  int
	bufferWrites int
	violations   []string
	handBack     bool
	// beforeScale and beforeBuffer, when set, run before each scale or
	// buffer write is sent.
	beforeScale, beforeBuffer func()
}

// clients returns an Actuator's two clients, sending through g.
func (g *guard) clients() (kubernetes.Interface, dynamic.Interface) {
	cfg := rest.CopyConfig(kubetest.Config)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { return guardTransport{g: g, next: rt} })
	return kubernetes.NewForConfigOrDie(cfg), dynamic.NewForConfigOrDie(cfg)
}

type guardTransport struct {
	g    *guard
	next http.RoundTripper
}

func (t guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.g.mu.Lock()
	t.g.requests = append(t.g.requests, req.Method+" "+req.URL.Path)
	if req.Method != http.MethodGet && !strings.Contains(req.URL.Path, "/events") {
		t.g.writes = append(t.g.writes, req.Method+" "+req.URL.Path)
	}
	t.g.mu.Unlock()
	scale := req.Method == http.MethodPut && strings.Contains(req.URL.Path, "/deployments/") && strings.HasSuffix(req.URL.Path, "/scale")
	buffer := req.Method == http.MethodPatch && strings.Contains(req.URL.Path, "/"+BufferResource+"/")
	if !scale && !buffer {
		return t.next.RoundTrip(req)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body.Close()
	req.Body = io.NopCloser(bytes.NewReader(body))
	var violation string
	switch {
	case scale:
		if t.g.beforeScale != nil {
			t.g.beforeScale()
		}
		if !t.g.handBack {
			violation = t.g.check(body)
		}
	case buffer:
		if t.g.beforeBuffer != nil {
			t.g.beforeBuffer()
		}
		if t.g.handBack {
			violation = t.g.checkBuffer(req.URL.Path, body)
		}
	}
	resp, err := t.next.RoundTrip(req)
	t.g.mu.Lock()
	if scale {
		t.g.scaleWrites++
	} else {
		t.g.bufferWrites++
	}
	if err == nil && resp.StatusCode < 300 && violation != "" {
		t.g.violations = append(t.g.violations, violation)
	}
	t.g.mu.Unlock()
	return resp, err
}

// check compares a scale write with the live Deployment and buffer; ""
// when the buffer covers the pods it removes.
func (g *guard) check(body []byte) string {
	var s autoscalingv1.Scale
	if _, _, err := scheme.Codecs.UniversalDeserializer().Decode(body, nil, &s); err != nil {
		return fmt.Sprintf("scale write not readable: %v", err)
	}
	ctx := context.Background()
	dep, err := kubetest.Client.AppsV1().Deployments(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("read deployment %s/%s: %v", s.Namespace, s.Name, err)
	}
	units := int64(0)
	b, err := dynamic.NewForConfigOrDie(kubetest.Config).Resource(bufferGVR).Namespace(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Sprintf("read buffer %s/%s: %v", s.Namespace, s.Name, err)
	default:
		units, _, _ = unstructured.NestedInt64(b.Object, "spec", "replicas")
	}
	if removed := int64(*dep.Spec.Replicas - s.Spec.Replicas); removed > units {
		return fmt.Sprintf("scale %d → %d removed %d pods while the buffer held %d units", *dep.Spec.Replicas, s.Spec.Replicas, removed, units)
	}
	return ""
}

// handOverFixture is a placeholder Deployment in a fresh namespace with a
// replica count set by someone, and read-back helpers.
type handOverFixture struct {
	t               *testing.T
	namespace, name string
}

func (f handOverFixture) deploymentReplicas() int32 {
	f.t.Helper()
	d, err := kubetest.Client.AppsV1().Deployments(f.namespace).Get(context.Background(), f.name, metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return *d.Spec.Replicas
}

// bufferReplicas is -1 when there is no buffer.
func (f handOverFixture) bufferReplicas() int64 {
	f.t.Helper()
	b, err := dynamic.NewForConfigOrDie(kubetest.Config).Resource(bufferGVR).Namespace(f.namespace).Get(context.Background(), f.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return -1
	}
	if err != nil {
		f.t.Fatal(err)
	}
	r, _, _ := unstructured.NestedInt64(b.Object, "spec", "replicas")
	return r
}

// Ways the placeholder's replica count gets set before the switch.

// byPrescale scales it the way prescale does in deployment mode.
func byPrescale(pods int) func(handOverFixture) {
	return func(f handOverFixture) {
		f.t.Helper()
		a := &Actuator{Client: kubetest.Client}
		ch, err := a.Apply(context.Background(), Desired{Mode: actuator.Active, Strategy: Deployment, Namespace: f.namespace, Name: f.name, Replicas: pods})
		if err != nil || ch.Status != actuator.Applied {
			f.t.Fatalf("scale the placeholder in deployment mode: %v %v", ch.Status, err)
		}
	}
}

// byScale scales it through the scale subresource as manager (kubectl
// scale, another autoscaler).
func byScale(manager string, pods int32) func(handOverFixture) {
	return func(f handOverFixture) {
		f.t.Helper()
		deps := kubetest.Client.AppsV1().Deployments(f.namespace)
		s, err := deps.GetScale(context.Background(), f.name, metav1.GetOptions{})
		if err != nil {
			f.t.Fatal(err)
		}
		s.Spec.Replicas = pods
		if _, err := deps.UpdateScale(context.Background(), f.name, s, metav1.UpdateOptions{FieldManager: manager}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// byApply server-side applies spec.replicas as manager (a GitOps tool).
func byApply(manager string, pods int32) func(handOverFixture) {
	return func(f handOverFixture) {
		f.t.Helper()
		patch := fmt.Sprintf(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":%q},"spec":{"replicas":%d}}`, f.name, pods)
		if _, err := kubetest.Client.AppsV1().Deployments(f.namespace).Patch(context.Background(), f.name, types.ApplyPatchType, []byte(patch),
			metav1.PatchOptions{FieldManager: manager}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// withBuffer creates the CapacityBuffer beforehand, with spec as given.
func withBuffer(spec map[string]any) func(handOverFixture) {
	return func(f handOverFixture) {
		f.t.Helper()
		obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": bufferGVR.GroupVersion().String(), "kind": BufferKind,
			"metadata": map[string]any{"name": f.name, "namespace": f.namespace}, "spec": spec}}
		if _, err := dynamic.NewForConfigOrDie(kubetest.Config).Resource(bufferGVR).Namespace(f.namespace).Create(context.Background(), obj, metav1.CreateOptions{}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// TestHandOver switches a node group with running placeholder pods to a
// CapacityBuffer. Pods whose count prescale alone set are handed over: the
// buffer gets at least as many units, written before the Deployment is
// scaled to 0 (the guard checks the order at the write), in the same Change
// and with an Event on the Deployment; a second tick has nothing left to
// hand over. Pods someone else scaled, or co-owns, or a buffer of another
// shape, are left running with the warning. Shadow and dry-run write
// nothing and say what active would do.
func TestHandOver(t *testing.T) {
	installBufferCRD(t)
	const handedOver = "handed over to the CapacityBuffer"
	scaleDown := func(from string) actuator.FieldChange {
		return actuator.FieldChange{Field: "placeholder deployment replicas", From: from, To: "0"}
	}
	buffer := func(from, to string) actuator.FieldChange {
		return actuator.FieldChange{Field: "capacitybuffer replicas", From: from, To: to}
	}
	tests := []struct {
		name  string
		setup []func(handOverFixture)
		mode  actuator.Mode
		plan  int
		// After Apply.
		wantStatus     actuator.Status
		wantFields     []actuator.FieldChange
		wantReason     string
		wantDeployment int32
		wantBuffer     int64 // -1: none
		// After a second Apply (a tick later, active cases only).
		wantNextBuffer int64
	}{
		{name: "plan above pods", setup: []func(handOverFixture){byPrescale(3)}, mode: actuator.Active, plan: 5,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{buffer("absent", "5"), scaleDown("3")}, wantReason: handedOver,
			wantDeployment: 0, wantBuffer: 5, wantNextBuffer: 5},
		{name: "plan equals pods", setup: []func(handOverFixture){byPrescale(3)}, mode: actuator.Active, plan: 3,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{buffer("absent", "3"), scaleDown("3")}, wantReason: handedOver,
			wantDeployment: 0, wantBuffer: 3, wantNextBuffer: 3},
		// The buffer inherits the pods' room, then comes down one unit
		// per tick (MaxStepDown 0 is one unit; no period here).
		{name: "plan below pods", setup: []func(handOverFixture){byPrescale(3)}, mode: actuator.Active, plan: 1,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{buffer("absent", "3"), scaleDown("3")},
			wantReason: "keeps the 3 units the pods held, above the planned 1", wantDeployment: 0, wantBuffer: 3, wantNextBuffer: 2},
		{name: "buffer below pods",
			setup: []func(handOverFixture){byPrescale(3), withBuffer(map[string]any{"replicas": int64(1),
				"scalableRef": map[string]any{"apiGroup": "apps", "kind": "Deployment", "name": "prescale-placeholder"}})},
			mode: actuator.Active, plan: 1,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{buffer("1", "3"), scaleDown("3")}, wantReason: handedOver,
			wantDeployment: 0, wantBuffer: 3, wantNextBuffer: 2},
		{name: "buffer already holds pods", setup: []func(handOverFixture){byPrescale(2), withBuffer(map[string]any{"replicas": int64(4),
			"scalableRef": map[string]any{"apiGroup": "apps", "kind": "Deployment", "name": "prescale-placeholder"}})},
			mode: actuator.Active, plan: 4,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{scaleDown("2")}, wantReason: handedOver,
			wantDeployment: 0, wantBuffer: 4, wantNextBuffer: 4},
		{name: "scaled by kubectl", setup: []func(handOverFixture){byScale("kubectl", 3)}, mode: actuator.Active, plan: 2,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{buffer("absent", "2")},
			wantReason:     "also runs 3 pods, reserving room on top of the CapacityBuffer; scale it to 0 (not handed over: its replicas are managed by kubectl, not prescale alone)",
			wantDeployment: 3, wantBuffer: 2, wantNextBuffer: 2},
		{name: "taken over by kubectl", setup: []func(handOverFixture){byPrescale(3), byScale("kubectl", 4)}, mode: actuator.Active, plan: 2,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{buffer("absent", "2")},
			wantReason: "managed by kubectl, not prescale alone", wantDeployment: 4, wantBuffer: 2, wantNextBuffer: 2},
		{name: "shared with gitops", setup: []func(handOverFixture){byPrescale(3), byApply("argocd-controller", 3)}, mode: actuator.Active, plan: 2,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{buffer("absent", "2")},
			wantReason: "managed by argocd-controller, prescale, not prescale alone", wantDeployment: 3, wantBuffer: 2, wantNextBuffer: 2},
		{name: "buffer of another shape",
			setup: []func(handOverFixture){byPrescale(3), withBuffer(map[string]any{"replicas": int64(1), "podTemplateRef": map[string]any{"name": "big-nodes"}})},
			mode:  actuator.Active, plan: 2,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{buffer("1", "2")},
			wantReason: "not handed over: the buffer's units take their shape from its podTemplateRef", wantDeployment: 3, wantBuffer: 2, wantNextBuffer: 2},
		{name: "shadow", setup: []func(handOverFixture){byPrescale(3)}, mode: actuator.Shadow, plan: 1,
			wantStatus: actuator.WouldApply, wantFields: []actuator.FieldChange{buffer("absent", "3"), scaleDown("3")},
			wantReason: "shadow: computed, not written", wantDeployment: 3, wantBuffer: -1},
		{name: "dry-run", setup: []func(handOverFixture){byPrescale(3)}, mode: actuator.DryRun, plan: 5,
			wantStatus: actuator.WouldApply, wantFields: []actuator.FieldChange{buffer("absent", "5"), scaleDown("3")},
			wantReason: "dry-run: computed, not written", wantDeployment: 3, wantBuffer: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			g := &guard{}
			r := firstHandApply(t, g, tt.setup, Desired{Mode: tt.mode, Strategy: CapacityBuffer, Replicas: tt.plan},
				handWant{tt.wantStatus, tt.wantFields, tt.wantReason, tt.wantDeployment, tt.wantBuffer})
			f, a, d, ch, ns, name := r.f, r.a, r.d, r.ch, r.f.namespace, r.f.name
			handing := tt.mode.Writes() && tt.wantDeployment == 0
			wantScaleWrites, wantEvents := 0, 0
			if handing {
				wantScaleWrites, wantEvents = 1, 1
			}
			if g.scaleWrites != wantScaleWrites || len(g.violations) > 0 {
				t.Errorf("%d scale writes, want %d; the buffer must cover every pod removed: %q", g.scaleWrites, wantScaleWrites, g.violations)
			}
			var told []string
			for _, e := range events(t, ns, "Deployment", name) {
				if strings.Contains(e.Message, "placeholder deployment replicas") {
					told = append(told, e.Message)
				}
			}
			if last := tt.wantFields[len(tt.wantFields)-1]; len(told) != wantEvents ||
				handing && !strings.Contains(told[0], fmt.Sprintf("%s %s → %s; plan: nodes", last.Field, last.From, last.To)) {
				t.Errorf("hand-over events on the deployment %q, want %d telling %v", told, wantEvents, last)
			}
			if !tt.mode.Writes() {
				if len(g.writes) > 0 {
					t.Errorf("%s wrote: %q", tt.mode, g.writes)
				}
				return
			}

			ch, err := a.Apply(ctx, d)
			if err != nil {
				t.Fatalf("second Apply: %v", err)
			}
			if got := f.deploymentReplicas(); got != tt.wantDeployment {
				t.Errorf("second tick: deployment replicas %d, want %d", got, tt.wantDeployment)
			}
			if got := f.bufferReplicas(); got != tt.wantNextBuffer {
				t.Errorf("second tick: buffer replicas %d, want %d (%v %q)", got, tt.wantNextBuffer, ch.Status, ch.Reasons)
			}
			if g.scaleWrites != wantScaleWrites {
				t.Errorf("second tick scaled the deployment again: %d scale writes", g.scaleWrites)
			}
		})
	}
}

// TestHandOverRace: the placeholder gains pods between the read and the
// scale-down. The write, conditional on the Deployment read, is refused;
// the decision is made again on the new count, the buffer is raised to it
// first, and only then are the pods removed.
func TestHandOverRace(t *testing.T) {
	ctx := context.Background()
	installBufferCRD(t)
	ns, name := placeholderIn(t)
	f := handOverFixture{t: t, namespace: ns, name: name}
	byPrescale(3)(f)

	g := &guard{}
	raced := false
	g.beforeScale = func() {
		if !raced {
			raced = true
			(&Actuator{Client: kubetest.Client}).Apply(ctx, Desired{Mode: actuator.Active, Strategy: Deployment, Namespace: ns, Name: name, Replicas: 6})
		}
	}
	client, dyn := g.clients()
	a := &Actuator{Client: client, Dynamic: dyn}
	ch, err := a.Apply(ctx, Desired{Mode: actuator.Active, Strategy: CapacityBuffer, Namespace: ns, Name: name, Replicas: 2})
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply: %v %v %q", ch.Status, err, ch.Reasons)
	}
	if !raced {
		t.Fatal("the race was not staged: no scale write")
	}
	if got := f.deploymentReplicas(); got != 0 {
		t.Errorf("deployment replicas %d, want 0", got)
	}
	if got := f.bufferReplicas(); got != 6 {
		t.Errorf("buffer replicas %d, want the 6 units of the pods it replaced", got)
	}
	if g.scaleWrites != 2 || len(g.violations) > 0 {
		t.Errorf("%d scale writes (want the refused one and the one after the new decision); violations %q", g.scaleWrites, g.violations)
	}
}

// handWant is what a hand-over or hand-back case expects of its first
// Apply.
type handWant struct {
	status     actuator.Status
	fields     []actuator.FieldChange
	reason     string
	deployment int32
	buffer     int64 // -1: none
}

// handRun is a case's first Apply and what it ran on.
type handRun struct {
	f  handOverFixture
	a  *Actuator
	d  Desired
	ch actuator.Change
}

// firstHandApply makes a fresh placeholder, runs setup on it, applies d
// (in its namespace, with a plan reason) through an Actuator behind g that
// records into a journal, and checks what both directions promise of the
// first Apply: its status, its moves, its reason, one journal entry, and
// the pods and units left.
func firstHandApply(t *testing.T, g *guard, setup []func(handOverFixture), d Desired, want handWant) handRun {
	t.Helper()
	ns, name := placeholderIn(t)
	f := handOverFixture{t: t, namespace: ns, name: name}
	for _, s := range setup {
		s(f)
	}
	client, dyn := g.clients()
	var j actuator.Journal
	a := &Actuator{Client: client, Dynamic: dyn, Recorder: &j}
	d.Target, d.Namespace, d.Name, d.Reasons = "tickets", ns, name, []string{"plan: nodes"}
	ch, err := a.Apply(context.Background(), d)
	if err != nil || ch.Status != want.status {
		t.Fatalf("Apply: %v %v %q, want %v", ch.Status, err, ch.Reasons, want.status)
	}
	if fmt.Sprint(ch.Fields) != fmt.Sprint(want.fields) {
		t.Errorf("fields %v, want %v", ch.Fields, want.fields)
	}
	if reasons := strings.Join(ch.Reasons, "; "); !strings.Contains(reasons, want.reason) {
		t.Errorf("reasons %q lack %q", reasons, want.reason)
	}
	if got := j.Changes(); len(got) != 1 || fmt.Sprint(got[0].Fields) != fmt.Sprint(ch.Fields) {
		t.Errorf("journal %+v, want the one change", got)
	}
	if got := f.deploymentReplicas(); got != want.deployment {
		t.Errorf("deployment replicas %d, want %d", got, want.deployment)
	}
	if got := f.bufferReplicas(); got != want.buffer {
		t.Errorf("buffer replicas %d, want %d", got, want.buffer)
	}
	return handRun{f: f, a: a, d: d, ch: ch}
}

// asPrescale is an Actuator that impersonates prescale's ServiceAccount,
// bound to deploy/rbac as shipped.
func asPrescale(t *testing.T) *Actuator {
	as := kubetest.AsPrescale(t, kubetest.Config)
	return &Actuator{Client: kubernetes.NewForConfigOrDie(as), Dynamic: dynamic.NewForConfigOrDie(as)}
}

// applyOnceAuthorized applies d until it is applied: the authorizer's
// cache may lag a new binding a moment.
func applyOnceAuthorized(t *testing.T, a *Actuator, d Desired) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ch, err := a.Apply(context.Background(), d)
		if err == nil && ch.Status == actuator.Applied {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("apply %s %d as the service account: %v %v", d.Strategy, d.Replicas, ch.Status, err)
		}
	}
}

// TestHandOverRBAC hands the placeholder over as the ServiceAccount bound
// only to deploy/rbac's ClusterRole: the scale subresource update it
// already has for deployment mode is all the hand-over needs.
func TestHandOverRBAC(t *testing.T) {
	ctx := context.Background()
	installBufferCRD(t)
	ns, name := placeholderIn(t)
	f := handOverFixture{t: t, namespace: ns, name: name}
	a := asPrescale(t)
	applyOnceAuthorized(t, a, Desired{Mode: actuator.Active, Strategy: Deployment, Namespace: ns, Name: name, Replicas: 2})
	ch, err := a.Apply(ctx, Desired{Mode: actuator.Active, Strategy: CapacityBuffer, Namespace: ns, Name: name, Replicas: 2})
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("hand over as the service account: %v %v", ch.Status, err)
	}
	if got, buf := f.deploymentReplicas(), f.bufferReplicas(); got != 0 || buf != 2 {
		t.Errorf("deployment replicas %d, buffer replicas %d; want 0 and 2", got, buf)
	}
}
