package aws

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/aws/awstest"
)

// newClients builds the real SDK clients against the test server, with the
// standard retryer (3 attempts) but no backoff, so retries are real and
// fast.
func newClients(t *testing.T) (*awstest.Server, Clients) {
	t.Helper()
	srv := awstest.New()
	t.Cleanup(srv.Close)
	cfg := sdkaws.Config{
		Region:       "eu-west-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		BaseEndpoint: sdkaws.String(srv.URL),
		Retryer: func() sdkaws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
			})
		},
	}
	return srv, NewClients(cfg)
}

func ngRef() actuator.Ref { return actuator.Ref{Kind: "nodegroup", Name: "workers", Target: "api"} }

func TestDecideFloor(t *testing.T) {
	now := time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		name         string
		cur, gmax    int
		f            NodeFloor
		lastDecrease time.Time
		want         int
		decrease     bool
		note         string
	}{
		{name: "raise", cur: 3, gmax: 20, f: NodeFloor{Min: 8, OwnerMin: 2}, want: 8},
		{name: "raise bound by max", cur: 3, gmax: 10, f: NodeFloor{Min: 14, OwnerMin: 2}, want: 10, note: "bound: planned 14 nodes, group maximum is 10"},
		{name: "never below owner", cur: 3, gmax: 10, f: NodeFloor{Min: 1, OwnerMin: 3}, want: 3, note: "owner's minimum 3"},
		{name: "down one node per step by default", cur: 8, gmax: 20, f: NodeFloor{Min: 2, OwnerMin: 2}, want: 7, decrease: true,
			note: "scale-down limit: 1 nodes per step, 8 → 7 (planned 2)"},
		{name: "down by the limit", cur: 8, gmax: 20, f: NodeFloor{Min: 2, OwnerMin: 2, ScaleDown: ScaleDown{Nodes: 3}}, want: 5, decrease: true},
		{name: "down within the limit in one step", cur: 8, gmax: 20, f: NodeFloor{Min: 6, ScaleDown: ScaleDown{Nodes: 3}}, want: 6, decrease: true},
		{name: "down held inside the period", cur: 8, gmax: 20, f: NodeFloor{Min: 2, ScaleDown: ScaleDown{Nodes: 3, Period: 10 * time.Minute}},
			lastDecrease: now.Add(-4 * time.Minute), want: 8, note: "scale-down limit: last decrease 4m0s ago, one step per 10m0s; holding 8"},
		{name: "down after the period", cur: 8, gmax: 20, f: NodeFloor{Min: 2, ScaleDown: ScaleDown{Nodes: 3, Period: 10 * time.Minute}},
			lastDecrease: now.Add(-11 * time.Minute), want: 5, decrease: true},
		{name: "current above max comes down", cur: 12, gmax: 10, f: NodeFloor{Min: 12, ScaleDown: ScaleDown{Nodes: 5}}, want: 10, decrease: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecideFloor(tt.cur, tt.gmax, tt.f, tt.lastDecrease, now)
			if got.Want != tt.want || got.Decrease != tt.decrease {
				t.Errorf("DecideFloor = %d (decrease %v), want %d (%v); notes %q", got.Want, got.Decrease, tt.want, tt.decrease, got.Notes)
			}
			if tt.note != "" && !hasNote(got.Notes, tt.note) {
				t.Errorf("notes %q lack %q", got.Notes, tt.note)
			}
		})
	}
}

func hasNote(notes []string, s string) bool {
	for _, n := range notes {
		if n == s || strings.Contains(n, s) {
			return true
		}
	}
	return false
}

