package config

import (
	"errors"
	"strings"
	"testing"
)

// actuation is minimal plus the resources whose actuation the policy tunes:
// an ASG node group, a placeholder node group, a database and a cache.
const actuation = minimal + `  nodeGroups:
    - name: workers
      provider: asg
      asg: {name: shop-workers, region: eu-west-1}
      allocatable: {cpu: "4", memory: 16Gi}
      maxSize: 10
    - name: headroom
      provider: placeholder
      placeholder: {namespace: prescale, name: prescale-placeholder}
      allocatable: {cpu: "4", memory: 16Gi}
      maxSize: 10
  databases:
    - name: orders
      identifier: orders-db
      tiers: [{class: db.r5.large}, {class: db.r5.xlarge}]
  caches:
    - name: sessions
      identifier: sessions
      tiers: [{class: cache.r5.large}, {class: cache.r5.xlarge}]
`

func TestActuationDefaults(t *testing.T) {
	ps, err := Parse([]byte(actuation), "p.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := ps[0].Spec
	if got := s.NodeGroups[0].ASG.CapacityMode; got != "minSize" {
		t.Errorf("asg.capacityMode = %q, want minSize", got)
	}
	if got := s.NodeGroups[1].Placeholder.Mode; got != "auto" {
		t.Errorf("placeholder.mode = %q, want auto", got)
	}
	if s.Databases[0].SnapshotBeforeChange {
		t.Error("snapshotBeforeChange defaults to true, want false")
	}
}

func TestActuationFields(t *testing.T) {
	tests := []struct {
		name     string
		old, new string
		// want is one line of the error, "" when the document is valid;
		// check looks at the accepted policy.
		want  string
		check func(*Policy) bool
	}{
		{name: "desired capacity",
			old: "region: eu-west-1}", new: "region: eu-west-1, capacityMode: desiredCapacity}",
			check: func(p *Policy) bool { return p.Spec.NodeGroups[0].ASG.CapacityMode == "desiredCapacity" }},
		{name: "bad capacity mode",
			old: "region: eu-west-1}", new: "region: eu-west-1, capacityMode: desired}",
			want: `p.yaml:20:66: spec.nodeGroups[0].asg.capacityMode: must be one of minSize, desiredCapacity, got "desired"`},
		{name: "capacity mode of the wrong type",
			old: "region: eu-west-1}", new: "region: eu-west-1, capacityMode: [minSize]}",
			want: "p.yaml:20:66: spec.nodeGroups[0].asg.capacityMode: want a string, got a list"},
		{name: "capacity buffer",
			old: "name: prescale-placeholder}", new: "name: prescale-placeholder, mode: capacityBuffer}",
			check: func(p *Policy) bool { return p.Spec.NodeGroups[1].Placeholder.Mode == "capacityBuffer" }},
		{name: "deployment",
			old: "name: prescale-placeholder}", new: "name: prescale-placeholder, mode: deployment}",
			check: func(p *Policy) bool { return p.Spec.NodeGroups[1].Placeholder.Mode == "deployment" }},
		{name: "bad placeholder mode",
			old: "name: prescale-placeholder}", new: "name: prescale-placeholder, mode: buffer}",
			want: `p.yaml:25:76: spec.nodeGroups[1].placeholder.mode: must be one of auto, deployment, capacityBuffer, got "buffer"`},
		{name: "snapshot before change",
			old: "      identifier: orders-db\n", new: "      identifier: orders-db\n      snapshotBeforeChange: true\n",
			check: func(p *Policy) bool { return p.Spec.Databases[0].SnapshotBeforeChange }},
		{name: "snapshot not a bool",
			old: "      identifier: orders-db\n", new: "      identifier: orders-db\n      snapshotBeforeChange: always\n",
			want: "p.yaml:31:29: spec.databases[0].snapshotBeforeChange: want true or false, got a string"},
		{name: "snapshot of a cache",
			old: "      identifier: sessions\n", new: "      identifier: sessions\n      snapshotBeforeChange: true\n",
			want: "p.yaml:35:29: spec.caches[0].snapshotBeforeChange: applies to rds databases only"},
		{name: "misspelt field",
			old: "      identifier: orders-db\n", new: "      identifier: orders-db\n      snapshotBeforeChnage: true\n",
			want: `p.yaml:31:7: spec.databases[0].snapshotBeforeChnage: unknown field (did you mean "snapshotBeforeChange"?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(actuation, tt.old) {
				t.Fatalf("fixture lacks %q", tt.old)
			}
			doc := strings.Replace(actuation, tt.old, tt.new, 1)
			ps, err := Parse([]byte(doc), "p.yaml")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if !tt.check(ps[0]) {
					t.Errorf("accepted, but the field did not reach the policy: %+v", ps[0].Spec)
				}
				return
			}
			var probs Problems
			if !errors.As(err, &probs) {
				t.Fatalf("want Problems, got %v", err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(line, tt.want) {
					return
				}
			}
			t.Errorf("no line starting %q in:\n%v", tt.want, err)
		})
	}
}
