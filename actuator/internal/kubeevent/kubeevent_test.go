package kubeevent

import (
	"strings"
	"testing"

	"github.com/prescale/prescale/actuator"
)

func TestMessage(t *testing.T) {
	long := strings.Repeat("x", 2000)
	tests := []struct {
		name string
		ch   actuator.Change
		want string
	}{
		{name: "one reason reads like the log line",
			ch:   actuator.Change{Status: actuator.Applied, Fields: []actuator.FieldChange{{Field: "replicas", From: "0", To: "3"}}, Reasons: []string{"T-2h"}},
			want: "applied: replicas 0 → 3 (T-2h)"},
		{name: "every reason, in order",
			ch: actuator.Change{Status: actuator.Applied, Fields: []actuator.FieldChange{{Field: "capacitybuffer replicas", From: "absent", To: "3"}},
				Reasons: []string{"on-sale T-30m", "headroom through a CapacityBuffer"}},
			want: "capacitybuffer replicas absent → 3; on-sale T-30m; headroom through a CapacityBuffer"},
		{name: "cut to an Event's 1 KiB",
			ch:   actuator.Change{Status: actuator.Applied, Reasons: []string{"a", long}},
			want: "a; " + strings.Repeat("x", 1024-3-3) + "..."},
	}
	for _, tt := range tests {
		if got := Message(tt.ch); got != tt.want {
			t.Errorf("%s: Message = %q, want %q", tt.name, got, tt.want)
		}
	}
}
