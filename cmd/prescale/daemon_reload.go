package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/prescale/prescale/config"
)

// reloadSourceFile is the source label of the policy files in the reload
// metrics (ScalingPolicy objects are crd.ReloadSource).
const reloadSourceFile = "file"

// fileReloads reports the outcome of each reload of the policy files: the
// log, the reload metrics (config.ReloadObserver), and a Warning Event on
// prescale's own Pod when a version is rejected, so that `kubectl describe
// pod` and `kubectl get events` show it beside the Pod that keeps running
// the last good version.
type fileReloads struct {
	obs    config.ReloadObserver
	kube   kubernetes.Interface // nil: no Events
	pod    corev1.ObjectReference
	now    func() time.Time
	logger *slog.Logger
	// policies counts the policies in force, for the log.
	policies func() int
}

// ownPod is the reference of the Pod prescale runs in, from the downward
// API (POD_NAMESPACE, POD_NAME, POD_UID); ok is false outside a Pod.
func ownPod() (corev1.ObjectReference, bool) {
	ns, name := os.Getenv("POD_NAMESPACE"), os.Getenv("POD_NAME")
	if ns == "" || name == "" {
		return corev1.ObjectReference{}, false
	}
	return corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: ns, Name: name, UID: types.UID(os.Getenv("POD_UID"))}, true
}

// loaded records the first load, which NewStore made succeed.
func (f *fileReloads) loaded() {
	f.obs.PolicyAccepted(reloadSourceFile, f.now())
	f.obs.PolicyFailing(reloadSourceFile, false)
}

// report is config.Store.Watch's report.
func (f *fileReloads) report(ctx context.Context, changed bool, err error) {
	switch {
	case err != nil:
		f.obs.PolicyRejected(reloadSourceFile)
		f.obs.PolicyFailing(reloadSourceFile, true)
		f.logger.Error("policy reload rejected: the last good version stays in force", "err", err)
		f.event(ctx, err)
	case changed:
		f.obs.PolicyAccepted(reloadSourceFile, f.now())
		f.obs.PolicyFailing(reloadSourceFile, false)
		f.logger.Info("policy reloaded", "policies", f.policies())
	default:
		// Back to the version in force (a bad edit reverted).
		f.obs.PolicyAccepted(reloadSourceFile, f.now())
		f.obs.PolicyFailing(reloadSourceFile, false)
		f.logger.Info("policy files back to the version in force")
	}
}

// event records the rejection on prescale's Pod: the first problems and a
// count of the rest, within an Event's 1 KiB. A failure is logged only.
func (f *fileReloads) event(ctx context.Context, err error) {
	if f.kube == nil {
		return
	}
	var msg string
	var problems config.Problems
	if errors.As(err, &problems) {
		head, more := problems.Head(5)
		lines := make([]string, len(head))
		for i, p := range head {
			lines[i] = p.String()
		}
		msg = strings.Join(lines, "; ")
		if more > 0 {
			msg += fmt.Sprintf("; and %d more", more)
		}
	} else {
		msg = err.Error()
	}
	msg = "policy files rejected, the last good version stays in force: " + msg
	msg = truncateUTF8(msg, 1000)
	now := metav1.NewTime(f.now())
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{GenerateName: f.pod.Name + ".", Namespace: f.pod.Namespace},
		InvolvedObject: f.pod, Type: corev1.EventTypeWarning, Reason: "PolicyRejected", Message: msg,
		Source: corev1.EventSource{Component: "prescale"}, ReportingController: "prescale.io/prescale", ReportingInstance: f.pod.Name,
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := f.kube.CoreV1().Events(f.pod.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		f.logger.Warn("event not recorded", "reason", "PolicyRejected", "pod", f.pod.Namespace+"/"+f.pod.Name, "err", err)
	}
}

// truncateUTF8 cuts s to at most n bytes, on a rune boundary, ending in
// "..." when cut.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - 3
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
