package headroom

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/internal/kubetest"
)

// checkBuffer compares a CapacityBuffer write with the live buffer and
// Deployment of the same name; "" when the Deployment's pods cover the
// units it removes.
func (g *guard) checkBuffer(path string, body []byte) string {
	// .../namespaces/NS/capacitybuffers/NAME
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 4 || parts[len(parts)-4] != "namespaces" {
		return fmt.Sprintf("buffer write to %s: no namespace and name", path)
	}
	ns, name := parts[len(parts)-3], parts[len(parts)-1]
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil {
		return fmt.Sprintf("buffer write not readable: %v", err)
	}
	next, found, err := unstructured.NestedFieldNoCopy(obj, "spec", "replicas")
	if err != nil || !found {
		return "" // replicas not written
	}
	ctx := context.Background()
	units := int64(0)
	b, err := dynamic.NewForConfigOrDie(kubetest.Config).Resource(bufferGVR).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Sprintf("read buffer %s/%s: %v", ns, name, err)
	default:
		units, _, _ = unstructured.NestedInt64(b.Object, "spec", "replicas")
	}
	dep, err := kubetest.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Sprintf("read deployment %s/%s: %v", ns, name, err)
	}
	if removed := units - int64(next.(float64)); removed > int64(*dep.Spec.Replicas) {
		return fmt.Sprintf("buffer %d → %v removed %d units while the deployment ran %d pods", units, next, removed, *dep.Spec.Replicas)
	}
	return ""
}

// Ways the CapacityBuffer gets its units before the switch back.

// bufferByPrescale applies it the way prescale does in capacityBuffer
// mode (the Deployment at 0 pods: nothing to hand over).
func bufferByPrescale(units int) func(handOverFixture) {
	return func(f handOverFixture) {
		f.t.Helper()
		a := &Actuator{Client: kubetest.Client, Dynamic: dynamic.NewForConfigOrDie(kubetest.Config)}
		ch, err := a.Apply(context.Background(), Desired{Mode: actuator.Active, Strategy: CapacityBuffer, Namespace: f.namespace, Name: f.name, Replicas: units})
		if err != nil || ch.Status != actuator.Applied {
			f.t.Fatalf("apply the buffer in capacityBuffer mode: %v %v %q", ch.Status, err, ch.Reasons)
		}
	}
}

