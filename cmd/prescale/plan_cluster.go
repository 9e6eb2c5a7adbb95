package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/prescale/prescale/actuator/live"
	"github.com/prescale/prescale/api/v1alpha1"
	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/controller/crd"
)

// restConfig is the Kubernetes client configuration of `plan
// --prometheus-url`: --kubeconfig (else $KUBECONFIG, ~/.kube/config) and
// --context.
func restConfig(o liveOptions) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	rc.UserAgent = "prescale-plan"
	return rc, nil
}

// clusterPolicies reads the ScalingPolicies of the cluster (of namespace
// ns, "" for all) through a read-only client and decodes each as the
// daemon does (crd.Parse: the files' validation, then tenancy with own as
// prescale's namespace). It returns the policies the daemon would accept,
// in namespace/name order, and one note per policy it would refuse.
func clusterPolicies(ctx context.Context, o liveOptions, ns, own string) ([]*config.Policy, []string, error) {
	rc, err := restConfig(o)
	if err != nil {
		return nil, nil, err
	}
	dyn, err := dynamic.NewForConfig(live.ReadOnlyKube(rc))
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	list, err := dyn.Resource(v1alpha1.Resource).Namespace(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("list scalingpolicies: %w", err)
	}
	items := list.Items
	sort.Slice(items, func(i, j int) bool {
		return items[i].GetNamespace()+"/"+items[i].GetName() < items[j].GetNamespace()+"/"+items[j].GetName()
	})
	var out []*config.Policy
	var notes []string
	for i := range items {
		u := &items[i]
		p, problems := crd.Parse(u, own)
		if len(problems) > 0 {
			notes = append(notes, fmt.Sprintf("scalingpolicy %s/%s: not planned, the daemon refuses this generation (it keeps its last good version in force, if any): %s",
				u.GetNamespace(), u.GetName(), strings.Join(problems, "; ")))
			continue
		}
		out = append(out, p)
	}
	return out, notes, nil
}
