package pool

// Against a real kube-apiserver (kubetest); never skipped.

import (
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/internal/kubetest"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(m, "actuator/pool", nil)) }

// The ticketing runbook: 16 pods × 20 connections > 160, so the pool per
// pod goes to 10, written to the key the application reads; the other keys
// and their owner stay.
func TestPoolSizeWrittenToConfigMapKey(t *testing.T) {
	ctx := context.Background()
	ns := kubetest.Namespace(t)
	cms := kubetest.Client.CoreV1().ConfigMaps(ns)
	if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "api-db-pool"},
		Data: map[string]string{"DB_POOL_SIZE": "20", "DB_HOST": "tickets-postgres"}}, metav1.CreateOptions{FieldManager: "kubectl-create"}); err != nil {
		t.Fatal(err)
	}
	a := &Actuator{Client: kubetest.Client, Recorder: &actuator.Journal{}}
	if n, ok, err := a.Read(ctx, ns, "api-db-pool", "DB_POOL_SIZE"); n != 20 || !ok || err != nil {
		t.Fatalf("read: %d %v %v", n, ok, err)
	}
	d := Desired{Mode: actuator.Active, Target: "tickets-api", Namespace: ns, ConfigMap: "api-db-pool", Key: "DB_POOL_SIZE", Size: 10,
		Reasons: []string{"rule connection-budget: 16 pods × 20 connections = 320 > 160: pool 10 per pod"}}
	ch, err := a.Apply(ctx, d)
	if err != nil || ch.Status != actuator.Applied || ch.Fields[0].From != "20" || ch.Fields[0].To != "10" {
		t.Fatalf("apply: %v %+v", err, ch)
	}
	cm, _ := cms.Get(ctx, "api-db-pool", metav1.GetOptions{})
	if cm.Data["DB_POOL_SIZE"] != "10" || cm.Data["DB_HOST"] != "tickets-postgres" {
		t.Errorf("data %v", cm.Data)
	}
	for _, m := range cm.ManagedFields {
		if m.Manager == FieldManager && (strings.Contains(string(m.FieldsV1.Raw), "DB_HOST") || !strings.Contains(string(m.FieldsV1.Raw), "DB_POOL_SIZE")) {
			t.Errorf("prescale must own DB_POOL_SIZE only: %s", m.FieldsV1.Raw)
		}
	}
	// Level-triggered: again is in sync.
	if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.InSync {
		t.Errorf("second apply: %v %+v", err, ch)
	}
	// Garbage is never written.
	d.Size = 0
	if ch, err := a.Apply(ctx, d); err == nil || ch.Status != actuator.Failed {
		t.Errorf("size 0 written: %+v", ch)
	}
	if cm, _ := cms.Get(ctx, "api-db-pool", metav1.GetOptions{}); cm.Data["DB_POOL_SIZE"] != "10" {
		t.Errorf("after a refused size: %v", cm.Data)
	}
	// No ConfigMap: nothing created, the change says why.
	d.ConfigMap, d.Size = "absent", 10
	if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.Missing {
		t.Errorf("missing configmap: %v %+v", err, ch)
	}
}