// bufferCreatedBy creates it as manager, with spec as given.
func bufferCreatedBy(manager string, spec map[string]any) func(handOverFixture) {
	return func(f handOverFixture) {
		f.t.Helper()
		obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": bufferGVR.GroupVersion().String(), "kind": BufferKind,
			"metadata": map[string]any{"name": f.name, "namespace": f.namespace}, "spec": spec}}
		if _, err := dynamic.NewForConfigOrDie(kubetest.Config).Resource(bufferGVR).Namespace(f.namespace).Create(context.Background(), obj,
			metav1.CreateOptions{FieldManager: manager}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// bufferEditedBy changes it as manager would with kubectl edit.
func bufferEditedBy(manager string, field []string, value any) func(handOverFixture) {
	return func(f handOverFixture) {
		f.t.Helper()
		buffers := dynamic.NewForConfigOrDie(kubetest.Config).Resource(bufferGVR).Namespace(f.namespace)
		b, err := buffers.Get(context.Background(), f.name, metav1.GetOptions{})
		if err != nil {
			f.t.Fatal(err)
		}
		if err := unstructured.SetNestedField(b.Object, value, field...); err != nil {
			f.t.Fatal(err)
		}
		if _, err := buffers.Update(context.Background(), b, metav1.UpdateOptions{FieldManager: manager}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// bufferAppliedBy server-side applies spec.replicas as manager (a GitOps
// tool whose manifest holds the count).
func bufferAppliedBy(manager string, units int64) func(handOverFixture) {
	return func(f handOverFixture) {
		f.t.Helper()
		obj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": bufferGVR.GroupVersion().String(), "kind": BufferKind,
			"metadata": map[string]any{"name": f.name, "namespace": f.namespace}, "spec": map[string]any{"replicas": units}}}
		if _, err := dynamic.NewForConfigOrDie(kubetest.Config).Resource(bufferGVR).Namespace(f.namespace).Apply(context.Background(), f.name, obj,
			metav1.ApplyOptions{FieldManager: manager}); err != nil {
			f.t.Fatal(err)
		}
	}
}

// bufferEvents are the Events on the buffer that tell of a hand-back.
func bufferEvents(t *testing.T, ns, name string) []string {
	t.Helper()
	var out []string
	for _, e := range events(t, ns, BufferKind, name) {
		if strings.Contains(e.Message, "handed back") {
			out = append(out, e.Message)
		}
	}
	return out
}

// TestHandBack switches a node group whose CapacityBuffer prescale applied
// back to the placeholder Deployment. Units prescale alone set are handed
// back: the Deployment is raised to at least as many pods, written before
// the buffer's replicas go to 0 (the guard checks the order at the write),
// in the same Change and with an Event on each object; a second tick has
// nothing left to hand back and the pods come down along the limits. A
// buffer someone else set, or co-owns, or of another shape, is left with
// the warning. Shadow and dry-run write nothing and say what active would
// do.
func TestHandBack(t *testing.T) {
	installBufferCRD(t)
	const handedBack = "handed back to the placeholder deployment, which runs at least"
	pods := func(from, to string) actuator.FieldChange {
		return actuator.FieldChange{Field: "replicas", From: from, To: to}
	}
	zero := func(from string) actuator.FieldChange {
		return actuator.FieldChange{Field: "capacitybuffer replicas", From: from, To: "0"}
	}
	placeholderRef := map[string]any{"apiGroup": "apps", "kind": "Deployment", "name": "prescale-placeholder"}
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
		wantNextDeployment int32
	}{
		// The pods inherit the buffer's room, then come down one pod per
		// tick (MaxStepDown 0 is one pod; no period here).
		{name: "buffer above plan", setup: []func(handOverFixture){bufferByPrescale(4)}, mode: actuator.Active, plan: 2,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{pods("0", "4"), zero("4")},
			wantReason:     "keeps the 4 pods' worth of room the buffer held, above the planned 2",
			wantDeployment: 4, wantBuffer: 0, wantNextDeployment: 3},
		{name: "plan above buffer", setup: []func(handOverFixture){bufferByPrescale(2)}, mode: actuator.Active, plan: 5,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{pods("0", "5"), zero("2")}, wantReason: handedBack,
			wantDeployment: 5, wantBuffer: 0, wantNextDeployment: 5},
		{name: "plan equals buffer", setup: []func(handOverFixture){bufferByPrescale(3)}, mode: actuator.Active, plan: 3,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{pods("0", "3"), zero("3")}, wantReason: handedBack,
			wantDeployment: 3, wantBuffer: 0, wantNextDeployment: 3},
		{name: "pods already hold the room", setup: []func(handOverFixture){bufferByPrescale(2), byScale(FieldManager, 4)}, mode: actuator.Active, plan: 4,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{zero("2")}, wantReason: handedBack,
			wantDeployment: 4, wantBuffer: 0, wantNextDeployment: 4},
		// Handed back earlier: a buffer of 0 units is left as it is.
		{name: "buffer at 0", setup: []func(handOverFixture){bufferByPrescale(0)}, mode: actuator.Active, plan: 2,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{pods("0", "2")},
			wantDeployment: 2, wantBuffer: 0, wantNextDeployment: 2},
		{name: "no buffer", mode: actuator.Active, plan: 2,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{pods("0", "2")},
			wantDeployment: 2, wantBuffer: -1, wantNextDeployment: 2},
		{name: "created by kubectl", setup: []func(handOverFixture){bufferCreatedBy("kubectl-create", map[string]any{"replicas": int64(3), "scalableRef": placeholderRef})},
			mode: actuator.Active, plan: 2,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{pods("0", "2")},
			wantReason:     "also holds 3 units, reserving room on top of the placeholder deployment; scale it to 0 or delete it (not handed back: its replicas are managed by kubectl-create, not prescale alone)",
			wantDeployment: 2, wantBuffer: 3, wantNextDeployment: 2},
		{name: "taken over by kubectl", setup: []func(handOverFixture){bufferByPrescale(2), bufferEditedBy("kubectl-edit", []string{"spec", "replicas"}, int64(5))},
			mode: actuator.Active, plan: 2,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{pods("0", "2")},
			wantReason: "managed by kubectl-edit, not prescale alone", wantDeployment: 2, wantBuffer: 5, wantNextDeployment: 2},
		{name: "shared with gitops", setup: []func(handOverFixture){bufferByPrescale(3), bufferAppliedBy("argocd-controller", 3)},
			mode: actuator.Active, plan: 2,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{pods("0", "2")},
			wantReason: "managed by argocd-controller, prescale, not prescale alone", wantDeployment: 2, wantBuffer: 3, wantNextDeployment: 2},
		// prescale set only replicas on a buffer whose unit is another
		// template's: its units say nothing about these pods.
		{name: "buffer of another shape",
			setup: []func(handOverFixture){bufferCreatedBy("kubectl-create", map[string]any{"podTemplateRef": map[string]any{"name": "big-nodes"}}), bufferByPrescale(2)},
			mode:  actuator.Active, plan: 1,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{pods("0", "1")},
			wantReason: "not handed back: its units take their shape from its podTemplateRef", wantDeployment: 1, wantBuffer: 2, wantNextDeployment: 1},
		{name: "buffer pointed elsewhere",
			setup: []func(handOverFixture){bufferByPrescale(2), bufferEditedBy("kubectl-edit", []string{"spec", "scalableRef", "name"}, "checkout")},
			mode:  actuator.Active, plan: 1,
			wantStatus: actuator.Applied, wantFields: []actuator.FieldChange{pods("0", "1")},
			wantReason: `not handed back: its units take their shape from Deployment "checkout"`, wantDeployment: 1, wantBuffer: 2, wantNextDeployment: 1},
		{name: "shadow", setup: []func(handOverFixture){bufferByPrescale(4)}, mode: actuator.Shadow, plan: 2,
			wantStatus: actuator.WouldApply, wantFields: []actuator.FieldChange{pods("0", "4"), zero("4")},
			wantReason: "shadow: computed, not written", wantDeployment: 0, wantBuffer: 4},
		{name: "dry-run", setup: []func(handOverFixture){bufferByPrescale(4)}, mode: actuator.DryRun, plan: 5,
			wantStatus: actuator.WouldApply, wantFields: []actuator.FieldChange{pods("0", "5"), zero("4")},
			wantReason: "dry-run: computed, not written", wantDeployment: 0, wantBuffer: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			g := &guard{handBack: true}
			r := firstHandApply(t, g, tt.setup, Desired{Mode: tt.mode, Strategy: Deployment, Replicas: tt.plan},
				handWant{tt.wantStatus, tt.wantFields, tt.wantReason, tt.wantDeployment, tt.wantBuffer})
			f, a, d, ch, ns, name := r.f, r.a, r.d, r.ch, r.f.namespace, r.f.name
			if reasons := strings.Join(ch.Reasons, "; "); tt.wantReason == "" && strings.Contains(reasons, "capacitybuffer") {
				t.Errorf("reasons %q speak of a buffer with nothing to hand back", reasons)
			}
			last := tt.wantFields[len(tt.wantFields)-1]
			handing := tt.mode.Writes() && last.Field == "capacitybuffer replicas"
			wantBufferWrites, wantEvents := 0, 0
			if handing {
				wantBufferWrites, wantEvents = 1, 1
			}
			if g.bufferWrites != wantBufferWrites || len(g.violations) > 0 {
				t.Errorf("%d buffer writes, want %d; the pods must cover every unit removed: %q", g.bufferWrites, wantBufferWrites, g.violations)
			}
			told := bufferEvents(t, ns, name)
			if len(told) != wantEvents || handing && !strings.Contains(told[0], fmt.Sprintf("%s %s → %s; plan: nodes", last.Field, last.From, last.To)) {
				t.Errorf("hand-back events on the buffer %q, want %d telling %v", told, wantEvents, last)
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
			if got := f.deploymentReplicas(); got != tt.wantNextDeployment {
				t.Errorf("second tick: deployment replicas %d, want %d (%v %q)", got, tt.wantNextDeployment, ch.Status, ch.Reasons)
			}
			if got := f.bufferReplicas(); got != tt.wantBuffer {
				t.Errorf("second tick: buffer replicas %d, want it left at %d", got, tt.wantBuffer)
			}
			if g.bufferWrites != wantBufferWrites {
				t.Errorf("second tick wrote the buffer again: %d buffer writes", g.bufferWrites)
			}
		})
	}
}

// TestHandBackEvents: the Deployment raised for a hand-back gets its Event
// too, and both Events name the two moves.
func TestHandBackEvents(t *testing.T) {
	ctx := context.Background()
	installBufferCRD(t)
	ns, name := placeholderIn(t)
	bufferByPrescale(3)(handOverFixture{t: t, namespace: ns, name: name})
	a := &Actuator{Client: kubetest.Client, Dynamic: dynamic.NewForConfigOrDie(kubetest.Config)}
	if ch, err := a.Apply(ctx, Desired{Mode: actuator.Active, Strategy: Deployment, Namespace: ns, Name: name, Replicas: 1, Reasons: []string{"plan: nodes"}}); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply: %v %v", ch.Status, err)
	}
	const moves = "replicas 0 → 3, capacitybuffer replicas 3 → 0; plan: nodes"
	b := bufferEvents(t, ns, name)
	var d []string
	for _, e := range events(t, ns, "Deployment", name) {
		d = append(d, e.Message)
	}
	if len(b) != 1 || !strings.Contains(b[0], moves) || len(d) != 1 || !strings.Contains(d[0], moves) {
		t.Errorf("events on the buffer %q and on the deployment %q, want one each telling %q", b, d, moves)
	}
}

