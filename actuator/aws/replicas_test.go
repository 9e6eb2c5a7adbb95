package aws

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/aws/awstest"
)

func replicaRef() actuator.Ref {
	return actuator.Ref{Kind: "database", Name: "orders", Target: "backend"}
}

func want(count int) ReplicaCount {
	return ReplicaCount{Ref: replicaRef(), Mode: actuator.Active, Reasons: []string{"black friday: 2 read replicas"},
		Source: "orders-db", Count: count}
}

func prescaleTags(source string) map[string]string {
	return map[string]string{TagManagedBy: "prescale", TagReplicaOf: source}
}

// replicasOf lists the source's replicas in the server's state.
func replicasOf(srv *awstest.Server, source string) []string {
	srv.Lock()
	defer srv.Unlock()
	var ids []string
	for id, d := range srv.DBs {
		if d.ReplicaOf == source {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

func newReplicas(t *testing.T) (*awstest.Server, *Replicas, *actuator.Journal) {
	t.Helper()
	srv, c := newClients(t)
	srv.DBs["orders-db"] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "available"}
	var j actuator.Journal
	return srv, &Replicas{Client: c.RDS, Recorder: &j}, &j
}

func TestReplicasCreatedNamedAndTagged(t *testing.T) {
	srv, a, _ := newReplicas(t)
	ctx := context.Background()
	ch, err := a.Apply(ctx, want(2))
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply = %v, %v; want applied", ch.Status, err)
	}
	if got := replicasOf(srv, "orders-db"); strings.Join(got, " ") != "orders-db-prescale-1 orders-db-prescale-2" {
		t.Fatalf("replicas %v, want orders-db-prescale-1 and -2", got)
	}
	creates := srv.Requests("CreateDBInstanceReadReplica")
	if len(creates) != 2 {
		t.Fatalf("%d creates, want 2", len(creates))
	}
	p := creates[0].Params
	if p["SourceDBInstanceIdentifier"] != "orders-db" || p["Tags.Tag.1.Key"] != TagManagedBy || p["Tags.Tag.1.Value"] != "prescale" ||
		p["Tags.Tag.2.Key"] != TagReplicaOf || p["Tags.Tag.2.Value"] != "orders-db" {
		t.Errorf("create params %v: want the source and both prescale tags", p)
	}
	if _, set := p["DBInstanceClass"]; set {
		t.Errorf("no class asked: the replica takes the source's, but DBInstanceClass was sent: %v", p)
	}
	srv.Lock()
	if d := srv.DBs["orders-db-prescale-1"]; d.Class != "db.r5.xlarge" || d.Status != "creating" {
		t.Errorf("replica %+v, want the source's class, creating", d)
	}
	srv.Unlock()
	if f := ch.Fields; len(f) != 1 || f[0].Field != FieldReadReplicas || f[0].From != "0" || f[0].To != "2" {
		t.Errorf("fields %+v, want readReplicas 0 → 2", f)
	}

	// While they are created (and after), the next ticks create nothing.
	for i := 0; i < 2; i++ {
		ch, err = a.Apply(ctx, want(2))
		if err != nil || ch.Status != actuator.InSync {
			t.Fatalf("tick %d: Apply = %v, %v; want in-sync", i, ch.Status, err)
		}
		srv.Settle()
	}
	if n := len(srv.Requests("CreateDBInstanceReadReplica")); n != 2 {
		t.Errorf("%d creates after three ticks, want 2", n)
	}
	if n, found, err := a.Count(ctx, "orders-db"); n != 2 || !found || err != nil {
		t.Errorf("Count = %d, %v, %v; want 2", n, found, err)
	}
}

func TestReplicasClass(t *testing.T) {
	srv, a, _ := newReplicas(t)
	d := want(1)
	d.Class = "db.r5.large"
	if ch, err := a.Apply(context.Background(), d); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply = %v, %v", ch.Status, err)
	}
	srv.Lock()
	defer srv.Unlock()
	if c := srv.DBs["orders-db-prescale-1"].Class; c != "db.r5.large" {
		t.Errorf("replica class %s, want db.r5.large", c)
	}
}