func TestASGMinSize(t *testing.T) {
	srv, c := newClients(t)
	srv.ASGs["workers-asg"] = &awstest.ASG{Min: 2, Max: 10, Desired: 3}
	var j actuator.Journal
	a := &ASG{Client: c.AutoScaling, Recorder: &j}
	ctx := context.Background()
	d := ASGFloor{NodeFloor: NodeFloor{Ref: ngRef(), Mode: actuator.Active, Reasons: []string{"api: 40 pods → 6 nodes"}, Min: 6, OwnerMin: 2}, Group: "workers-asg"}

	ch, err := a.Apply(ctx, d)
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply = %v, %v; want applied", ch.Status, err)
	}
	upd := srv.Requests("UpdateAutoScalingGroup")
	if len(upd) != 1 {
		t.Fatalf("%d UpdateAutoScalingGroup calls, want 1", len(upd))
	}
	want := map[string]string{"AutoScalingGroupName": "workers-asg", "MinSize": "6"}
	if !equalParams(upd[0].Params, want) {
		t.Errorf("UpdateAutoScalingGroup params %v, want exactly %v (never DesiredCapacity)", upd[0].Params, want)
	}
	if g := srv.ASGs["workers-asg"]; g.Min != 6 || g.Desired != 6 {
		t.Errorf("group now min %d desired %d, want 6 6 (the group raises desired itself)", g.Min, g.Desired)
	}
	if len(srv.Requests("SetDesiredCapacity")) != 0 {
		t.Error("MinSize mode called SetDesiredCapacity")
	}

	// Level-triggered and idempotent: a second tick reads and writes nothing.
	ch, err = a.Apply(ctx, d)
	if err != nil || ch.Status != actuator.InSync || len(srv.Requests("UpdateAutoScalingGroup")) != 1 {
		t.Fatalf("second Apply = %v, %v with %d updates; want in-sync and no write", ch.Status, err, len(srv.Requests("UpdateAutoScalingGroup")))
	}
	// Someone lowers the minimum: the next tick puts it back.
	srv.Lock()
	srv.ASGs["workers-asg"].Min = 2
	srv.Unlock()
	if ch, _ := a.Apply(ctx, d); ch.Status != actuator.Applied || srv.ASGs["workers-asg"].Min != 6 {
		t.Errorf("after a manual lowering: %v, min %d; want applied, 6", ch.Status, srv.ASGs["workers-asg"].Min)
	}

	// Above MaxSize: bound, and said so.
	d.Min = 14
	ch, _ = a.Apply(ctx, d)
	if srv.ASGs["workers-asg"].Min != 10 || !hasNote(ch.Reasons, "bound: planned 14 nodes, group maximum is 10") {
		t.Errorf("bound: min %d, reasons %q", srv.ASGs["workers-asg"].Min, ch.Reasons)
	}
	if got := j.Changes(); len(got) != 4 || got[0].Reasons[0] != "api: 40 pods → 6 nodes" {
		t.Errorf("journal has %d changes, first reasons %q", len(got), got[0].Reasons)
	}
}

func TestASGShadowWritesNothing(t *testing.T) {
	srv, c := newClients(t)
	srv.ASGs["g"] = &awstest.ASG{Min: 2, Max: 10, Desired: 3}
	a := &ASG{Client: c.AutoScaling}
	for _, mode := range []actuator.Mode{actuator.Shadow, actuator.DryRun} {
		ch, err := a.Apply(context.Background(), ASGFloor{NodeFloor: NodeFloor{Ref: ngRef(), Mode: mode, Min: 5}, Group: "g"})
		if err != nil || ch.Status != actuator.WouldApply || len(ch.Fields) != 1 || ch.Fields[0].To != "5" {
			t.Errorf("%s: %v %v %+v", mode, ch.Status, err, ch.Fields)
		}
	}
	if n := len(srv.Requests("UpdateAutoScalingGroup", "SetDesiredCapacity")); n != 0 || srv.ASGs["g"].Min != 2 {
		t.Errorf("shadow wrote: %d writes, min %d", n, srv.ASGs["g"].Min)
	}
}

