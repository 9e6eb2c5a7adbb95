package live

import (
	"context"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/aws/awstest"
	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/metrics"
	"github.com/prescale/prescale/policy"
)

// The HPA and placeholder paths are tested against a real API server in
// actuator/hpa and actuator/headroom; this test covers the mapping of plan
// resources onto the AWS actuators, through the real SDK.

func newActuator(t *testing.T) (*awstest.Server, *Actuator, *actuator.Journal) {
	t.Helper()
	srv := awstest.New()
	t.Cleanup(srv.Close)
	var regions []string
	cfg := func(_ context.Context, region string) (sdkaws.Config, error) {
		regions = append(regions, region)
		return sdkaws.Config{
			Region:       region,
			Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
			BaseEndpoint: sdkaws.String(srv.URL),
			Retryer: func() sdkaws.Retryer {
				return retry.NewStandard(func(o *retry.StandardOptions) {
					o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				})
			},
		}, nil
	}
	var j actuator.Journal
	return srv, New(nil, cfg, &j), &j
}

func shopPolicy(dbDryRun bool) *config.Policy {
	return &config.Policy{
		Metadata: config.Metadata{Name: "shop"},
		Spec: config.Spec{
			Targets: []config.Target{{Name: "backend", NodeGroup: "workers", Database: "orders",
				HPA: config.HPA{Namespace: "shop", Name: "backend", ScaleDown: config.ScaleDown{Period: config.Duration(5 * time.Minute)}}}},
			NodeGroups: []config.NodeGroup{{Name: "workers", Provider: "asg", ASG: &config.ASGRef{Name: "shop-workers", Region: "eu-west-1"}, MinSize: 2, MaxSize: 10}},
			Databases: []config.Database{{Name: "orders", Provider: "rds", Identifier: "orders-db", Region: "eu-west-1", DryRun: &dbDryRun,
				Tiers:         []config.Tier{{Class: "db.r5.large"}, {Class: "db.r5.xlarge"}, {Class: "db.r5.2xlarge"}},
				ChangeWindows: []config.Window{{Schedule: "0 2 * * *", Duration: config.Duration(2 * time.Hour)}}}},
			Caches: []config.Database{{Name: "sessions", Provider: "elasticache", Identifier: "sessions", Region: "us-east-1",
				Tiers: []config.Tier{{Class: "cache.r5.large"}, {Class: "cache.r5.xlarge"}}}},
		},
	}
}

func TestCurrent(t *testing.T) {
	srv, a, _ := newActuator(t)
	srv.ASGs["shop-workers"] = &awstest.ASG{Min: 3, Max: 10, Desired: 4}
	srv.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "available"}
	srv.Caches["sessions"] = &awstest.ReplicationGroup{NodeType: "cache.r5.large", Status: "available"}
	cur, err := a.Current(context.Background(), shopPolicy(false))
	// No Kubernetes client: the HPA cannot be read, and that is said.
	if err == nil {
		t.Error("Current without a Kubernetes client reported no error for the HPA")
	}
	if cur.NodeGroups["workers"] != 3 || cur.Databases["orders"] != "db.r5.xlarge" || cur.Caches["sessions"] != "cache.r5.large" {
		t.Errorf("Current = %+v", cur)
	}
}

