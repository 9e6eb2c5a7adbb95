package main

import (
	"fmt"
	"hash/fnv"
	"strings"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/prescale/prescale/config"
)

// shardOf narrows the policies to those whose metadata.labels match the
// --shard-selector, and names the shard's Lease after the selector, so that
// the replicas of one shard elect one leader among themselves and never
// contend with another shard's. With no selector every policy is managed
// under the Lease as named.
//
// Shards split by policy, never inside one: a node group's minimum and a
// database's tier are planned from every target of the policy that uses
// them, so a policy must be planned whole by one leader.
func shardOf(selector string, all func() []*config.Policy, lease string) (func() []*config.Policy, string, error) {
	if strings.TrimSpace(selector) == "" {
		return all, lease, nil
	}
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, "", fmt.Errorf("--shard-selector %q: %w", selector, err)
	}
	if sel.Empty() {
		return all, lease, nil
	}
	filter := func() []*config.Policy {
		var out []*config.Policy
		for _, p := range all() {
			if sel.Matches(labels.Set(p.Metadata.Labels)) {
				out = append(out, p)
			}
		}
		return out
	}
	return filter, shardLeaseName(lease, sel.String()), nil
}

// shardLeaseName is lease suffixed with the selector made into a DNS label
// ("prescale" and "shard=a" give "prescale-shard-a"); a name that would
// exceed the 63 characters of a label is cut and ends in a hash of the
// whole selector, so that distinct selectors keep distinct Leases.
func shardLeaseName(lease, selector string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(selector) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	name := lease + "-" + strings.Trim(b.String(), "-")
	if len(name) <= 63 {
		return name
	}
	h := fnv.New32a()
	h.Write([]byte(selector))
	suffix := fmt.Sprintf("-%08x", h.Sum32())
	return strings.TrimRight(name[:63-len(suffix)], "-") + suffix
}

// shardEmpty says why a shard selector that matches none of the policies
// loaded is worth a warning ("" when it matches some, or there is none to
// match): a misspelt label leaves the replica managing nothing, silently.
func shardEmpty(selector string, all, matched int) string {
	if strings.TrimSpace(selector) == "" || matched > 0 || all == 0 {
		return ""
	}
	return fmt.Sprintf("--shard-selector %q matches none of the %d policies loaded: this replica manages nothing until a policy's metadata.labels match it", selector, all)
}