func TestASGScaleDownPaced(t *testing.T) {
	srv, c := newClients(t)
	srv.ASGs["g"] = &awstest.ASG{Min: 8, Max: 10, Desired: 8}
	now := time.Date(2026, 3, 2, 18, 0, 0, 0, time.UTC)
	a := &ASG{Client: c.AutoScaling, Now: func() time.Time { return now }}
	d := ASGFloor{NodeFloor: NodeFloor{Ref: ngRef(), Mode: actuator.Active, Min: 2, OwnerMin: 2, ScaleDown: ScaleDown{Nodes: 2, Period: 5 * time.Minute}}, Group: "g"}
	var mins []int
	for i := 0; i < 8; i++ {
		if _, err := a.Apply(context.Background(), d); err != nil {
			t.Fatal(err)
		}
		mins = append(mins, srv.ASGs["g"].Min)
		now = now.Add(3 * time.Minute)
	}
	// Every 3 minutes a tick; a decrease of 2 at most every 5 minutes.
	want := []int{6, 6, 4, 4, 2, 2, 2, 2}
	for i := range want {
		if mins[i] != want[i] {
			t.Fatalf("MinSize over ticks %v, want %v", mins, want)
		}
	}
}

func TestASGDesiredCapacityMode(t *testing.T) {
	srv, c := newClients(t)
	srv.ASGs["batch"] = &awstest.ASG{Min: 1, Max: 12, Desired: 4}
	a := &ASG{Client: c.AutoScaling}
	ctx := context.Background()
	d := ASGFloor{NodeFloor: NodeFloor{Ref: ngRef(), Mode: actuator.Active, Min: 9}, Group: "batch", Capacity: DesiredCapacity}
	if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply = %v, %v", ch.Status, err)
	}
	set := srv.Requests("SetDesiredCapacity")
	want := map[string]string{"AutoScalingGroupName": "batch", "DesiredCapacity": "9", "HonorCooldown": "false"}
	if len(set) != 1 || !equalParams(set[0].Params, want) {
		t.Fatalf("SetDesiredCapacity calls %v, want one with %v", set, want)
	}
	if len(srv.Requests("UpdateAutoScalingGroup")) != 0 || srv.ASGs["batch"].Min != 1 {
		t.Error("desiredCapacity mode changed MinSize")
	}
	// Only upward: a lower plan leaves the desired capacity alone.
	d.Min = 3
	if ch, _ := a.Apply(ctx, d); ch.Status != actuator.InSync || srv.ASGs["batch"].Desired != 9 {
		t.Errorf("lower plan: %v, desired %d; want in-sync, 9", ch.Status, srv.ASGs["batch"].Desired)
	}
	// Within MaxSize.
	d.Min = 30
	if ch, _ := a.Apply(ctx, d); srv.ASGs["batch"].Desired != 12 || !hasNote(ch.Reasons, "group maximum is 12") {
		t.Errorf("above max: desired %d, reasons %q", srv.ASGs["batch"].Desired, ch.Reasons)
	}
}

func TestASGMissing(t *testing.T) {
	_, c := newClients(t)
	a := &ASG{Client: c.AutoScaling}
	ch, err := a.Apply(context.Background(), ASGFloor{NodeFloor: NodeFloor{Ref: ngRef(), Mode: actuator.Active, Min: 3}, Group: "gone"})
	if err != nil || ch.Status != actuator.Missing || !hasNote(ch.Reasons, "auto scaling group gone not found") {
		t.Errorf("missing group: %v, %v, %q", ch.Status, err, ch.Reasons)
	}
}