// Throttling is retried by the SDK with backoff; the deterministic name
// means a retry cannot make a second copy.
func TestReplicasThrottled(t *testing.T) {
	srv, a, _ := newReplicas(t)
	ctx := context.Background()
	srv.Fail("CreateDBInstanceReadReplica", awstest.Throttling, awstest.Throttling)
	if ch, err := a.Apply(ctx, want(1)); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply after 2 throttles = %v, %v; want applied (the SDK retries)", ch.Status, err)
	}
	if n := len(srv.Requests("CreateDBInstanceReadReplica")); n != 3 {
		t.Errorf("%d create requests, want 3 (2 throttled, 1 served)", n)
	}
	if got := replicasOf(srv, "orders-db"); len(got) != 1 {
		t.Errorf("replicas %v, want exactly one", got)
	}

	// Throttled past the retryer's 3 attempts: a failed change, nothing
	// made; the next tick makes it once.
	srv.Fail("CreateDBInstanceReadReplica", awstest.Throttling, awstest.Throttling, awstest.Throttling)
	ch, err := a.Apply(ctx, want(2))
	if err == nil || ch.Status != actuator.Failed || !strings.Contains(err.Error(), "Throttling") {
		t.Fatalf("Apply throttled 3 times = %v, %v; want failed with Throttling", ch.Status, err)
	}
	if got := replicasOf(srv, "orders-db"); len(got) != 1 {
		t.Fatalf("replicas %v after a throttled create, want still one", got)
	}
	if ch, err := a.Apply(ctx, want(2)); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("next tick = %v, %v; want applied", ch.Status, err)
	}
	if got := replicasOf(srv, "orders-db"); strings.Join(got, " ") != "orders-db-prescale-1 orders-db-prescale-2" {
		t.Errorf("replicas %v, want -1 and -2", got)
	}
}

// A create that AWS made but whose answer was lost: the SDK retries the
// 5xx, meets DBInstanceAlreadyExists on the same name, and prescale takes
// its own replica as created.
func TestReplicasLostAnswer(t *testing.T) {
	srv, a, _ := newReplicas(t)
	srv.LoseResponse("CreateDBInstanceReadReplica", awstest.InternalFailure)
	if ch, err := a.Apply(context.Background(), want(1)); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply = %v, %v; want applied", ch.Status, err)
	}
	if n := len(srv.Requests("CreateDBInstanceReadReplica")); n != 2 {
		t.Errorf("%d create requests, want 2 (the lost one and the retry)", n)
	}
	if got := replicasOf(srv, "orders-db"); len(got) != 1 {
		t.Errorf("replicas %v, want exactly one", got)
	}
}

// A name prescale would use, taken by an instance it did not create, is
// not adopted.
func TestReplicasNameTakenByAnother(t *testing.T) {
	srv, a, _ := newReplicas(t)
	srv.DBs["orders-db-prescale-1"] = &awstest.DBInstance{Class: "db.t3.micro", Status: "available"} // not a replica
	ch, err := a.Apply(context.Background(), want(1))
	if err == nil || ch.Status != actuator.Failed || !strings.Contains(err.Error(), "prescale did not create") {
		t.Fatalf("Apply = %v, %v; want failed: name taken", ch.Status, err)
	}
}

