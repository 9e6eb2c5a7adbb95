// Package kubeevent writes the Kubernetes Event that records an actuator
// Change on the object it changed, so `kubectl describe` shows what
// prescale did and why next to the object itself.
package kubeevent

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/prescale/prescale/actuator"
)

// Component is the Event source of every prescale Event.
const Component = "prescale"

// Record writes a Normal Event on obj with the change and all its reasons.
// The caller logs a failure rather than failing the change: the change
// itself was made.
func Record(ctx context.Context, client kubernetes.Interface, obj corev1.ObjectReference, reason string, ch actuator.Change) error {
	return RecordType(ctx, client, obj, corev1.EventTypeNormal, reason, ch)
}

// RecordType is Record with the Event's type (Normal or Warning): a
// Warning for what a person must fix, such as a missing object.
func RecordType(ctx context.Context, client kubernetes.Interface, obj corev1.ObjectReference, typ, reason string, ch actuator.Change) error {
	now := metav1.NewTime(time.Now())
	host, _ := os.Hostname()
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{GenerateName: obj.Name + ".prescale.", Namespace: obj.Namespace},
		InvolvedObject:      obj,
		Reason:              reason,
		Message:             Message(ch),
		Type:                typ,
		Source:              corev1.EventSource{Component: Component},
		ReportingController: "prescale.io/actuator",
		ReportingInstance:   host,
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
	}
	if _, err := client.CoreV1().Events(obj.Namespace).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("event %s on %s %s/%s: %w", reason, obj.Kind, obj.Namespace, obj.Name, err)
	}
	return nil
}

// Message is the change's field moves followed by every reason, cut to
// the 1 KiB an Event message may hold.
func Message(ch actuator.Change) string {
	msg := ch.Message()
	if len(ch.Reasons) > 1 {
		var fields []string
		for _, f := range ch.Fields {
			fields = append(fields, fmt.Sprintf("%s %s → %s", f.Field, f.From, f.To))
		}
		parts := ch.Reasons
		if len(fields) > 0 {
			parts = append([]string{strings.Join(fields, ", ")}, ch.Reasons...)
		}
		msg = strings.Join(parts, "; ")
	}
	if len(msg) > 1024 {
		msg = msg[:1021] + "..."
	}
	return msg
}