func TestEKSMinSize(t *testing.T) {
	srv, c := newClients(t)
	srv.Nodegroups["prod/general"] = &awstest.Nodegroup{Min: 2, Max: 10, Desired: 4, Status: "ACTIVE"}
	a := &EKSNodegroup{Client: c.EKS}
	ctx := context.Background()
	d := EKSFloor{NodeFloor: NodeFloor{Ref: ngRef(), Mode: actuator.Active, Min: 3, OwnerMin: 2}, Cluster: "prod", Nodegroup: "general"}

	if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply = %v, %v", ch.Status, err)
	}
	upd := srv.Requests("UpdateNodegroupConfig")
	if len(upd) != 1 {
		t.Fatalf("%d updates", len(upd))
	}
	delete(upd[0].Params, "clientRequestToken") // the SDK's idempotency token
	want := map[string]string{"clusterName": "prod", "nodegroupName": "general", "scalingConfig.minSize": "3"}
	if !equalParams(upd[0].Params, want) {
		t.Errorf("params %v, want exactly %v", upd[0].Params, want)
	}
	// The update is in progress: the next tick waits, and writes nothing.
	d.Min = 6
	if ch, _ := a.Apply(ctx, d); ch.Status != actuator.Waiting || len(srv.Requests("UpdateNodegroupConfig")) != 1 {
		t.Errorf("while UPDATING: %v, %d updates; want waiting, 1", ch.Status, len(srv.Requests("UpdateNodegroupConfig")))
	}
	srv.Settle()
	// Above the desired size: EKS needs desiredSize raised with it.
	if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply above desired = %v, %v", ch.Status, err)
	}
	upd = srv.Requests("UpdateNodegroupConfig")
	p := upd[len(upd)-1].Params
	if p["scalingConfig.minSize"] != "6" || p["scalingConfig.desiredSize"] != "6" || p["scalingConfig.maxSize"] != "" {
		t.Errorf("params %v, want minSize 6, desiredSize 6, no maxSize", p)
	}
	if ng := srv.Nodegroups["prod/general"]; ng.Min != 6 || ng.Desired != 6 {
		t.Errorf("node group %+v", ng)
	}
}

func TestEKSMissing(t *testing.T) {
	_, c := newClients(t)
	a := &EKSNodegroup{Client: c.EKS}
	ch, err := a.Apply(context.Background(), EKSFloor{NodeFloor: NodeFloor{Ref: ngRef(), Mode: actuator.Active, Min: 3}, Cluster: "prod", Nodegroup: "nope"})
	if err != nil || ch.Status != actuator.Missing {
		t.Errorf("missing node group: %v, %v", ch.Status, err)
	}
}

func TestNextRung(t *testing.T) {
	ladder := []string{"db.r5.xlarge", "db.r5.2xlarge", "db.r5.4xlarge"}
	tests := []struct {
		cur, want, next string
		note, err       string
	}{
		{cur: "db.r5.xlarge", want: "db.r5.xlarge", next: "db.r5.xlarge"},
		{cur: "db.r5.xlarge", want: "db.r5.2xlarge", next: "db.r5.2xlarge"},
		{cur: "db.r5.xlarge", want: "db.r5.4xlarge", next: "db.r5.2xlarge", note: "one rung at a time: db.r5.xlarge → db.r5.2xlarge now, db.r5.4xlarge later"},
		{cur: "db.r5.4xlarge", want: "db.r5.xlarge", next: "db.r5.2xlarge", note: "one rung at a time"},
		{cur: "db.m5.large", want: "db.r5.xlarge", err: "current class db.m5.large is not on the ladder"},
		{cur: "db.r5.xlarge", want: "db.r6g.xlarge", err: "planned class db.r6g.xlarge is not on the ladder"},
	}
	for _, tt := range tests {
		next, notes, err := NextRung(ladder, tt.cur, tt.want)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s→%s: err %v, want %q", tt.cur, tt.want, err, tt.err)
			}
			continue
		}
		if err != nil || next != tt.next || (tt.note != "" && !hasNote(notes, tt.note)) || (tt.note == "" && len(notes) != 0) {
			t.Errorf("%s→%s: %q %q %v, want %q %q", tt.cur, tt.want, next, notes, err, tt.next, tt.note)
		}
	}
}

var dbLadder = []string{"db.r5.xlarge", "db.r5.2xlarge", "db.r5.4xlarge"}

func dbTier(class string, immediate bool) Tier {
	return Tier{Ref: actuator.Ref{Kind: "database", Name: "orders", Target: "api"}, Mode: actuator.Active, Identifier: "orders-db",
		Class: class, Ladder: dbLadder, ApplyImmediately: immediate, Reasons: []string{"onboarding T-7d: one tier up"}}
}

