package hpa

import (
	"strconv"
	"strings"
	"testing"
)

func TestDecide(t *testing.T) {
	managed := func(ownerMin, ownerMax int, applied string) map[string]string {
		return map[string]string{AnnotationOwnerMin: itoa(ownerMin), AnnotationOwnerMax: itoa(ownerMax), AnnotationApplied: applied}
	}
	tests := []struct {
		name              string
		live              Live
		want              Want
		min, max, target  int
		ownerMin, ownerMx int
		note              string
	}{
		{name: "first change: live values are the owner's", live: Live{MinReplicas: 3, MaxReplicas: 20},
			want: Want{MinReplicas: 10, Ceiling: 30}, min: 10, max: 20, ownerMin: 3, ownerMx: 20},
		{name: "first change leaves the owner's target alone", live: Live{MinReplicas: 3, MaxReplicas: 20, Target: 70},
			want: Want{MinReplicas: 10, Resource: "cpu"}, min: 10, max: 20, target: 0, ownerMin: 3, ownerMx: 20},
		{name: "never below the owner's floor", live: Live{MinReplicas: 10, MaxReplicas: 20, Annotations: managed(3, 20, "min=10,max=20")},
			want: Want{MinReplicas: 2, Ceiling: 30}, min: 3, max: 20, ownerMin: 3, ownerMx: 20, note: "never below the owner's minReplicas 3"},
		{name: "never above the policy ceiling", live: Live{MinReplicas: 3, MaxReplicas: 40},
			want: Want{MinReplicas: 35, Ceiling: 30}, min: 30, max: 40, ownerMin: 3, ownerMx: 40, note: "above the policy ceiling 30"},
		{name: "never above the owner's max without a rule", live: Live{MinReplicas: 3, MaxReplicas: 20},
			want: Want{MinReplicas: 25, MaxReplicas: 40, Ceiling: 50}, min: 20, max: 20, ownerMin: 3, ownerMx: 20, note: "bound: floor 25 above maxReplicas 20"},
		{name: "a rule raises the max", live: Live{MinReplicas: 3, MaxReplicas: 20},
			want: Want{MinReplicas: 15, MaxReplicas: 40, RaiseMax: true, Ceiling: 50}, min: 15, max: 40, ownerMin: 3, ownerMx: 20},
		{name: "a rule never lowers the owner's max", live: Live{MinReplicas: 3, MaxReplicas: 20},
			want: Want{MinReplicas: 5, MaxReplicas: 10, RaiseMax: true}, min: 5, max: 20, ownerMin: 3, ownerMx: 20},
		{name: "the rule ended: max back to the owner's", live: Live{MinReplicas: 15, MaxReplicas: 40, Annotations: managed(3, 20, "min=15,max=40")},
			want: Want{MinReplicas: 8}, min: 8, max: 20, ownerMin: 3, ownerMx: 20},
		{name: "someone lowered the floor: re-asserted", live: Live{MinReplicas: 2, MaxReplicas: 20, Annotations: managed(3, 20, "min=10,max=20")},
			want: Want{MinReplicas: 10}, min: 10, max: 20, ownerMin: 2, ownerMx: 20, note: "minReplicas changed by someone else from 10 to 2"},
		{name: "the owner raised the floor above the plan: kept", live: Live{MinReplicas: 12, MaxReplicas: 20, Annotations: managed(3, 20, "min=10,max=20")},
			want: Want{MinReplicas: 10}, min: 12, max: 20, ownerMin: 12, ownerMx: 20},
		{name: "the owner raised the max: kept", live: Live{MinReplicas: 10, MaxReplicas: 30, Annotations: managed(3, 20, "min=10,max=20")},
			want: Want{MinReplicas: 10}, min: 10, max: 30, ownerMin: 3, ownerMx: 30},
		{name: "target utilisation from a rule", live: Live{MinReplicas: 3, MaxReplicas: 20, Target: 70},
			want: Want{MinReplicas: 15, Target: 60, Resource: "cpu"}, min: 15, max: 20, target: 60, ownerMin: 3, ownerMx: 20},
		{name: "target back to the owner's", live: Live{MinReplicas: 15, MaxReplicas: 20, Target: 60,
			Annotations: map[string]string{AnnotationOwnerMin: "3", AnnotationOwnerMax: "20", AnnotationOwnerTarget: "cpu=70", AnnotationApplied: "min=15,max=20,target=60"}},
			want: Want{MinReplicas: 15, Resource: "cpu"}, min: 15, max: 20, target: 70, ownerMin: 3, ownerMx: 20},
		{name: "one field at a time: max kept", live: Live{MinReplicas: 10, MaxReplicas: 40, Annotations: managed(3, 20, "min=10,max=40")},
			want: Want{MinReplicas: 12, KeepMax: true}, min: 12, max: 40, ownerMin: 3, ownerMx: 20},
		{name: "one field at a time: min kept", live: Live{MinReplicas: 15, MaxReplicas: 20, Annotations: managed(3, 20, "min=15,max=20")},
			want: Want{MaxReplicas: 40, RaiseMax: true, KeepMin: true}, min: 15, max: 40, ownerMin: 3, ownerMx: 20},
		{name: "one field at a time: max back to the owner's", live: Live{MinReplicas: 15, MaxReplicas: 40, Annotations: managed(3, 20, "min=15,max=40")},
			want: Want{MaxReplicas: 20, RaiseMax: true, KeepMin: true}, min: 15, max: 20, ownerMin: 3, ownerMx: 20},
		{name: "one field at a time: target kept", live: Live{MinReplicas: 15, MaxReplicas: 20, Target: 60,
			Annotations: map[string]string{AnnotationOwnerMin: "3", AnnotationOwnerMax: "20", AnnotationOwnerTarget: "cpu=70", AnnotationApplied: "min=15,max=20,target=60"}},
			want: Want{MinReplicas: 16, Resource: "cpu", KeepMax: true, KeepTarget: true}, min: 16, max: 20, target: 0, ownerMin: 3, ownerMx: 20},
		{name: "no such metric: target not set", live: Live{MinReplicas: 3, MaxReplicas: 20},
			want: Want{MinReplicas: 5, Target: 60, Resource: "cpu"}, min: 5, max: 20, ownerMin: 3, ownerMx: 20, note: "no cpu utilisation metric"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.live, tt.want)
			if d.MinReplicas != tt.min || d.MaxReplicas != tt.max || d.Target != tt.target {
				t.Errorf("min %d max %d target %d, want %d %d %d (notes %q)", d.MinReplicas, d.MaxReplicas, d.Target, tt.min, tt.max, tt.target, d.Notes)
			}
			if d.Owner.MinReplicas != tt.ownerMin || d.Owner.MaxReplicas != tt.ownerMx {
				t.Errorf("owner %+v, want min %d max %d", d.Owner, tt.ownerMin, tt.ownerMx)
			}
			if tt.note != "" && !hasNote(d.Notes, tt.note) {
				t.Errorf("notes %q lack %q", d.Notes, tt.note)
			}
		})
	}
}

func TestAppliedRoundTrip(t *testing.T) {
	got := parseApplied(formatApplied(Decision{MinReplicas: 12, MaxReplicas: 40, Target: 60}))
	if got["min"] != 12 || got["max"] != 40 || got["target"] != 60 {
		t.Errorf("round trip %v", got)
	}
	if got := parseApplied("min=x,max=3,junk"); len(got) != 1 || got["max"] != 3 {
		t.Errorf("malformed parts kept: %v", got)
	}
}

func hasNote(notes []string, s string) bool {
	for _, n := range notes {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

func itoa(n int) string { return strconv.Itoa(n) }