// TestHandBackRace: the buffer gains units between the read and the write
// to 0. The write, conditional on the buffer read, is refused; the
// decision is made again on the new count, the pods are raised to it
// first, and only then is the buffer set to 0. The Change keeps both
// raises of the pods.
func TestHandBackRace(t *testing.T) {
	ctx := context.Background()
	installBufferCRD(t)
	ns, name := placeholderIn(t)
	f := handOverFixture{t: t, namespace: ns, name: name}
	bufferByPrescale(2)(f)

	g := &guard{handBack: true}
	raced := false
	g.beforeBuffer = func() {
		if !raced {
			raced = true
			// prescale's own apply, as a tick in capacityBuffer mode
			// makes it (another replica during a rollout).
			var w bufferWrites
			if err := (&Actuator{Dynamic: dynamic.NewForConfigOrDie(kubetest.Config)}).writeBuffer(ctx, Desired{Namespace: ns, Name: name}, bufferGVR, 6, "", false, &w); err != nil {
				t.Error(err)
			}
		}
	}
	client, dyn := g.clients()
	a := &Actuator{Client: client, Dynamic: dyn}
	ch, err := a.Apply(ctx, Desired{Mode: actuator.Active, Strategy: Deployment, Namespace: ns, Name: name, Replicas: 1})
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply: %v %v %q", ch.Status, err, ch.Reasons)
	}
	if !raced {
		t.Fatal("the race was not staged: no buffer write")
	}
	if got := f.deploymentReplicas(); got != 6 {
		t.Errorf("deployment replicas %d, want the 6 pods of the units it replaced", got)
	}
	if got := f.bufferReplicas(); got != 0 {
		t.Errorf("buffer replicas %d, want 0", got)
	}
	want := "[{replicas 0 2} {replicas 2 6} {capacitybuffer replicas 6 0}]"
	if fmt.Sprint(ch.Fields) != want {
		t.Errorf("fields %v, want %s", ch.Fields, want)
	}
	if g.bufferWrites != 2 || len(g.violations) > 0 {
		t.Errorf("%d buffer writes (want the refused one and the one after the new decision); violations %q", g.bufferWrites, g.violations)
	}
}