func TestRDSOneRungInsideWindow(t *testing.T) {
	srv, c := newClients(t)
	srv.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "available"}
	a := &RDS{Client: c.RDS}
	ctx := context.Background()
	ch, err := a.Apply(ctx, dbTier("db.r5.4xlarge", true))
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply = %v, %v", ch.Status, err)
	}
	mod := srv.Requests("ModifyDBInstance")
	want := map[string]string{"DBInstanceIdentifier": "orders-db", "DBInstanceClass": "db.r5.2xlarge", "ApplyImmediately": "true"}
	if len(mod) != 1 || !equalParams(mod[0].Params, want) {
		t.Fatalf("ModifyDBInstance %v, want one with exactly %v", mod, want)
	}
	if !hasNote(ch.Reasons, "one rung at a time") || !hasNote(ch.Reasons, "applied immediately") {
		t.Errorf("reasons %q", ch.Reasons)
	}
	// Modifying: the next tick waits and writes nothing.
	if ch, _ := a.Apply(ctx, dbTier("db.r5.4xlarge", true)); ch.Status != actuator.Waiting || len(srv.Requests("ModifyDBInstance")) != 1 {
		t.Errorf("while modifying: %v", ch.Status)
	}
	srv.Settle()
	if ch, _ := a.Apply(ctx, dbTier("db.r5.4xlarge", true)); ch.Status != actuator.Applied || srv.DBs["orders-db"].Class != "db.r5.4xlarge" {
		t.Errorf("second rung: %v, class %s", ch.Status, srv.DBs["orders-db"].Class)
	}
	srv.Settle()
	if ch, _ := a.Apply(ctx, dbTier("db.r5.4xlarge", true)); ch.Status != actuator.InSync {
		t.Errorf("at the planned class: %v", ch.Status)
	}
}

func TestRDSOutsideWindowWaitsForMaintenance(t *testing.T) {
	srv, c := newClients(t)
	srv.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "available"}
	a := &RDS{Client: c.RDS}
	ctx := context.Background()
	ch, err := a.Apply(ctx, dbTier("db.r5.2xlarge", false))
	if err != nil || ch.Status != actuator.Applied || !hasNote(ch.Reasons, "applied at the next maintenance window") {
		t.Fatalf("Apply = %v, %v, %q", ch.Status, err, ch.Reasons)
	}
	if p := srv.Requests("ModifyDBInstance")[0].Params; p["ApplyImmediately"] != "false" {
		t.Errorf("ApplyImmediately = %q, want false", p["ApplyImmediately"])
	}
	if db := srv.DBs["orders-db"]; db.Class != "db.r5.xlarge" || db.PendingClass != "db.r5.2xlarge" {
		t.Errorf("db %+v, want the class pending", db)
	}
	// Pending modifications: no second change, even a further rung.
	ch, _ = a.Apply(ctx, dbTier("db.r5.4xlarge", true))
	if ch.Status != actuator.Waiting || len(srv.Requests("ModifyDBInstance")) != 1 || !hasNote(ch.Reasons, "pending class db.r5.2xlarge") {
		t.Errorf("with a pending class: %v, %q", ch.Status, ch.Reasons)
	}
}

