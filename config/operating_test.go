package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestOperatingPoints: unset, capacity.operatingPoints are the default
// quantiles below capacity.quantile; [] turns them off; each listed one is
// a quantile in (0, quantile), distinct, at most MaxOperatingPoints, and
// a bad one is named at its FILE:LINE:COL.
func TestOperatingPoints(t *testing.T) {
	with := func(capacity string) string {
		return strings.Replace(minimal, "        perPod: 100\n", "        perPod: 100\n"+capacity, 1)
	}
	for _, c := range []struct {
		name, capacity string
		want           []float64
	}{
		{"default", "", []float64{0.3, 0.5, 0.7}},
		{"default below a lower quantile", "        quantile: 0.6\n", []float64{0.3, 0.5}},
		{"none below the lowest", "        quantile: 0.3\n", []float64{}},
		{"off", "        operatingPoints: []\n", []float64{}},
		{"listed", "        operatingPoints: [0.3, 0.6]\n", []float64{0.3, 0.6}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ps, err := Parse([]byte(with(c.capacity)), "min.yaml")
			if err != nil {
				t.Fatal(err)
			}
			cp := ps[0].Spec.Targets[0].Capacity
			if !slices.Equal(cp.OperatingPoints, c.want) {
				t.Errorf("operatingPoints %v, want %v", cp.OperatingPoints, c.want)
			}
			if got := cp.Levels(); got[0] != cp.Quantile || len(got) != 1+len(c.want) {
				t.Errorf("levels %v: want the quantile %v then %v", got, cp.Quantile, c.want)
			}
		})
	}
	for _, c := range []struct {
		name, capacity, field, msg string
	}{
		{"at the quantile", "        operatingPoints: [0.5, 0.9]\n", "operatingPoints[1]", "0.9 must be between 0 and capacity.quantile 0.9"},
		{"zero", "        operatingPoints: [0]\n", "operatingPoints[0]", "between 0 and capacity.quantile"},
		{"above a lower quantile", "        quantile: 0.6\n        operatingPoints: [0.7]\n", "operatingPoints[0]", "0.7 must be between 0 and capacity.quantile 0.6"},
		{"twice", "        operatingPoints: [0.5, 0.5]\n", "operatingPoints[1]", "listed twice"},
		{"too many", "        operatingPoints: [0.1, 0.2, 0.3, 0.4, 0.5]\n", "operatingPoints", "5 quantiles: at most 4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(with(c.capacity)), "min.yaml")
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err %v, want Problems", err)
			}
			for _, p := range ps {
				if p.Field == "spec.targets[0].capacity."+c.field {
					if got := fmt.Sprintf("%s:%d:%d", p.File, p.Pos.Line, p.Pos.Col); !strings.HasPrefix(got, "min.yaml:") || p.Pos.Line < 12 || !strings.Contains(p.Message, c.msg) {
						t.Errorf("%s: %q, want a position in the capacity block and %q", got, p.Message, c.msg)
					}
					return
				}
			}
			t.Errorf("no problem at capacity.%s in\n%v", c.field, err)
		})
	}
}