// TestHandBackGuard shows the guard can fail: setting the buffer to 0
// before the pods are raised is a violation, after is not.
func TestHandBackGuard(t *testing.T) {
	ctx := context.Background()
	installBufferCRD(t)
	for _, podsFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("pods first %v", podsFirst), func(t *testing.T) {
			ns, name := placeholderIn(t)
			f := handOverFixture{t: t, namespace: ns, name: name}
			bufferByPrescale(3)(f)
			g := &guard{handBack: true}
			client, dyn := g.clients()
			raise := func() {
				if _, err := (&Actuator{Client: client}).Apply(ctx, Desired{Mode: actuator.Active, Strategy: Deployment, Namespace: ns, Name: name, Replicas: 3}); err != nil {
					t.Fatal(err)
				}
			}
			if podsFirst {
				raise()
			}
			var w bufferWrites
			if err := (&Actuator{Dynamic: dyn}).writeBuffer(ctx, Desired{Namespace: ns, Name: name}, bufferGVR, 0, "", false, &w); err != nil {
				t.Fatal(err)
			}
			if !podsFirst {
				raise()
			}
			if got := len(g.violations); got != map[bool]int{false: 1, true: 0}[podsFirst] {
				t.Errorf("violations %q", g.violations)
			}
		})
	}
}