func TestRDSSnapshotFirst(t *testing.T) {
	srv, c := newClients(t)
	srv.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.2xlarge", Status: "available"}
	now := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	a := &RDS{Client: c.RDS, Now: func() time.Time { return now }}
	ctx := context.Background()
	d := dbTier("db.r5.xlarge", true)
	d.Snapshot = true

	ch, err := a.Apply(ctx, d)
	if err != nil || ch.Status != actuator.Applied || len(ch.Fields) != 1 || ch.Fields[0].Field != "snapshot" {
		t.Fatalf("first tick: %v %v %+v; want the snapshot", ch.Status, err, ch.Fields)
	}
	snap := srv.Requests("CreateDBSnapshot")
	want := map[string]string{"DBInstanceIdentifier": "orders-db", "DBSnapshotIdentifier": "prescale-orders-db-20261127-030000"}
	if len(snap) != 1 || !equalParams(snap[0].Params, want) {
		t.Fatalf("CreateDBSnapshot %v, want %v", snap, want)
	}
	if len(srv.Requests("ModifyDBInstance")) != 0 {
		t.Fatal("class changed before the snapshot")
	}
	// The instance is backing up; then the snapshot is still creating.
	if ch, _ := a.Apply(ctx, d); ch.Status != actuator.Waiting {
		t.Errorf("backing up: %v", ch.Status)
	}
	srv.Lock()
	srv.DBs["orders-db"].Status = "available"
	srv.Unlock()
	if ch, _ := a.Apply(ctx, d); ch.Status != actuator.Waiting || !hasNote(ch.Reasons, "is creating") {
		t.Errorf("snapshot creating: %v %q", ch.Status, ch.Reasons)
	}
	srv.Settle()
	ch, err = a.Apply(ctx, d)
	if err != nil || ch.Status != actuator.Applied || srv.DBs["orders-db"].Class != "db.r5.xlarge" {
		t.Fatalf("after the snapshot: %v %v class %s", ch.Status, err, srv.DBs["orders-db"].Class)
	}
	if n := len(srv.Requests("CreateDBSnapshot")); n != 1 {
		t.Errorf("%d snapshots, want 1", n)
	}
}

func TestRDSDryRunDefault(t *testing.T) {
	srv, c := newClients(t)
	srv.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "available"}
	a := &RDS{Client: c.RDS}
	d := dbTier("db.r5.2xlarge", true)
	d.Mode = actuator.DryRun
	ch, err := a.Apply(context.Background(), d)
	if err != nil || ch.Status != actuator.WouldApply || ch.Fields[0].To != "db.r5.2xlarge" {
		t.Fatalf("dry-run: %v %v %+v", ch.Status, err, ch.Fields)
	}
	if len(srv.Requests("ModifyDBInstance", "CreateDBSnapshot")) != 0 {
		t.Error("dry-run wrote")
	}
}

