package main

import (
	"strings"
	"testing"

	"github.com/prescale/prescale/config"
)

func TestShardOf(t *testing.T) {
	pol := func(name string, labels map[string]string) *config.Policy {
		return &config.Policy{Metadata: config.Metadata{Name: name, Labels: labels}}
	}
	all := []*config.Policy{
		pol("pricing", map[string]string{"shard": "a", "team": "markets"}),
		pol("shop", map[string]string{"shard": "b", "team": "retail"}),
		pol("tickets", nil),
	}
	long := "team in (" + strings.Repeat("retail,", 10) + "markets)"
	cases := []struct {
		selector  string
		wantNames []string
		wantLease string
		wantErr   string
	}{
		{"", []string{"pricing", "shop", "tickets"}, "prescale", ""},
		{"shard=a", []string{"pricing"}, "prescale-shard-a", ""},
		{"shard=b", []string{"shop"}, "prescale-shard-b", ""},
		{"!shard", []string{"tickets"}, "prescale-shard", ""},
		{"team in (markets,retail)", []string{"pricing", "shop"}, "prescale-team-in-markets-retail", ""},
		{long, []string{"pricing", "shop"}, "", ""},
		{"shard in (a", nil, "", "--shard-selector"},
	}
	for _, c := range cases {
		t.Run(c.selector, func(t *testing.T) {
			f, lease, err := shardOf(c.selector, func() []*config.Policy { return all }, "prescale")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one mentioning %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range f() {
				names = append(names, p.Metadata.Name)
			}
			if strings.Join(names, ",") != strings.Join(c.wantNames, ",") {
				t.Errorf("policies %v, want %v", names, c.wantNames)
			}
			if c.wantLease != "" && lease != c.wantLease {
				t.Errorf("lease %q, want %q", lease, c.wantLease)
			}
			if len(lease) > 63 || strings.HasSuffix(lease, "-") {
				t.Errorf("lease %q is not a valid name (at most 63 characters, no trailing dash)", lease)
			}
		})
	}
	// Selectors that differ only past the cut keep distinct Leases.
	_, a, _ := shardOf(long, func() []*config.Policy { return all }, "prescale")
	_, b, _ := shardOf(strings.Replace(long, "markets", "marketz", 1), func() []*config.Policy { return all }, "prescale")
	if a == b {
		t.Errorf("two long selectors share the Lease %q", a)
	}
}

// TestShardEmpty: a selector matching none of the policies loaded is
// warned about (a misspelt label manages nothing, silently); none with no
// selector, a match, or no policies yet (ScalingPolicies arrive later).
func TestShardEmpty(t *testing.T) {
	for _, c := range []struct {
		sel          string
		all, matched int
		want         string
	}{
		{"shard=zzz", 3, 0, `--shard-selector "shard=zzz" matches none of the 3 policies loaded`},
		{"shard=a", 3, 1, ""},
		{"", 3, 3, ""},
		{"shard=a", 0, 0, ""},
	} {
		if got := shardEmpty(c.sel, c.all, c.matched); (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("shardEmpty(%q, %d, %d) = %q, want %q", c.sel, c.all, c.matched, got, c.want)
		}
	}
}
