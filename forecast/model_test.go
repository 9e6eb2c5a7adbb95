package forecast

import (
	"testing"
	"time"
)

// TestSlotsAreLocal: the 09:30 New York slot is the same slot before and
// after both DST changes, although it moves by an hour in UTC; without a
// zone, slots follow UTC.
func TestSlotsAreLocal(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	seasons := []Season{{"daily", 288}, {"weekly", 2016}}
	cases := []struct {
		name          string
		before, after time.Time // 09:30 local on the Friday before and Monday after
	}{
		{"march 2024", time.Date(2024, 3, 8, 14, 30, 0, 0, time.UTC), time.Date(2024, 3, 11, 13, 30, 0, 0, time.UTC)},
		{"november 2024", time.Date(2024, 11, 1, 13, 30, 0, 0, time.UTC), time.Date(2024, 11, 4, 14, 30, 0, 0, time.UTC)},
		{"march 2025", time.Date(2025, 3, 7, 14, 30, 0, 0, time.UTC), time.Date(2025, 3, 10, 13, 30, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		start := c.before.Add(-24 * time.Hour)
		n := int(c.after.Sub(start)/(5*time.Minute)) + 1
		slots := slotTimes(start, 5*time.Minute, n, ny, seasons)
		i := int(c.before.Sub(start) / (5 * time.Minute))
		j := n - 1
		if slots[0][i] != slots[0][j] || slots[0][i] != 9*12+6 {
			t.Errorf("%s: daily slot %d before, %d after, want %d", c.name, slots[0][i], slots[0][j], 9*12+6)
		}
		// Friday is weekday 4 (Monday 0), Monday 0.
		if slots[1][i] != 4*288+114 || slots[1][j] != 114 {
			t.Errorf("%s: weekly slots %d and %d", c.name, slots[1][i], slots[1][j])
		}
		utc := slotTimes(start, 5*time.Minute, n, time.UTC, seasons)
		if utc[0][i] == utc[0][j] {
			t.Errorf("%s: in UTC the open should move by an hour", c.name)
		}
	}
}

// TestSlotsOnTheDSTDay: on the November day with 25 hours, the repeated
// hour's points share slots; on the March day with 23, a slot is skipped.
func TestSlotsOnTheDSTDay(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	seasons := []Season{{"daily", 24}}
	fall := slotTimes(time.Date(2024, 11, 3, 4, 0, 0, 0, time.UTC), time.Hour, 25, ny, seasons)[0]
	count := map[int32]int{}
	for _, s := range fall {
		count[s]++
	}
	if count[1] != 2 || len(count) != 24 {
		t.Errorf("November: slot counts %v, want 01:00 twice", count)
	}
	spring := slotTimes(time.Date(2024, 3, 10, 5, 0, 0, 0, time.UTC), time.Hour, 23, ny, seasons)[0]
	seen := map[int32]bool{}
	for _, s := range spring {
		seen[s] = true
	}
	if seen[2] || len(seen) != 23 {
		t.Errorf("March: slots %v, want 02:00 skipped", spring)
	}
}
