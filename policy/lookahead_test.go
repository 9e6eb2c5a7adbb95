package policy

import (
	"testing"
	"time"

	"github.com/prescale/prescale/config"
)

// TestTargetLookAhead: a target's forecasts reach its own lead time plus
// window, or a database's or cache's lead time plus its window, never a
// neighbouring target's; the policy's look-ahead is the longest.
func TestTargetLookAhead(t *testing.T) {
	target := func(name string, lead, window time.Duration) config.Target {
		var tg config.Target
		tg.Name = name
		tg.Capacity.LeadTime = config.Duration(lead)
		tg.Capacity.Window = config.Duration(window)
		return tg
	}
	db := func(lead time.Duration) config.Database { return config.Database{LeadTime: config.Duration(lead)} }
	tests := []struct {
		name      string
		targets   []config.Target
		dbs       []config.Database
		caches    []config.Database
		want      []time.Duration // per target
		wantWhole time.Duration
	}{
		{
			name:      "each target its own",
			targets:   []config.Target{target("web", 5*time.Minute, 15*time.Minute), target("batch", 20*time.Minute, time.Hour)},
			want:      []time.Duration{20 * time.Minute, 80 * time.Minute},
			wantWhole: 80 * time.Minute,
		},
		{
			name:      "a database's lead with each target's window",
			targets:   []config.Target{target("web", 5*time.Minute, 15*time.Minute), target("batch", 20*time.Minute, time.Hour)},
			dbs:       []config.Database{db(30 * time.Minute)},
			want:      []time.Duration{45 * time.Minute, 90 * time.Minute},
			wantWhole: 90 * time.Minute,
		},
		{
			name:      "a cache's lead, longer than the database's",
			targets:   []config.Target{target("web", 5*time.Minute, 15*time.Minute)},
			dbs:       []config.Database{db(30 * time.Minute)},
			caches:    []config.Database{db(2 * time.Hour)},
			want:      []time.Duration{2*time.Hour + 15*time.Minute},
			wantWhole: 2*time.Hour + 15*time.Minute,
		},
		{
			name:      "a database's lead shorter than the target's own",
			targets:   []config.Target{target("web", time.Hour, 15*time.Minute)},
			dbs:       []config.Database{db(10 * time.Minute)},
			want:      []time.Duration{75 * time.Minute},
			wantWhole: 75 * time.Minute,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p config.Policy
			p.Spec.Targets, p.Spec.Databases, p.Spec.Caches = tt.targets, tt.dbs, tt.caches
			for i := range p.Spec.Targets {
				if got := TargetLookAhead(&p, &p.Spec.Targets[i]); got != tt.want[i] {
					t.Errorf("%s: look-ahead %v, want %v", p.Spec.Targets[i].Name, got, tt.want[i])
				}
			}
			if got := LookAhead(&p); got != tt.wantWhole {
				t.Errorf("policy look-ahead %v, want %v", got, tt.wantWhole)
			}
		})
	}
}
