package actuator

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	move := []FieldChange{{Field: "minSize", From: "3", To: "5"}}
	boom := errors.New("boom")
	tests := []struct {
		name       string
		mode       Mode
		obs        Observation
		readErr    error
		writeErr   error
		wantStatus Status
		wantWrites int
		wantFields int
		wantErr    error
		wantReason string
	}{
		{name: "active writes", mode: Active, obs: Observation{Fields: move, Notes: []string{"bound by maxSize"}},
			wantStatus: Applied, wantWrites: 1, wantFields: 1, wantReason: "bound by maxSize"},
		{name: "shadow computes and does not write", mode: Shadow, obs: Observation{Fields: move},
			wantStatus: WouldApply, wantFields: 1, wantReason: "shadow: computed, not written"},
		{name: "dry-run computes and does not write", mode: DryRun, obs: Observation{Fields: move},
			wantStatus: WouldApply, wantFields: 1, wantReason: "dry-run: computed, not written"},
		{name: "in sync writes nothing", mode: Active, obs: Observation{}, wantStatus: InSync},
		{name: "waiting writes nothing", mode: Active, obs: Observation{Status: Waiting, Notes: []string{"pending modifications"}},
			wantStatus: Waiting, wantReason: "pending modifications"},
		{name: "paused writes nothing", mode: Active, obs: Observation{Status: Paused}, wantStatus: Paused},
		{name: "read error", mode: Active, readErr: boom, wantStatus: Failed, wantErr: boom},
		{name: "write error", mode: Active, obs: Observation{Fields: move}, writeErr: boom,
			wantStatus: Failed, wantWrites: 1, wantErr: boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writes := 0
			obs := tt.obs
			obs.Write = func(context.Context) error { writes++; return tt.writeErr }
			var j Journal
			ref := Ref{Kind: "nodegroup", Name: "ng1", Target: "api"}
			c, err := Run(context.Background(), &j, tt.mode, ref, []string{"plan says 5"},
				func(context.Context) (Observation, error) { return obs, tt.readErr })
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "nodegroup ng1") {
				t.Errorf("error %q does not name the resource", err)
			}
			if c.Status != tt.wantStatus || writes != tt.wantWrites || len(c.Fields) != tt.wantFields {
				t.Errorf("status %s writes %d fields %d, want %s %d %d", c.Status, writes, len(c.Fields), tt.wantStatus, tt.wantWrites, tt.wantFields)
			}
			got := j.Changes()
			if len(got) != 1 || got[0].Status != c.Status {
				t.Fatalf("journal %+v, want the one change", got)
			}
			if c.Reasons[0] != "plan says 5" {
				t.Errorf("reasons %q do not start with the plan's", c.Reasons)
			}
			if tt.wantReason != "" && !contains(c.Reasons, tt.wantReason) {
				t.Errorf("reasons %q lack %q", c.Reasons, tt.wantReason)
			}
		})
	}
}

func TestChangeMessage(t *testing.T) {
	c := Change{Status: Applied, Fields: []FieldChange{{"minReplicas", "3", "10"}, {"maxReplicas", "20", "40"}},
		Reasons: []string{"forecast", "ramp"}}
	want := "applied: minReplicas 3 → 10, maxReplicas 20 → 40 (ramp)"
	if got := c.Message(); got != want {
		t.Errorf("Message() = %q, want %q", got, want)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