// TestHandBackNeedsTheAPI: where the CapacityBuffer API is not served, the
// Deployment path asks nothing about buffers (discovery aside).
func TestHandBackNeedsTheAPI(t *testing.T) {
	ctx := context.Background()
	ns, name := placeholderIn(t)
	g := &guard{}
	client, dyn := g.clients()
	a := &Actuator{Client: client, Dynamic: dyn}
	for _, s := range []Strategy{Deployment, Auto} {
		if ch, err := a.Apply(ctx, Desired{Mode: actuator.Active, Strategy: s, Namespace: ns, Name: name, Replicas: 2}); err != nil || ch.Status == actuator.Failed {
			t.Fatalf("%s: %v %v", s, ch.Status, err)
		}
	}
	for _, r := range g.requests {
		if strings.Contains(r, "/"+BufferResource) {
			t.Errorf("request for a buffer without the API: %s", r)
		}
	}
}

// TestHandBackRBAC hands a buffer back as the ServiceAccount bound only to
// deploy/rbac's ClusterRole: reading the buffer and setting its replicas
// by server-side apply (get and patch on the placeholder's name) is all
// the hand-back needs; no delete.
func TestHandBackRBAC(t *testing.T) {
	ctx := context.Background()
	installBufferCRD(t)
	ns, name := placeholderIn(t)
	f := handOverFixture{t: t, namespace: ns, name: name}
	a := asPrescale(t)
	applyOnceAuthorized(t, a, Desired{Mode: actuator.Active, Strategy: CapacityBuffer, Namespace: ns, Name: name, Replicas: 3})
	ch, err := a.Apply(ctx, Desired{Mode: actuator.Active, Strategy: Deployment, Namespace: ns, Name: name, Replicas: 1})
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("hand back as the service account: %v %v %q", ch.Status, err, ch.Reasons)
	}
	if got, buf := f.deploymentReplicas(), f.bufferReplicas(); got != 3 || buf != 0 {
		t.Errorf("deployment replicas %d, buffer replicas %d; want 3 and 0", got, buf)
	}
	if evs := bufferEvents(t, ns, name); len(evs) != 1 {
		t.Errorf("%d hand-back events written as the service account, want 1", len(evs))
	}
}

// TestHandBackForbidden: a role that may scale the placeholder but not
// read CapacityBuffers (a placeholder of another name, RBAC trimmed)
// still scales the pods as planned and says the buffer went unchecked.
func TestHandBackForbidden(t *testing.T) {
	ctx := context.Background()
	installBufferCRD(t)
	ns, name := placeholderIn(t)
	f := handOverFixture{t: t, namespace: ns, name: name}
	bufferByPrescale(2)(f)

	user := "placeholder-only-" + ns
	rules := []rbacv1.PolicyRule{
		{APIGroups: []string{"apps"}, Resources: []string{"deployments", "deployments/scale"}, Verbs: []string{"get", "update"}},
		{APIGroups: []string{"scheduling.k8s.io"}, Resources: []string{"priorityclasses"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}},
	}
	roles := kubetest.Client.RbacV1()
	if _, err := roles.Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "placeholder-only"}, Rules: rules}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := roles.RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "placeholder-only"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "placeholder-only"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	as := rest.CopyConfig(kubetest.Config)
	as.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	a := &Actuator{Client: kubernetes.NewForConfigOrDie(as), Dynamic: dynamic.NewForConfigOrDie(as)}
	var ch actuator.Change
	deadline := time.Now().Add(10 * time.Second)
	for {
		var err error
		ch, err = a.Apply(ctx, Desired{Mode: actuator.Active, Strategy: Deployment, Namespace: ns, Name: name, Replicas: 1})
		if err == nil && ch.Status == actuator.Applied {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("scale the placeholder without access to buffers: %v %v", ch.Status, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got, buf := f.deploymentReplicas(), f.bufferReplicas(); got != 1 || buf != 2 {
		t.Errorf("deployment replicas %d, buffer replicas %d; want the plan's 1 and the buffer untouched at 2", got, buf)
	}
	if reasons := strings.Join(ch.Reasons, "; "); !strings.Contains(reasons, "not checked for units left from placeholder mode capacityBuffer (forbidden") {
		t.Errorf("reasons %q do not say the buffer went unchecked", reasons)
	}
}