func TestApplyMapping(t *testing.T) {
	srv, a, j := newActuator(t)
	srv.ASGs["shop-workers"] = &awstest.ASG{Min: 2, Max: 10, Desired: 2}
	srv.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.large", Status: "available"}
	ctx := context.Background()
	p := shopPolicy(false)

	out, err := a.Apply(ctx, p, policy.Resource{Target: "backend", Kind: policy.KindNodeGroup, Name: "workers", Field: policy.FieldMinSize,
		Current: 2, Desired: 14, Reasons: []string{"backend: 60 pods → 14 nodes"}})
	if err != nil || out.Result != metrics.ResultApplied || out.Applied != 10 {
		t.Errorf("node group: %+v %v; want applied, bound at MaxSize 10", out, err)
	}
	if srv.ASGs["shop-workers"].Min != 10 {
		t.Errorf("ASG min %d", srv.ASGs["shop-workers"].Min)
	}

	out, err = a.Apply(ctx, p, policy.Resource{Target: "backend", Kind: policy.KindDatabase, Name: "orders", Field: policy.FieldInstanceClass,
		Current: "db.r5.large", Desired: "db.r5.xlarge", Reasons: []string{"inside a change window"}})
	if err != nil || out.Result != metrics.ResultApplied || out.Applied != "db.r5.xlarge" {
		t.Errorf("database: %+v %v", out, err)
	}
	mod := srv.Requests("ModifyDBInstance")
	if len(mod) != 1 || mod[0].Params["ApplyImmediately"] != "true" || mod[0].Params["DBInstanceClass"] != "db.r5.xlarge" {
		t.Errorf("ModifyDBInstance %v: a database with change windows applies inside them, immediately", mod)
	}

	// Dry-run databases never change, whatever the loop asks.
	srv.Settle()
	out, err = a.Apply(ctx, shopPolicy(true), policy.Resource{Target: "backend", Kind: policy.KindDatabase, Name: "orders", Field: policy.FieldInstanceClass,
		Current: "db.r5.xlarge", Desired: "db.r5.2xlarge"})
	if err != nil || out.Result != metrics.ResultDryRun || len(srv.Requests("ModifyDBInstance")) != 1 {
		t.Errorf("dry-run database: %+v %v", out, err)
	}

	if _, err := a.Apply(ctx, p, policy.Resource{Kind: policy.KindNodeGroup, Name: "nope", Desired: 3}); err == nil {
		t.Error("unknown node group accepted")
	}
	if got := len(j.Changes()); got != 3 {
		t.Errorf("%d changes recorded, want 3", got)
	}
}

// TestASGCapacityMode: with asg.capacityMode desiredCapacity the plan
// reaches the group's DesiredCapacity, only upward and within its bounds,
// and MinSize is never written; the default writes MinSize only.
func TestASGCapacityMode(t *testing.T) {
	tests := []struct {
		name     string
		mode     string
		group    awstest.ASG
		desired  int
		want     awstest.ASG
		actions  []string // the write actions sent, in order
		applied  any
		reasonIn string
	}{
		{name: "desired raised", mode: "desiredCapacity", group: awstest.ASG{Min: 2, Max: 10, Desired: 3}, desired: 6,
			want: awstest.ASG{Min: 2, Max: 10, Desired: 6}, actions: []string{"SetDesiredCapacity"}, applied: 6},
		{name: "desired bound at the maximum", mode: "desiredCapacity", group: awstest.ASG{Min: 2, Max: 10, Desired: 3}, desired: 14,
			want: awstest.ASG{Min: 2, Max: 10, Desired: 10}, actions: []string{"SetDesiredCapacity"}, applied: 10, reasonIn: "group maximum is 10"},
		{name: "desired never lowered", mode: "desiredCapacity", group: awstest.ASG{Min: 2, Max: 10, Desired: 8}, desired: 4,
			want: awstest.ASG{Min: 2, Max: 10, Desired: 8}, reasonIn: "only raised, never lowered"},
		{name: "desired at least the group's minimum", mode: "desiredCapacity", group: awstest.ASG{Min: 5, Max: 10, Desired: 5}, desired: 3,
			want: awstest.ASG{Min: 5, Max: 10, Desired: 5}},
		{name: "minSize is the default", mode: "", group: awstest.ASG{Min: 2, Max: 10, Desired: 3}, desired: 6,
			want: awstest.ASG{Min: 6, Max: 10, Desired: 6}, actions: []string{"UpdateAutoScalingGroup"}, applied: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, a, j := newActuator(t)
			g := tt.group
			srv.ASGs["shop-workers"] = &g
			p := shopPolicy(false)
			p.Spec.NodeGroups[0].ASG.CapacityMode = tt.mode
			out, err := a.Apply(context.Background(), p, policy.Resource{Target: "backend", Kind: policy.KindNodeGroup, Name: "workers",
				Field: policy.FieldMinSize, Current: tt.group.Min, Desired: tt.desired, Reasons: []string{"forecast"}})
			if err != nil || out.Result != metrics.ResultApplied {
				t.Fatalf("Apply = %+v, %v", out, err)
			}
			if tt.applied != nil && out.Applied != tt.applied {
				t.Errorf("applied %v, want %v", out.Applied, tt.applied)
			}
			if got := *srv.ASGs["shop-workers"]; got != tt.want {
				t.Errorf("group %+v, want %+v", got, tt.want)
			}
			var sent []string
			for _, r := range srv.Requests("SetDesiredCapacity", "UpdateAutoScalingGroup") {
				sent = append(sent, r.Action)
				if r.Action == "SetDesiredCapacity" && r.Params["HonorCooldown"] != "false" {
					t.Errorf("SetDesiredCapacity %v: a planned raise does not wait for a cooldown", r.Params)
				}
				if _, ok := r.Params["MinSize"]; ok && tt.mode == "desiredCapacity" {
					t.Errorf("MinSize written in desiredCapacity mode: %v", r.Params)
				}
			}
			if strings.Join(sent, ",") != strings.Join(tt.actions, ",") {
				t.Errorf("writes %v, want %v", sent, tt.actions)
			}
			if ch := j.Changes(); len(ch) != 1 || !strings.Contains(strings.Join(ch[0].Reasons, ";"), tt.reasonIn) {
				t.Errorf("changes %+v, want one with a reason containing %q", ch, tt.reasonIn)
			}
		})
	}
}

