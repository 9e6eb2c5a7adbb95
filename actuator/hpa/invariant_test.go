package hpa

import (
	"fmt"
	"testing"
)

// TestDecideInvariants checks Decide's doc comment over a grid of live
// objects and plans: the floor is never below the owner's minReplicas (even
// when the policy ceiling is lower), never above the ceiling unless the
// owner's floor is higher, never above maxReplicas; maxReplicas is never
// below the owner's.
func TestDecideInvariants(t *testing.T) {
	n := 0
	for _, liveMin := range []int{1, 3, 8, 12} {
		for _, liveMax := range []int{12, 20} {
			for _, anns := range []map[string]string{nil,
				{AnnotationOwnerMin: "5", AnnotationOwnerMax: "20", AnnotationApplied: fmt.Sprintf("min=%d,max=%d", liveMin, liveMax)},
				{AnnotationOwnerMin: "5", AnnotationOwnerMax: "20", AnnotationApplied: "min=9,max=20"}} {
				for _, wantMin := range []int{0, 2, 6, 10, 25} {
					for _, ceiling := range []int{0, 2, 4, 7, 30} {
						for _, raise := range []int{0, 40} {
							live := Live{MinReplicas: liveMin, MaxReplicas: liveMax, Annotations: anns}
							w := Want{MinReplicas: wantMin, Ceiling: ceiling, MaxReplicas: raise, RaiseMax: raise > 0}
							d := Decide(live, w)
							n++
							o := d.Owner
							name := fmt.Sprintf("live %d/%d %v, want %+v", liveMin, liveMax, anns, w)
							if d.MinReplicas < o.MinReplicas {
								t.Errorf("%s: floor %d below the owner's minReplicas %d", name, d.MinReplicas, o.MinReplicas)
							}
							if d.MaxReplicas < o.MaxReplicas {
								t.Errorf("%s: maxReplicas %d below the owner's %d", name, d.MaxReplicas, o.MaxReplicas)
							}
							if d.MinReplicas > d.MaxReplicas {
								t.Errorf("%s: floor %d above maxReplicas %d", name, d.MinReplicas, d.MaxReplicas)
							}
							if ceiling > 0 && d.MinReplicas > max(ceiling, o.MinReplicas) {
								t.Errorf("%s: floor %d above the ceiling %d and the owner's %d", name, d.MinReplicas, ceiling, o.MinReplicas)
							}
							// The floor is exactly the plan bounded by these rules.
							want := wantMin
							if ceiling > 0 {
								want = min(want, ceiling)
							}
							want = max(want, o.MinReplicas)
							want = min(want, max(d.MaxReplicas, o.MinReplicas))
							if d.MinReplicas != want {
								t.Errorf("%s: floor %d, want %d", name, d.MinReplicas, want)
							}
						}
					}
				}
			}
		}
	}
	if n < 1000 {
		t.Fatalf("only %d cases", n)
	}
}

// TestDecideCeilingBelowOwner: a policy ceiling below the owner's
// minReplicas does not write a floor below the owner's value.
func TestDecideCeilingBelowOwner(t *testing.T) {
	d := Decide(Live{MinReplicas: 6, MaxReplicas: 20}, Want{MinReplicas: 10, Ceiling: 4})
	if d.MinReplicas != 6 {
		t.Fatalf("floor %d with owner's minReplicas 6 and ceiling 4, want 6 (notes %q)", d.MinReplicas, d.Notes)
	}
}
