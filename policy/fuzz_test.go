package policy

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/prescale/prescale/config"
)

// FuzzPlanJSON: the JSON of a plan (what `prescale plan --json` and the
// daemon's status print) reads back to a plan that prints the same; any
// input either fails to decode or round-trips. Seeded with the plans of
// the example policies, at a market open and overnight.
func FuzzPlanJSON(f *testing.F) {
	files, err := filepath.Glob("../deploy/examples/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no example policies: %v", err)
	}
	for _, file := range files {
		ps, err := config.LoadFile(file)
		if err != nil {
			f.Fatalf("%s: %v", file, err)
		}
		for _, at := range []time.Time{time.Date(2026, 3, 10, 13, 30, 0, 0, time.UTC), time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)} {
			p, _ := NewEngine(ps[0]).Plan(at, State{}, Inputs{})
			b, err := json.Marshal(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"at":"2026-01-01T00:00:00Z","resources":[{"target":"a","kind":"hpa","name":"n/a","field":"minReplicas","current":3,"desired":1e400,"reasons":null}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var p Plan
		if json.Unmarshal(b, &p) != nil {
			return
		}
		b1, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("a decoded plan does not encode: %v", err)
		}
		var p2 Plan
		if err := json.Unmarshal(b1, &p2); err != nil {
			t.Fatalf("a plan's own JSON does not decode: %v\n%s", err, b1)
		}
		b2, err := json.Marshal(p2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("round trip changed the plan:\n%s\n%s", b1, b2)
		}
	})
}