func TestReplicasInvalidDBInstanceState(t *testing.T) {
	srv, a, _ := newReplicas(t)
	ctx := context.Background()
	// The source is busy (a class change): wait, call nothing.
	srv.DBs["orders-db"].Status = "modifying"
	ch, err := a.Apply(ctx, want(2))
	if err != nil || ch.Status != actuator.Waiting || len(srv.Requests("CreateDBInstanceReadReplica")) != 0 {
		t.Fatalf("Apply on a modifying source = %v, %v, %d creates; want waiting, none", ch.Status, err, len(srv.Requests("CreateDBInstanceReadReplica")))
	}
	// Busy between the read and the create (a backup started): AWS says
	// InvalidDBInstanceState, which is not retried now; the next tick is.
	srv.Settle()
	srv.Fail("CreateDBInstanceReadReplica", awstest.InvalidDBInstanceState)
	ch, err = a.Apply(ctx, want(2))
	if err == nil || ch.Status != actuator.Failed || !strings.Contains(err.Error(), "the next tick tries again") {
		t.Fatalf("Apply = %v, %v; want failed, busy, tried next tick", ch.Status, err)
	}
	if n := len(srv.Requests("CreateDBInstanceReadReplica")); n != 1 {
		t.Errorf("%d create requests, want 1 (InvalidDBInstanceState is not retried by the SDK)", n)
	}
	if ch, err := a.Apply(ctx, want(2)); err != nil || ch.Status != actuator.Applied {
		t.Fatalf("next tick = %v, %v; want applied", ch.Status, err)
	}
	if got := replicasOf(srv, "orders-db"); len(got) != 2 {
		t.Errorf("replicas %v, want 2 (no double create)", got)
	}
}

func TestReplicasDryRun(t *testing.T) {
	srv, a, _ := newReplicas(t)
	d := want(2)
	d.Mode = actuator.DryRun
	ch, err := a.Apply(context.Background(), d)
	if err != nil || ch.Status != actuator.WouldApply || len(ch.Fields) != 1 || ch.Fields[0].To != "2" {
		t.Fatalf("dry-run Apply = %+v, %v; want would-apply 0 → 2", ch, err)
	}
	if n := len(srv.Requests("CreateDBInstanceReadReplica", "DeleteDBInstance")); n != 0 {
		t.Errorf("dry-run made %d create/delete calls", n)
	}
}

// Removal takes only prescale's replicas (its name and both tags), highest
// number first; the owner's replica, one with prescale's name but no tag,
// and one tagged by another prescale stay.
func TestReplicasRemoveOnlyOwn(t *testing.T) {
	srv, a, _ := newReplicas(t)
	ctx := context.Background()
	srv.DBs["orders-db-reader"] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "available", ReplicaOf: "orders-db"}
	for _, n := range []string{"1", "2", "3"} {
		srv.DBs["orders-db-prescale-"+n] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "available", ReplicaOf: "orders-db", Tags: prescaleTags("orders-db")}
	}
	srv.DBs["orders-db-prescale-4"] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "available", ReplicaOf: "orders-db"}
	srv.DBs["orders-db-prescale-5"] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "available", ReplicaOf: "orders-db",
		Tags: map[string]string{TagManagedBy: "prescale-shard-b", TagReplicaOf: "orders-db"}}

	// 6 replicas, plan 4: prescale's -3 and -2 go.
	ch, err := a.Apply(ctx, want(4))
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply = %v, %v", ch.Status, err)
	}
	srv.Settle()
	if got := strings.Join(replicasOf(srv, "orders-db"), " "); got != "orders-db-prescale-1 orders-db-prescale-4 orders-db-prescale-5 orders-db-reader" {
		t.Fatalf("replicas %s, want -3 and -2 removed first", got)
	}
	for _, r := range srv.Requests("DeleteDBInstance") {
		if r.Params["SkipFinalSnapshot"] != "true" {
			t.Errorf("delete %v: want SkipFinalSnapshot (a replica has no final snapshot)", r.Params)
		}
	}

	// Plan 0: only -1 is prescale's; the other three are kept, and said.
	ch, err = a.Apply(ctx, want(0))
	if err != nil || ch.Status != actuator.Applied || ch.Fields[0].To != "3" {
		t.Fatalf("Apply = %+v, %v; want applied 4 → 3", ch, err)
	}
	if !hasNote(ch.Reasons, "3 read replicas above the plan are not prescale's") {
		t.Errorf("reasons %q do not say the others are kept", ch.Reasons)
	}
	srv.Settle()
	ch, err = a.Apply(ctx, want(0))
	if err != nil || ch.Status != actuator.InSync || len(srv.Requests("DeleteDBInstance")) != 3 {
		t.Fatalf("Apply = %v, %v with %d deletes; want in-sync, 3 deletes in all", ch.Status, err, len(srv.Requests("DeleteDBInstance")))
	}
	if got := strings.Join(replicasOf(srv, "orders-db"), " "); got != "orders-db-prescale-4 orders-db-prescale-5 orders-db-reader" {
		t.Errorf("replicas %s, want the three that are not prescale's", got)
	}
}

