package aws

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	ectypes "github.com/aws/aws-sdk-go-v2/service/elasticache/types"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/prescale/prescale/actuator"
)

// Tier is the class the plan wants for one database or cache.
type Tier struct {
	Ref     actuator.Ref
	Mode    actuator.Mode
	Reasons []string
	// Identifier is the DB instance identifier or replication group id.
	Identifier string
	// Class is the planned class (DB instance class or cache node type).
	Class string
	// Ladder is the policy's tiers, smallest first. A move is one rung.
	Ladder []string
	// ApplyImmediately is true when the change may happen now (the plan is
	// inside an allowed window, or a rule allows it outside); otherwise
	// AWS applies it at the resource's next maintenance window.
	ApplyImmediately bool
	// Snapshot asks for a manual snapshot before an RDS class change; the
	// class change waits until the snapshot is available.
	Snapshot bool
}

// NextRung is the one-rung-at-a-time rule: the class after cur on the way
// to want. It errors when either class is not on the ladder, because a
// class prescale does not know must not be moved blindly.
func NextRung(ladder []string, cur, want string) (next string, notes []string, err error) {
	ci, wi := index(ladder, cur), index(ladder, want)
	switch {
	case ci < 0:
		return "", nil, fmt.Errorf("current class %s is not on the ladder %s", cur, strings.Join(ladder, " → "))
	case wi < 0:
		return "", nil, fmt.Errorf("planned class %s is not on the ladder %s", want, strings.Join(ladder, " → "))
	case wi == ci:
		return cur, nil, nil
	case wi > ci:
		next = ladder[ci+1]
	default:
		next = ladder[ci-1]
	}
	if next != want {
		notes = append(notes, fmt.Sprintf("one rung at a time: %s → %s now, %s later", cur, next, want))
	}
	return next, notes, nil
}

func index(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func timing(immediate bool) string {
	if immediate {
		return "applied immediately (inside an allowed window)"
	}
	return "applied at the next maintenance window"
}

// RDSAPI is the part of the RDS client the database actuator uses.
type RDSAPI interface {
	DescribeDBInstances(context.Context, *rds.DescribeDBInstancesInput, ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	ModifyDBInstance(context.Context, *rds.ModifyDBInstanceInput, ...func(*rds.Options)) (*rds.ModifyDBInstanceOutput, error)
	CreateDBSnapshot(context.Context, *rds.CreateDBSnapshotInput, ...func(*rds.Options)) (*rds.CreateDBSnapshotOutput, error)
	DescribeDBSnapshots(context.Context, *rds.DescribeDBSnapshotsInput, ...func(*rds.Options)) (*rds.DescribeDBSnapshotsOutput, error)
}

// RDS moves RDS instances along their class ladder with ModifyDBInstance:
// one rung at a time, only when the instance is available with no pending
// modifications, optionally after a manual snapshot.
type RDS struct {
	Client   RDSAPI
	Recorder actuator.Recorder
	Now      func() time.Time

	mu sync.Mutex
	// snapshots are the snapshots taken for a class change not yet made,
	// by instance. In memory: after a restart a new snapshot is taken.
	snapshots map[string]string
}

func (a *RDS) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Apply moves the instance one rung toward the planned class.
func (a *RDS) Apply(ctx context.Context, d Tier) (actuator.Change, error) {
	return actuator.Run(ctx, a.Recorder, d.Mode, d.Ref, d.Reasons, func(ctx context.Context) (actuator.Observation, error) {
		out, err := a.Client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: sdkaws.String(d.Identifier)})
		if err != nil {
			var nf *rdstypes.DBInstanceNotFoundFault
			if errors.As(err, &nf) {
				return actuator.Observation{Status: actuator.Missing, Notes: []string{fmt.Sprintf("db instance %s not found", d.Identifier)}}, nil
			}
			return actuator.Observation{}, fmt.Errorf("describe db instance %s: %w", d.Identifier, explain(err))
		}
		if len(out.DBInstances) == 0 {
			return actuator.Observation{Status: actuator.Missing, Notes: []string{fmt.Sprintf("db instance %s not found", d.Identifier)}}, nil
		}
		db := out.DBInstances[0]
		cur, status := deref(db.DBInstanceClass), deref(db.DBInstanceStatus)
		next, notes, err := NextRung(d.Ladder, cur, d.Class)
		if err != nil {
			return actuator.Observation{}, fmt.Errorf("db instance %s: %w", d.Identifier, err)
		}
		obs := actuator.Observation{Notes: notes}
		if next == cur {
			return obs, nil
		}
		if p := db.PendingModifiedValues; p != nil && !reflect.DeepEqual(*p, rdstypes.PendingModifiedValues{}) {
			pending := "modifications"
			if p.DBInstanceClass != nil {
				pending = "class " + *p.DBInstanceClass
			}
			obs.Status = actuator.Waiting
			obs.Notes = append(obs.Notes, fmt.Sprintf("pending %s: no new change until they are applied", pending))
			return obs, nil
		}
		if status != "available" {
			obs.Status = actuator.Waiting
			obs.Notes = append(obs.Notes, fmt.Sprintf("db instance is %s, not available", status))
			return obs, nil
		}
		if d.Snapshot {
			ready, wait, err := a.snapshot(ctx, d, cur, next, &obs)
			if err != nil || !ready {
				if wait {
					obs.Status = actuator.Waiting
				}
				return obs, err
			}
		}
		obs.Fields = append(obs.Fields, actuator.FieldChange{Field: "DBInstanceClass", From: cur, To: next})
		obs.Notes = append(obs.Notes, timing(d.ApplyImmediately))
		obs.Write = func(ctx context.Context) error {
			_, err := a.Client.ModifyDBInstance(ctx, &rds.ModifyDBInstanceInput{
				DBInstanceIdentifier: sdkaws.String(d.Identifier),
				DBInstanceClass:      sdkaws.String(next),
				ApplyImmediately:     sdkaws.Bool(d.ApplyImmediately),
			})
			if err != nil {
				return fmt.Errorf("modify db instance %s class %s → %s: %w", d.Identifier, cur, next, explain(err))
			}
			a.mu.Lock()
			delete(a.snapshots, d.Identifier)
			a.mu.Unlock()
			return nil
		}
		return obs, nil
	})
}

