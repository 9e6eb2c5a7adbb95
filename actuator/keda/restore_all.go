package keda

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/hpa"
)

// RestoreAll restores every ScaledObject prescale changed (those carrying
// its owner annotations) in the namespace ("" for all namespaces): what
// `prescale restore --all` does for KEDA. A cluster without KEDA's CRD has
// nothing to restore (served is false, no error).
func (a *Actuator) RestoreAll(ctx context.Context, mode actuator.Mode, namespace string, reasons []string) (changes []actuator.Change, served bool, err error) {
	list, err := a.Dynamic.Resource(ScaledObjects).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		if notServed(err) {
			return nil, false, nil
		}
		return nil, true, fmt.Errorf("list scaledobjects in %q: %w", namespace, err)
	}
	var errs []error
	for _, so := range list.Items {
		if _, ok := so.GetAnnotations()[hpa.AnnotationOwnerMin]; !ok {
			continue
		}
		ch, err := a.Restore(ctx, mode, "", so.GetNamespace(), so.GetName(), reasons)
		changes = append(changes, ch)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return changes, true, errors.Join(errs...)
}

// notServed is the API server's answer to a list of a resource it does
// not serve (KEDA not installed): 404 Not Found on the collection.
func notServed(err error) bool { return apierrors.IsNotFound(err) }