// A replica still being created is removed once it is available; a
// delete whose answer was lost is not an error.
func TestReplicasRemoveWaitsAndRetries(t *testing.T) {
	srv, a, _ := newReplicas(t)
	ctx := context.Background()
	srv.DBs["orders-db-prescale-1"] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "creating", ReplicaOf: "orders-db", Tags: prescaleTags("orders-db")}
	ch, err := a.Apply(ctx, want(0))
	if err != nil || ch.Status != actuator.Waiting || len(srv.Requests("DeleteDBInstance")) != 0 {
		t.Fatalf("Apply = %v, %v; want waiting, no delete", ch.Status, err)
	}
	srv.Settle()
	srv.LoseResponse("DeleteDBInstance", awstest.InternalFailure)
	ch, err = a.Apply(ctx, want(0))
	if err != nil || ch.Status != actuator.Applied {
		t.Fatalf("Apply with a lost delete answer = %v, %v; want applied", ch.Status, err)
	}
	if n := len(srv.Requests("DeleteDBInstance")); n != 2 {
		t.Errorf("%d delete requests, want 2 (lost, then InvalidDBInstanceState on the deleting instance)", n)
	}
	// Being deleted, it no longer counts.
	if n, _, _ := a.Count(ctx, "orders-db"); n != 0 {
		t.Errorf("Count = %d while deleting, want 0", n)
	}
}

func TestReplicasSourceMissingOrReplica(t *testing.T) {
	srv, a, _ := newReplicas(t)
	ctx := context.Background()
	d := want(1)
	d.Source = "nope"
	if ch, err := a.Apply(ctx, d); err != nil || ch.Status != actuator.Missing {
		t.Errorf("missing source: %v, %v; want missing", ch.Status, err)
	}
	srv.DBs["orders-db-reader"] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "available", ReplicaOf: "orders-db"}
	d.Source = "orders-db-reader"
	if _, err := a.Apply(ctx, d); err == nil || !strings.Contains(err.Error(), "itself a read replica of orders-db") {
		t.Errorf("replica as source: %v; want an error naming its source", err)
	}
	d.Source = strings.Repeat("x", 60)
	if _, err := a.Apply(ctx, d); err == nil || !strings.Contains(err.Error(), "above RDS's 63") {
		t.Errorf("long identifier: %v; want the name length refused", err)
	}
	if n := len(srv.Requests("CreateDBInstanceReadReplica")); n != 0 {
		t.Errorf("%d creates, want none", n)
	}
}

// Reading a source's replicas costs two calls whatever their number: the
// source, then every replica in one filtered DescribeDBInstances.
func TestReplicasReadInTwoCalls(t *testing.T) {
	srv, a, _ := newReplicas(t)
	for _, n := range []string{"1", "2", "3", "4", "5"} {
		srv.DBs["orders-db-prescale-"+n] = &awstest.DBInstance{Class: "db.r5.xlarge", Status: "available", ReplicaOf: "orders-db", Tags: prescaleTags("orders-db")}
	}
	srv.DBs["unrelated"] = &awstest.DBInstance{Class: "db.t3.micro", Status: "available"}
	if n, _, err := a.Count(context.Background(), "orders-db"); n != 5 || err != nil {
		t.Fatalf("Count = %d, %v; want 5", n, err)
	}
	reqs := srv.Requests("DescribeDBInstances")
	if len(reqs) != 2 || reqs[1].Params["Filters.Filter.1.Name"] != "db-instance-id" || reqs[1].Params["Filters.Filter.1.Values.Value.5"] == "" {
		t.Errorf("%d DescribeDBInstances calls %v; want 2, the second filtered on the 5 replicas", len(reqs), reqs)
	}
}