// TestSnapshotBeforeChange: with snapshotBeforeChange the first tick takes
// a snapshot and changes nothing else, the class waits while it is made,
// and the class change follows once it is available.
func TestSnapshotBeforeChange(t *testing.T) {
	srv, a, _ := newActuator(t)
	srv.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.large", Status: "available"}
	p := shopPolicy(false)
	p.Spec.Databases[0].SnapshotBeforeChange = true
	ctx := context.Background()
	r := policy.Resource{Target: "backend", Kind: policy.KindDatabase, Name: "orders", Field: policy.FieldInstanceClass,
		Current: "db.r5.large", Desired: "db.r5.xlarge", Reasons: []string{"Black Friday T-1d"}}

	out, err := a.Apply(ctx, p, r)
	if err != nil || out.Result != metrics.ResultApplied || out.Applied != "db.r5.large" {
		t.Errorf("first tick: %+v %v; want the snapshot applied and the class still db.r5.large", out, err)
	}
	if n := len(srv.Requests("ModifyDBInstance")); n != 0 {
		t.Fatalf("ModifyDBInstance sent with the snapshot not yet made (%d)", n)
	}
	// The snapshot is being made: the class waits.
	if out, err := a.Apply(ctx, p, r); err != nil || out.Result != metrics.ResultConflict || len(srv.Requests("ModifyDBInstance")) != 0 {
		t.Errorf("while the snapshot is made: %+v %v", out, err)
	}
	srv.Settle()
	out, err = a.Apply(ctx, p, r)
	if err != nil || out.Result != metrics.ResultApplied || out.Applied != "db.r5.xlarge" {
		t.Errorf("after the snapshot: %+v %v", out, err)
	}
	writes := srv.Requests("CreateDBSnapshot", "ModifyDBInstance")
	if len(writes) != 2 || writes[0].Action != "CreateDBSnapshot" || writes[1].Action != "ModifyDBInstance" ||
		writes[0].Params["DBInstanceIdentifier"] != "orders-db" || writes[1].Params["DBInstanceClass"] != "db.r5.xlarge" {
		t.Errorf("writes %+v, want CreateDBSnapshot of orders-db then ModifyDBInstance to db.r5.xlarge", writes)
	}
	if !strings.HasPrefix(writes[0].Params["DBSnapshotIdentifier"], "prescale-orders-db-") {
		t.Errorf("snapshot id %q", writes[0].Params["DBSnapshotIdentifier"])
	}

	// Without the setting, no snapshot is taken.
	srv2, b, _ := newActuator(t)
	srv2.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.large", Status: "available"}
	if _, err := b.Apply(ctx, shopPolicy(false), r); err != nil || len(srv2.Requests("CreateDBSnapshot")) != 0 || len(srv2.Requests("ModifyDBInstance")) != 1 {
		t.Errorf("default: %v, %d snapshots, %d modifications", err, len(srv2.Requests("CreateDBSnapshot")), len(srv2.Requests("ModifyDBInstance")))
	}
}

