package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/internal/kubetest"
	"github.com/prescale/prescale/metrics"
)

// TestReloadRejectedEvent: a rejected version of the policy files is a
// Warning Event PolicyRejected on prescale's Pod (on the real API server)
// with its first problems at FILE:LINE:COL and a count of the rest, within
// an Event's 1 KiB; the reload metrics count it and say it is failing; the
// files back to the version in force clear the failing gauge and stamp the
// success time.
func TestReloadRejectedEvent(t *testing.T) {
	k := kubetest.Start(t)
	ctx := context.Background()
	ns := "prescale-system"
	if _, err := k.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, loadErr := config.Load("../../testdata/policies/invalid.yaml")
	if loadErr == nil {
		t.Fatal("invalid.yaml loads")
	}
	exp := metrics.NewExporter("test", slog.New(slog.DiscardHandler))
	at := time.Date(2026, 12, 5, 6, 0, 0, 0, time.UTC)
	f := &fileReloads{obs: exp, kube: k.Client, now: func() time.Time { return at }, logger: slog.New(slog.DiscardHandler),
		pod:      corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: "prescale-abc", UID: types.UID("0b3c")},
		policies: func() int { return 1 }}
	f.loaded()
	f.report(ctx, false, loadErr)

	evs, err := k.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs.Items) != 1 {
		t.Fatalf("%d events, want 1: %+v", len(evs.Items), evs.Items)
	}
	ev := evs.Items[0]
	if ev.Type != corev1.EventTypeWarning || ev.Reason != "PolicyRejected" || ev.InvolvedObject.Name != "prescale-abc" || ev.InvolvedObject.UID != "0b3c" {
		t.Errorf("event %s %s on %+v", ev.Type, ev.Reason, ev.InvolvedObject)
	}
	if !strings.Contains(ev.Message, "invalid.yaml:") || !strings.Contains(ev.Message, "more") || len(ev.Message) > 1000 || !utf8.ValidString(ev.Message) {
		t.Errorf("message (%d bytes): %q; want the first problems at FILE:LINE:COL and a count, within 1 KiB", len(ev.Message), ev.Message)
	}
	if v := testutil.ToFloat64(exp.PolicyReloadFailures.WithLabelValues("file")); v != 1 {
		t.Errorf("reload failures %v, want 1", v)
	}
	if v := testutil.ToFloat64(exp.PolicyReloadOK.WithLabelValues("file")); v != 0 {
		t.Errorf("last reload successful %v while rejected, want 0", v)
	}
	at = at.Add(time.Minute)
	f.report(ctx, false, nil) // the bad edit reverted
	if v := testutil.ToFloat64(exp.PolicyReloadOK.WithLabelValues("file")); v != 1 {
		t.Errorf("last reload successful %v after the revert, want 1", v)
	}
	if v := testutil.ToFloat64(exp.PolicyReloadSuccess.WithLabelValues("file")); v != float64(at.Unix()) {
		t.Errorf("last success %v, want %d", v, at.Unix())
	}
}

func TestTruncateUTF8(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdefghij", 8, "abcde..."},
		{"ab±±±±", 8, "ab±..."}, // ± is 2 bytes: not cut in half
	} {
		if got := truncateUTF8(c.in, c.n); got != c.want || len(got) > c.n || !utf8.ValidString(got) {
			t.Errorf("truncateUTF8(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