func TestElastiCache(t *testing.T) {
	srv, c := newClients(t)
	srv.Caches["sessions"] = &awstest.ReplicationGroup{NodeType: "cache.m5.xlarge", Status: "available"}
	a := &ElastiCache{Client: c.ElastiCache}
	ctx := context.Background()
	d := Tier{Ref: actuator.Ref{Kind: "cache", Name: "sessions"}, Mode: actuator.Active, Identifier: "sessions",
		Class: "cache.m5.4xlarge", Ladder: []string{"cache.m5.xlarge", "cache.m5.2xlarge", "cache.m5.4xlarge"}}

	ch, err := a.Apply(ctx, d)
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply = %v, %v", ch.Status, err)
	}
	mod := srv.Requests("ModifyReplicationGroup")
	want := map[string]string{"ReplicationGroupId": "sessions", "CacheNodeType": "cache.m5.2xlarge", "ApplyImmediately": "false"}
	if len(mod) != 1 || !equalParams(mod[0].Params, want) {
		t.Fatalf("ModifyReplicationGroup %v, want %v", mod, want)
	}
	// The node type is pending (on the member clusters): wait.
	if ch, _ := a.Apply(ctx, d); ch.Status != actuator.Waiting || !hasNote(ch.Reasons, "pending node type cache.m5.2xlarge") {
		t.Errorf("pending: %v %q", ch.Status, ch.Reasons)
	}
	// Not available: wait.
	srv.Lock()
	srv.Caches["sessions"] = &awstest.ReplicationGroup{NodeType: "cache.m5.2xlarge", Status: "modifying"}
	srv.Unlock()
	if ch, _ := a.Apply(ctx, d); ch.Status != actuator.Waiting || len(srv.Requests("ModifyReplicationGroup")) != 1 {
		t.Errorf("modifying: %v", ch.Status)
	}
	if ch, _ := a.Apply(ctx, Tier{Ref: d.Ref, Mode: actuator.Active, Identifier: "other", Class: "x", Ladder: d.Ladder}); ch.Status != actuator.Missing {
		t.Errorf("missing group: %v", ch.Status)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		action   string
		faults   []awstest.Fault
		wantErr  string // "" means success
		requests int    // requests the action received: retries show here
		status   actuator.Status
	}{
		{name: "throttling retried by the SDK", action: "DescribeDBInstances", faults: []awstest.Fault{awstest.Throttling, awstest.Throttling},
			requests: 3, status: actuator.Applied},
		{name: "throttling beyond the attempts fails", action: "DescribeDBInstances", faults: []awstest.Fault{awstest.Throttling, awstest.Throttling, awstest.Throttling},
			requests: 3, status: actuator.Failed, wantErr: "Throttling"},
		{name: "access denied not retried", action: "ModifyDBInstance", faults: []awstest.Fault{awstest.AccessDenied},
			requests: 1, status: actuator.Failed, wantErr: "AccessDenied"},
		{name: "validation error not retried", action: "ModifyDBInstance",
			faults:   []awstest.Fault{{Status: 400, Code: "ValidationError", Message: "Invalid DB Instance class: db.r5.2xlarge"}},
			requests: 1, status: actuator.Failed, wantErr: "not retried: AWS rejected the parameters"},
		{name: "invalid state not retried", action: "ModifyDBInstance",
			faults:   []awstest.Fault{{Status: 400, Code: "InvalidDBInstanceState", Message: "Database instance is not in available state."}},
			requests: 1, status: actuator.Failed, wantErr: "the resource is busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newClients(t)
			srv.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "available"}
			srv.Fail(tt.action, tt.faults...)
			a := &RDS{Client: c.RDS}
			ch, err := a.Apply(context.Background(), dbTier("db.r5.2xlarge", true))
			if ch.Status != tt.status {
				t.Errorf("status %v, want %v (err %v)", ch.Status, tt.status, err)
			}
			if got := len(srv.Requests(tt.action)); got != tt.requests {
				t.Errorf("%s received %d requests, want %d", tt.action, got, tt.requests)
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "database orders") {
				t.Errorf("err %v, want it to name the database and contain %q", err, tt.wantErr)
			}
			if !errors.Is(ch.Err, err) && ch.Err.Error() != err.Error() {
				t.Errorf("change error %v differs from returned %v", ch.Err, err)
			}
		})
	}
}

func TestAccessDeniedEKS(t *testing.T) {
	srv, c := newClients(t)
	srv.Nodegroups["prod/general"] = &awstest.Nodegroup{Min: 2, Max: 10, Desired: 4, Status: "ACTIVE"}
	srv.Fail("UpdateNodegroupConfig", awstest.Fault{Status: 403, Code: "AccessDeniedException", Message: "not authorized"})
	a := &EKSNodegroup{Client: c.EKS}
	_, err := a.Apply(context.Background(), EKSFloor{NodeFloor: NodeFloor{Ref: ngRef(), Mode: actuator.Active, Min: 3}, Cluster: "prod", Nodegroup: "general"})
	if err == nil || !strings.Contains(err.Error(), "grant prescale's IAM role") || len(srv.Requests("UpdateNodegroupConfig")) != 1 {
		t.Errorf("err %v after %d requests", err, len(srv.Requests("UpdateNodegroupConfig")))
	}
}

func TestLoadConfigRegion(t *testing.T) {
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	ctx := context.Background()
	if _, err := LoadConfig(ctx, ""); err == nil || !strings.Contains(err.Error(), "no region") {
		t.Errorf("no region anywhere: err %v", err)
	}
	cfg, err := LoadConfig(ctx, "eu-central-1")
	if err != nil || cfg.Region != "eu-central-1" {
		t.Errorf("policy region: %v %v", cfg.Region, err)
	}
	t.Setenv("AWS_REGION", "us-west-2")
	cfg, err = LoadConfig(ctx, "")
	if err != nil || cfg.Region != "us-west-2" {
		t.Errorf("environment region: %v %v", cfg.Region, err)
	}
}

func equalParams(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