// Read replicas: Current counts the source's replicas; the plan's count is
// applied through CreateDBInstanceReadReplica and DeleteDBInstance of
// prescale's own replicas; a dry-run database changes nothing.
func TestReadReplicas(t *testing.T) {
	srv, a, _ := newActuator(t)
	srv.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.large", Status: "available"}
	srv.DBs["orders-reader"] = &awstest.DBInstance{Class: "db.r5.large", Status: "available", ReplicaOf: "orders-db"}
	ctx := context.Background()
	policyWith := func(dryRun bool) *config.Policy {
		p := shopPolicy(dryRun)
		p.Spec.Databases[0].ReadReplicas = &config.ReadReplicas{Count: 1, Max: 3, Class: "db.r5.large"}
		return p
	}
	p := policyWith(false)
	cur, _ := a.Current(ctx, p)
	if cur.ReadReplicas["orders"] != 1 {
		t.Fatalf("Current read replicas %v, want orders: 1 (the owner's)", cur.ReadReplicas)
	}
	replicas := func(cur, desired int) policy.Resource {
		return policy.Resource{Target: "backend", Kind: policy.KindDatabase, Name: "orders", Field: policy.FieldReadReplicas,
			Current: cur, Desired: desired, Reasons: []string{"black friday: 3 read replicas"}}
	}
	// Dry-run first: nothing created.
	out, err := a.Apply(ctx, policyWith(true), replicas(1, 3))
	if err != nil || out.Result != metrics.ResultDryRun || len(srv.Requests("CreateDBInstanceReadReplica")) != 0 {
		t.Fatalf("dry-run: %+v %v", out, err)
	}
	out, err = a.Apply(ctx, p, replicas(1, 3))
	if err != nil || out.Result != metrics.ResultApplied || out.Applied != 3 {
		t.Fatalf("raise: %+v %v; want applied 3", out, err)
	}
	creates := srv.Requests("CreateDBInstanceReadReplica")
	if len(creates) != 2 || creates[0].Params["DBInstanceIdentifier"] != "orders-db-prescale-1" || creates[1].Params["DBInstanceIdentifier"] != "orders-db-prescale-2" ||
		creates[0].Params["DBInstanceClass"] != "db.r5.large" {
		t.Fatalf("creates %+v; want orders-db-prescale-1 and -2 of class db.r5.large", creates)
	}
	srv.Settle()
	if cur, _ := a.Current(ctx, p); cur.ReadReplicas["orders"] != 3 {
		t.Errorf("Current after the raise %v, want 3", cur.ReadReplicas)
	}
	// Back to the owner's count: only prescale's two go.
	out, err = a.Apply(ctx, p, replicas(3, 1))
	if err != nil || out.Result != metrics.ResultApplied || out.Applied != 1 {
		t.Fatalf("lower: %+v %v; want applied 1", out, err)
	}
	srv.Settle()
	srv.Lock()
	_, kept := srv.DBs["orders-reader"]
	n := len(srv.DBs)
	srv.Unlock()
	if !kept || n != 2 {
		t.Errorf("after the way down %d instances (owner's replica kept: %v); want the source and the owner's replica", n, kept)
	}
}