// snapshot makes sure a snapshot precedes the class change. It returns
// ready when the snapshot is available; otherwise it has put the snapshot
// creation into obs (to be written) or a note that it is still being made
// (wait).
func (a *RDS) snapshot(ctx context.Context, d Tier, cur, next string, obs *actuator.Observation) (ready, wait bool, err error) {
	a.mu.Lock()
	id, ok := a.snapshots[d.Identifier]
	a.mu.Unlock()
	if ok {
		out, err := a.Client.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: sdkaws.String(id)})
		var nf *rdstypes.DBSnapshotNotFoundFault
		switch {
		case errors.As(err, &nf):
			ok = false // deleted meanwhile: take another
		case err != nil:
			return false, false, fmt.Errorf("describe db snapshot %s: %w", id, explain(err))
		case len(out.DBSnapshots) > 0 && deref(out.DBSnapshots[0].Status) == "available":
			obs.Notes = append(obs.Notes, fmt.Sprintf("snapshot %s available", id))
			return true, false, nil
		default:
			status := "unknown"
			if len(out.DBSnapshots) > 0 {
				status = deref(out.DBSnapshots[0].Status)
			}
			obs.Notes = append(obs.Notes, fmt.Sprintf("snapshot %s is %s: class change %s → %s waits for it", id, status, cur, next))
			return false, true, nil
		}
	}
	id = fmt.Sprintf("prescale-%s-%s", d.Identifier, a.now().UTC().Format("20060102-150405"))
	obs.Fields = append(obs.Fields, actuator.FieldChange{Field: "snapshot", From: "", To: id})
	obs.Notes = append(obs.Notes, fmt.Sprintf("snapshot before the class change %s → %s, which follows once it is available", cur, next))
	obs.Write = func(ctx context.Context) error {
		_, err := a.Client.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{
			DBInstanceIdentifier: sdkaws.String(d.Identifier),
			DBSnapshotIdentifier: sdkaws.String(id),
		})
		if err != nil {
			return fmt.Errorf("create db snapshot %s of %s: %w", id, d.Identifier, explain(err))
		}
		a.mu.Lock()
		if a.snapshots == nil {
			a.snapshots = map[string]string{}
		}
		a.snapshots[d.Identifier] = id
		a.mu.Unlock()
		return nil
	}
	return false, false, nil
}

// ElastiCacheAPI is the part of the ElastiCache client the cache actuator
// uses.
type ElastiCacheAPI interface {
	DescribeReplicationGroups(context.Context, *elasticache.DescribeReplicationGroupsInput, ...func(*elasticache.Options)) (*elasticache.DescribeReplicationGroupsOutput, error)
	DescribeCacheClusters(context.Context, *elasticache.DescribeCacheClustersInput, ...func(*elasticache.Options)) (*elasticache.DescribeCacheClustersOutput, error)
	ModifyReplicationGroup(context.Context, *elasticache.ModifyReplicationGroupInput, ...func(*elasticache.Options)) (*elasticache.ModifyReplicationGroupOutput, error)
}

// ElastiCache moves ElastiCache replication groups along their node type
// ladder with ModifyReplicationGroup: one rung at a time, only when the
// group is available with no pending modifications.
type ElastiCache struct {
	Client   ElastiCacheAPI
	Recorder actuator.Recorder
}

