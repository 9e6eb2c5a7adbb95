package hpa

import (
	"fmt"
	"math"
	"strings"
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

// TestDecideMangledAnnotations: prescale's record of the owner's values is
// a string anyone can edit. A record that is not a replica count (negative,
// past int32, min above max, max 0) or not a target is never written back
// into the HPA: the live values, which are at least the owner's, are taken
// as the owner's, and a note says so. A valid record is used as before.
func TestDecideMangledAnnotations(t *testing.T) {
	const liveMin, liveMax, liveTarget = 4, 20, 70
	for _, c := range []struct {
		min, max, target string
		want             Owner
		note             string // a substring of the notes; "" for none
	}{
		{"2", "20", "cpu=80", Owner{2, 20, 80}, ""},
		{"0", "20", "", Owner{0, 20, 0}, ""}, // KEDA's scale to zero
		{"-3", "20", "", Owner{liveMin, liveMax, 0}, `owner-min-replicas="-3"`},
		{"30", "20", "", Owner{liveMin, liveMax, 0}, "not replica counts"},
		{"5", "0", "", Owner{liveMin, liveMax, 0}, "not replica counts"},
		{"5", "99999999999", "", Owner{liveMin, liveMax, 0}, `owner-max-replicas="99999999999"`},
		{"five", "20", "", Owner{liveMin, liveMax, 0}, "live minReplicas 4 and maxReplicas 20 taken as the owner's"},
		{"2", "20", "cpu=-5", Owner{2, 20, liveTarget}, `owner-target-utilization="cpu=-5" is not a utilisation target`},
		{"2", "20", "cpu=", Owner{2, 20, liveTarget}, "the live target 70 taken as the owner's"},
		{"2", "20", "memory=50", Owner{2, 20, 0}, ""}, // another resource's record
	} {
		anns := map[string]string{AnnotationOwnerMin: c.min, AnnotationOwnerMax: c.max, AnnotationApplied: "min=4,max=20"}
		if c.target != "" {
			anns[AnnotationOwnerTarget] = c.target
		}
		d := Decide(Live{MinReplicas: liveMin, MaxReplicas: liveMax, Target: liveTarget, Annotations: anns}, Want{MinReplicas: 1, Resource: "cpu"})
		name := fmt.Sprintf("owner %q/%q target %q", c.min, c.max, c.target)
		if d.Owner != c.want {
			t.Errorf("%s: owner %+v, want %+v", name, d.Owner, c.want)
		}
		notes := strings.Join(d.Notes, "; ")
		if mentions := strings.Contains(notes, "annotation"); mentions != (c.note != "") || !strings.Contains(notes, c.note) {
			t.Errorf("%s: notes %q, want one with %q", name, notes, c.note)
		}
		// Whatever the record said, what is written is an HPA's numbers
		// and the floor is not below the owner's as taken.
		if d.MinReplicas < d.Owner.MinReplicas || d.MinReplicas > d.MaxReplicas || d.MaxReplicas < 1 || d.MaxReplicas > math.MaxInt32 || d.Target < 0 {
			t.Errorf("%s: decision min %d max %d target %d", name, d.MinReplicas, d.MaxReplicas, d.Target)
		}
	}
}
