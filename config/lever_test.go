package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestTargetLeverRange: hpa.maxTargetUtilization is a fraction in
// (capacity.targetUtilization, 1], and not with a KEDA ScaledObject; each
// bad value is named at its FILE:LINE:COL.
func TestTargetLeverRange(t *testing.T) {
	for _, c := range []struct {
		name, value, extra, msg string
	}{
		{"above 1", "1.5", "", "between 0 and 1"},
		{"negative", "-0.8", "", "between 0 and 1"},
		{"at the normal target", "0.7", "", "0.7 must be above capacity.targetUtilization 0.7"},
		{"under the normal target", "0.5", "", "must be above capacity.targetUtilization"},
		{"with a ScaledObject", "0.9", "        scaledObject: api\n", "not with scaledObject"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := strings.Replace(minimal, "        maxReplicas: 10\n", "        maxReplicas: 10\n        maxTargetUtilization: "+c.value+"\n", 1)
			if c.extra != "" {
				doc = strings.Replace(doc, "        name: api\n", c.extra, 1)
			}
			_, err := Parse([]byte(doc), "min.yaml")
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err %v, want Problems", err)
			}
			for _, p := range ps {
				if p.Field == "spec.targets[0].hpa.maxTargetUtilization" {
					if got := fmt.Sprintf("%s:%d:%d", p.File, p.Pos.Line, p.Pos.Col); !strings.HasPrefix(got, "min.yaml:17:") || !strings.Contains(p.Message, c.msg) {
						t.Errorf("%s: %q, want at min.yaml:17 a message with %q", got, p.Message, c.msg)
					}
					return
				}
			}
			t.Errorf("no problem at hpa.maxTargetUtilization in\n%v", err)
		})
	}
	doc := strings.Replace(minimal, "        maxReplicas: 10\n", "        maxReplicas: 10\n        maxTargetUtilization: 0.85\n", 1)
	ps, err := Parse([]byte(doc), "min.yaml")
	if err != nil {
		t.Fatalf("a valid ceiling refused: %v", err)
	}
	if got := ps[0].Spec.Targets[0].HPA.MaxTargetUtilization; got != 0.85 {
		t.Errorf("maxTargetUtilization %v, want 0.85", got)
	}
}
