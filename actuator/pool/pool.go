// Package pool writes a target's database connection pool size per pod to
// the ConfigMap key its application reads, ahead of the scale-up the size
// is planned for. It changes only that key, by server-side apply as
// "prescale"; it never touches a Deployment (an env var change would
// restart every pod at the peak). The application must re-read the key
// (a mounted ConfigMap is refreshed by the kubelet within about a minute).
package pool

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	accorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/prescale/prescale/actuator"
)

// FieldManager is the server-side apply field manager of every write.
const FieldManager = "prescale"

// Desired is the pool size one target's pods should use.
type Desired struct {
	Mode    actuator.Mode
	Reasons []string
	Target  string
	// Namespace, ConfigMap and Key locate the size.
	Namespace, ConfigMap, Key string
	Size                      int
}

func (d Desired) ref() actuator.Ref {
	return actuator.Ref{Kind: "connectionPool", Name: d.Namespace + "/" + d.ConfigMap + ":" + d.Key, Target: d.Target}
}

// Actuator writes pool sizes through a Kubernetes clientset.
type Actuator struct {
	Client   kubernetes.Interface
	Recorder actuator.Recorder
}

// Read returns the size in the ConfigMap key, and whether there is one.
func (a *Actuator) Read(ctx context.Context, namespace, configMap, key string) (int, bool, error) {
	cm, err := a.Client.CoreV1().ConfigMaps(namespace).Get(ctx, configMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("get configmap %s/%s: %w", namespace, configMap, err)
	}
	v, ok := cm.Data[key]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return 0, false, fmt.Errorf("configmap %s/%s key %s: %q is not a pool size", namespace, configMap, key, v)
	}
	return n, true, nil
}

// Apply writes the size to the key when it differs: level-triggered.
func (a *Actuator) Apply(ctx context.Context, d Desired) (actuator.Change, error) {
	return actuator.Run(ctx, a.Recorder, d.Mode, d.ref(), d.Reasons, actuator.ObserveAgainOnConflict(d.Mode, func(ctx context.Context) (actuator.Observation, error) {
		if d.Size < 1 {
			return actuator.Observation{}, fmt.Errorf("pool size %d: below 1, not written", d.Size)
		}
		cms := a.Client.CoreV1().ConfigMaps(d.Namespace)
		cm, err := cms.Get(ctx, d.ConfigMap, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return actuator.Observation{Status: actuator.Missing, Notes: []string{fmt.Sprintf(
				"configmap %s/%s not found: the application does not read its pool size from it; nothing written", d.Namespace, d.ConfigMap)}}, nil
		}
		if err != nil {
			return actuator.Observation{}, fmt.Errorf("get configmap %s/%s: %w", d.Namespace, d.ConfigMap, err)
		}
		from, want := cm.Data[d.Key], strconv.Itoa(d.Size)
		if from == want {
			return actuator.Observation{}, nil
		}
		if from == "" {
			from = "(unset)"
		}
		obs := actuator.Observation{Fields: []actuator.FieldChange{{Field: d.Key, From: from, To: want}}}
		obs.Write = func(ctx context.Context) error {
			cfg := accorev1.ConfigMap(d.ConfigMap, d.Namespace).WithUID(cm.UID).WithResourceVersion(cm.ResourceVersion).
				WithData(map[string]string{d.Key: want})
			if _, err := cms.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
				return fmt.Errorf("apply configmap %s/%s: %w", d.Namespace, d.ConfigMap, err)
			}
			return nil
		}
		return obs, nil
	}))
}
