package demo

import "testing"

func TestEmbedded(t *testing.T) {
	s, err := Trace()
	if err != nil {
		t.Fatal(err)
	}
	if s.Observed() != 10320 {
		t.Errorf("trace has %d samples, want NAB's 10,320", s.Observed())
	}
	p, err := Policy()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.Targets) != 1 || p.Spec.Targets[0].HPA.Mode != "active" || p.Location.String() != "America/New_York" {
		t.Errorf("policy %+v", p.Spec)
	}
}
