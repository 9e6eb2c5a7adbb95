package crd

import (
	"strings"
	"testing"

	"github.com/prescale/prescale/config"
)

// Tenancy of a namespaced policy: everything it writes in a namespace (an
// HPA's or ScaledObject's floor, a pool size's ConfigMap) is in its own;
// cluster-level resources only from prescale's namespace.
func TestTenancy(t *testing.T) {
	target := func(hpa config.HPA, pool *config.ConnectionPool) config.Target {
		return config.Target{Name: "api", HPA: hpa, ConnectionPool: pool}
	}
	for _, c := range []struct {
		name string
		spec config.Spec
		ns   string
		want []string // substrings, one per problem; none: accepted
	}{
		{"HPA in its namespace", config.Spec{Targets: []config.Target{target(config.HPA{Namespace: "team", Name: "api"}, nil)}}, "team", nil},
		{"HPA elsewhere", config.Spec{Targets: []config.Target{target(config.HPA{Namespace: "other", Name: "api"}, nil)}}, "team",
			[]string{"spec.targets[0].hpa.namespace: HPA other/api is outside the policy's namespace team"}},
		{"ScaledObject elsewhere", config.Spec{Targets: []config.Target{target(config.HPA{Namespace: "other", ScaledObject: "api"}, nil)}}, "team",
			[]string{"spec.targets[0].hpa.namespace: ScaledObject other/api is outside the policy's namespace team"}},
		{"pool ConfigMap in its namespace", config.Spec{Targets: []config.Target{target(config.HPA{Namespace: "team", Name: "api"},
			&config.ConnectionPool{Namespace: "team", ConfigMap: "pool", Key: "SIZE"})}}, "team", nil},
		{"pool ConfigMap elsewhere", config.Spec{Targets: []config.Target{target(config.HPA{Namespace: "team", Name: "api"},
			&config.ConnectionPool{Namespace: "kube-system", ConfigMap: "pool", Key: "SIZE"})}}, "team",
			[]string{"spec.targets[0].connectionPool.namespace: ConfigMap kube-system/pool is outside the policy's namespace team"}},
		{"a database from a team", config.Spec{Databases: []config.Database{{Name: "db"}}}, "team",
			[]string{"spec.databases: cluster-level resources come only from ScalingPolicies in prescale's namespace prescale"}},
		{"a database from prescale's namespace", config.Spec{Databases: []config.Database{{Name: "db"}}}, "prescale", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Tenancy(&config.Policy{Spec: c.spec}, c.ns, "prescale")
			if len(got) != len(c.want) {
				t.Fatalf("problems %q, want %d like %q", got, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("problem %q, want %q", got[i], w)
				}
			}
		})
	}
}