// Apply moves the replication group one rung toward the planned node type.
func (a *ElastiCache) Apply(ctx context.Context, d Tier) (actuator.Change, error) {
	return actuator.Run(ctx, a.Recorder, d.Mode, d.Ref, d.Reasons, func(ctx context.Context) (actuator.Observation, error) {
		out, err := a.Client.DescribeReplicationGroups(ctx, &elasticache.DescribeReplicationGroupsInput{ReplicationGroupId: sdkaws.String(d.Identifier)})
		if err != nil {
			var nf *ectypes.ReplicationGroupNotFoundFault
			if errors.As(err, &nf) {
				return actuator.Observation{Status: actuator.Missing, Notes: []string{fmt.Sprintf("replication group %s not found", d.Identifier)}}, nil
			}
			return actuator.Observation{}, fmt.Errorf("describe replication group %s: %w", d.Identifier, explain(err))
		}
		if len(out.ReplicationGroups) == 0 {
			return actuator.Observation{Status: actuator.Missing, Notes: []string{fmt.Sprintf("replication group %s not found", d.Identifier)}}, nil
		}
		g := out.ReplicationGroups[0]
		cur, status := deref(g.CacheNodeType), deref(g.Status)
		next, notes, err := NextRung(d.Ladder, cur, d.Class)
		if err != nil {
			return actuator.Observation{}, fmt.Errorf("replication group %s: %w", d.Identifier, err)
		}
		obs := actuator.Observation{Notes: notes}
		if next == cur {
			return obs, nil
		}
		if status != "available" {
			obs.Status = actuator.Waiting
			obs.Notes = append(obs.Notes, fmt.Sprintf("replication group is %s, not available", status))
			return obs, nil
		}
		pending, err := a.pending(ctx, g)
		if err != nil {
			return actuator.Observation{}, err
		}
		if pending != "" {
			obs.Status = actuator.Waiting
			obs.Notes = append(obs.Notes, fmt.Sprintf("pending %s: no new change until they are applied", pending))
			return obs, nil
		}
		obs.Fields = []actuator.FieldChange{{Field: "CacheNodeType", From: cur, To: next}}
		obs.Notes = append(obs.Notes, timing(d.ApplyImmediately))
		obs.Write = func(ctx context.Context) error {
			_, err := a.Client.ModifyReplicationGroup(ctx, &elasticache.ModifyReplicationGroupInput{
				ReplicationGroupId: sdkaws.String(d.Identifier),
				CacheNodeType:      sdkaws.String(next),
				ApplyImmediately:   sdkaws.Bool(d.ApplyImmediately),
			})
			if err != nil {
				return fmt.Errorf("modify replication group %s node type %s → %s: %w", d.Identifier, cur, next, explain(err))
			}
			return nil
		}
		return obs, nil
	})
}

// pending describes the group's pending modifications, "" when none. A
// node type change waiting for the maintenance window shows only on the
// member clusters, so the first member is read too.
func (a *ElastiCache) pending(ctx context.Context, g ectypes.ReplicationGroup) (string, error) {
	if p := g.PendingModifiedValues; p != nil && !reflect.DeepEqual(*p, ectypes.ReplicationGroupPendingModifiedValues{}) {
		return "replication group modifications", nil
	}
	if len(g.MemberClusters) == 0 {
		return "", nil
	}
	out, err := a.Client.DescribeCacheClusters(ctx, &elasticache.DescribeCacheClustersInput{CacheClusterId: sdkaws.String(g.MemberClusters[0])})
	if err != nil {
		return "", fmt.Errorf("describe cache cluster %s: %w", g.MemberClusters[0], explain(err))
	}
	for _, c := range out.CacheClusters {
		if p := c.PendingModifiedValues; p != nil && !reflect.DeepEqual(*p, ectypes.PendingModifiedValues{}) {
			if p.CacheNodeType != nil {
				return "node type " + *p.CacheNodeType, nil
			}
			return "cache cluster modifications", nil
		}
	}
	return "", nil
}

// Class reads a DB instance's class; found is false when it does not
// exist.
func (a *RDS) Class(ctx context.Context, id string) (class string, found bool, err error) {
	out, err := a.Client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: sdkaws.String(id)})
	var nf *rdstypes.DBInstanceNotFoundFault
	if errors.As(err, &nf) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("describe db instance %s: %w", id, explain(err))
	}
	if len(out.DBInstances) == 0 {
		return "", false, nil
	}
	return deref(out.DBInstances[0].DBInstanceClass), true, nil
}

// NodeType reads a replication group's node type; found is false when it
// does not exist.
func (a *ElastiCache) NodeType(ctx context.Context, id string) (nodeType string, found bool, err error) {
	out, err := a.Client.DescribeReplicationGroups(ctx, &elasticache.DescribeReplicationGroupsInput{ReplicationGroupId: sdkaws.String(id)})
	var nf *ectypes.ReplicationGroupNotFoundFault
	if errors.As(err, &nf) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("describe replication group %s: %w", id, explain(err))
	}
	if len(out.ReplicationGroups) == 0 {
		return "", false, nil
	}
	return deref(out.ReplicationGroups[0].CacheNodeType), true, nil
}
