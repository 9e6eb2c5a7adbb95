package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"

	"github.com/prescale/prescale/actuator"
)

// Tags prescale puts on the read replicas it creates. A replica is
// prescale's only when it carries both, with this manager's name and its
// source, and has the name ReplicaName gives; anything else on the source
// is the owner's and is never removed.
const (
	TagManagedBy = "prescale.io/managed-by"
	TagReplicaOf = "prescale.io/replica-of"
)

// FieldReadReplicas is the field a replica Change moves.
const FieldReadReplicas = "readReplicas"

// maxIdentifier is the longest RDS DB instance identifier.
const maxIdentifier = 63

// ReplicaName is the deterministic name of prescale's n-th read replica of
// source (n from 1). The same name on every attempt is what makes creation
// idempotent: a retry meets DBInstanceAlreadyExists, never a second copy.
func ReplicaName(source string, n int) string {
	return source + "-prescale-" + strconv.Itoa(n)
}

// CheckReplicaNames says whether the names of up to max replicas of source
// fit RDS's identifier limit.
func CheckReplicaNames(source string, max int) error {
	if n := ReplicaName(source, max); len(n) > maxIdentifier {
		return fmt.Errorf("read replica name %s is %d characters, above RDS's %d: shorten the identifier %s", n, len(n), maxIdentifier, source)
	}
	return nil
}

// ReplicaAPI is the part of the RDS client the read replica actuator uses.
type ReplicaAPI interface {
	DescribeDBInstances(context.Context, *rds.DescribeDBInstancesInput, ...func(*rds.Options)) (*rds.DescribeDBInstancesOutput, error)
	CreateDBInstanceReadReplica(context.Context, *rds.CreateDBInstanceReadReplicaInput, ...func(*rds.Options)) (*rds.CreateDBInstanceReadReplicaOutput, error)
	DeleteDBInstance(context.Context, *rds.DeleteDBInstanceInput, ...func(*rds.Options)) (*rds.DeleteDBInstanceOutput, error)
}

// ReplicaCount is the read replica count the plan wants for one RDS
// instance.
type ReplicaCount struct {
	Ref     actuator.Ref
	Mode    actuator.Mode
	Reasons []string
	// Source is the DB instance identifier the replicas read from.
	Source string
	// Count is the planned number of read replicas, the owner's included.
	Count int
	// Class of the replicas prescale creates; "" for the source's.
	Class string
}

// Replicas creates and removes an RDS instance's read replicas with
// CreateDBInstanceReadReplica and DeleteDBInstance. It creates replicas
// named ReplicaName and tagged as its own, and removes only those,
// highest number first; the owner's replicas count towards the plan and
// are never touched. The SDK's retryer retries throttling and 5xx with
// backoff; a create that succeeded but whose answer was lost meets its own
// replica on the retry (DBInstanceAlreadyExists) and takes it as done.
type Replicas struct {
	Client   ReplicaAPI
	Recorder actuator.Recorder
	// Manager is the value of TagManagedBy ("prescale" when empty).
	Manager string
}

func (a *Replicas) manager() string {
	if a.Manager == "" {
		return "prescale"
	}
	return a.Manager
}

// replica is one read replica of the source as read.
type replica struct {
	id     string
	status string
	n      int  // its number when it has prescale's name, else 0
	owned  bool // prescale's: its name and both tags
}

// replicaSet is a source instance and its read replicas.
type replicaSet struct {
	status   string
	replicas []replica // deleting ones included
	inUse    map[string]bool
}

// live counts the replicas not being deleted.
func (s replicaSet) live() int {
	n := 0
	for _, r := range s.replicas {
		if r.status != "deleting" {
			n++
		}
	}
	return n
}

// read describes the source and each of its replicas; found is false when
// the source does not exist.
func (a *Replicas) read(ctx context.Context, source string) (replicaSet, bool, error) {
	src, found, err := a.describe(ctx, source)
	if err != nil || !found {
		return replicaSet{}, found, err
	}
	if s := deref(src.ReadReplicaSourceDBInstanceIdentifier); s != "" {
		return replicaSet{}, true, fmt.Errorf("db instance %s is itself a read replica of %s: name the source instance", source, s)
	}
	set := replicaSet{status: deref(src.DBInstanceStatus), inUse: map[string]bool{}}
	ids := src.ReadReplicaDBInstanceIdentifiers
	if len(ids) == 0 {
		return set, true, nil
	}
	for _, id := range ids {
		set.inUse[id] = true
	}
	// All replicas in one call (RDS allows at most 15 per source); one
	// deleted since the source was read is simply not in the answer.
	out, err := a.Client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{
		Filters: []rdstypes.Filter{{Name: sdkaws.String("db-instance-id"), Values: ids}}})
	if err != nil {
		return replicaSet{}, true, fmt.Errorf("describe read replicas of %s: %w", source, explain(err))
	}
	for _, db := range out.DBInstances {
		id := deref(db.DBInstanceIdentifier)
		if !set.inUse[id] {
			continue
		}
		r := replica{id: id, status: deref(db.DBInstanceStatus), n: replicaNumber(source, id)}
		r.owned = r.n > 0 && a.tagged(db.TagList, source) && deref(db.ReadReplicaSourceDBInstanceIdentifier) == source
		set.replicas = append(set.replicas, r)
	}
	slices.SortFunc(set.replicas, func(x, y replica) int { return strings.Compare(x.id, y.id) })
	return set, true, nil
}

func (a *Replicas) describe(ctx context.Context, id string) (rdstypes.DBInstance, bool, error) {
	out, err := a.Client.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: sdkaws.String(id)})
	var nf *rdstypes.DBInstanceNotFoundFault
	if errors.As(err, &nf) {
		return rdstypes.DBInstance{}, false, nil
	}
	if err != nil {
		return rdstypes.DBInstance{}, false, fmt.Errorf("describe db instance %s: %w", id, explain(err))
	}
	if len(out.DBInstances) == 0 {
		return rdstypes.DBInstance{}, false, nil
	}
	return out.DBInstances[0], true, nil
}

// replicaNumber is n when id is ReplicaName(source, n), else 0.
func replicaNumber(source, id string) int {
	rest, ok := strings.CutPrefix(id, source+"-prescale-")
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(rest)
	if err != nil || n < 1 || strconv.Itoa(n) != rest {
		return 0
	}
	return n
}

func (a *Replicas) tagged(tags []rdstypes.Tag, source string) bool {
	var mgr, of bool
	for _, t := range tags {
		switch deref(t.Key) {
		case TagManagedBy:
			mgr = deref(t.Value) == a.manager()
		case TagReplicaOf:
			of = deref(t.Value) == source
		}
	}
	return mgr && of
}

// Count reads how many read replicas the source has (being deleted not
// counted); found is false when the source does not exist.
func (a *Replicas) Count(ctx context.Context, source string) (int, bool, error) {
	set, found, err := a.read(ctx, source)
	if err != nil || !found {
		return 0, found, err
	}
	return set.live(), true, nil
}

// Apply brings the source's read replica count toward the planned one.
func (a *Replicas) Apply(ctx context.Context, d ReplicaCount) (actuator.Change, error) {
	return actuator.Run(ctx, a.Recorder, d.Mode, d.Ref, d.Reasons, func(ctx context.Context) (actuator.Observation, error) {
		if d.Count < 0 {
			return actuator.Observation{}, fmt.Errorf("db instance %s: %d read replicas planned: a count cannot be negative", d.Source, d.Count)
		}
		if err := CheckReplicaNames(d.Source, max(d.Count, 1)); err != nil {
			return actuator.Observation{}, err
		}
		set, found, err := a.read(ctx, d.Source)
		if err != nil {
			return actuator.Observation{}, err
		}
		if !found {
			return actuator.Observation{Status: actuator.Missing, Notes: []string{fmt.Sprintf("db instance %s not found", d.Source)}}, nil
		}
		cur := set.live()
		switch {
		case d.Count > cur:
			return a.create(d, set, cur), nil
		case d.Count < cur:
			return a.remove(d, set, cur), nil
		}
		return actuator.Observation{}, nil
	})
}

// create plans the creation of the missing replicas under the lowest free
// names.
func (a *Replicas) create(d ReplicaCount, set replicaSet, cur int) actuator.Observation {
	var obs actuator.Observation
	if set.status != "available" {
		obs.Status = actuator.Waiting
		obs.Notes = append(obs.Notes, fmt.Sprintf("db instance %s is %s, not available: its read replicas are created once it is", d.Source, set.status))
		return obs
	}
	var names []string
	for n := 1; len(names) < d.Count-cur; n++ {
		if name := ReplicaName(d.Source, n); !set.inUse[name] {
			names = append(names, name)
		}
	}
	class := d.Class
	if class == "" {
		class = "the source's class"
	}
	obs.Fields = []actuator.FieldChange{{Field: FieldReadReplicas, From: strconv.Itoa(cur), To: strconv.Itoa(d.Count)}}
	obs.Notes = append(obs.Notes, fmt.Sprintf("create %s (%s), tagged %s=%s", strings.Join(names, ", "), class, TagManagedBy, a.manager()))
	obs.Write = func(ctx context.Context) error {
		for i, name := range names {
			if err := a.createOne(ctx, d, name); err != nil {
				return fmt.Errorf("%w (%d of %d created; the next tick goes on)", err, i, len(names))
			}
		}
		return nil
	}
	return obs
}

func (a *Replicas) createOne(ctx context.Context, d ReplicaCount, name string) error {
	in := &rds.CreateDBInstanceReadReplicaInput{
		DBInstanceIdentifier:       sdkaws.String(name),
		SourceDBInstanceIdentifier: sdkaws.String(d.Source),
		Tags: []rdstypes.Tag{
			{Key: sdkaws.String(TagManagedBy), Value: sdkaws.String(a.manager())},
			{Key: sdkaws.String(TagReplicaOf), Value: sdkaws.String(d.Source)},
		},
	}
	if d.Class != "" {
		in.DBInstanceClass = sdkaws.String(d.Class)
	}
	_, err := a.Client.CreateDBInstanceReadReplica(ctx, in)
	var exists *rdstypes.DBInstanceAlreadyExistsFault
	if errors.As(err, &exists) {
		// A retry after a lost answer meets the replica it made. Anything
		// else under that name is not prescale's to adopt.
		db, found, derr := a.describe(ctx, name)
		if derr != nil {
			return derr
		}
		if found && deref(db.ReadReplicaSourceDBInstanceIdentifier) == d.Source && a.tagged(db.TagList, d.Source) {
			return nil
		}
		return fmt.Errorf("create read replica %s of %s: the name is taken by an instance prescale did not create", name, d.Source)
	}
	if err != nil {
		return fmt.Errorf("create read replica %s of %s: %w", name, d.Source, explain(err))
	}
	return nil
}

// remove plans the deletion of prescale's own replicas, highest number
// first, down to the planned count or to the owner's replicas, whichever
// is more.
func (a *Replicas) remove(d ReplicaCount, set replicaSet, cur int) actuator.Observation {
	var obs actuator.Observation
	var mine, busy []replica
	for _, r := range set.replicas {
		switch {
		case !r.owned || r.status == "deleting":
		case r.status == "available":
			mine = append(mine, r)
		default:
			busy = append(busy, r)
		}
	}
	slices.SortFunc(mine, func(x, y replica) int { return y.n - x.n })
	excess := cur - d.Count
	mine = mine[:min(len(mine), excess)]
	rest := excess - len(mine)
	busy = busy[:min(len(busy), rest)]
	for _, r := range busy {
		obs.Notes = append(obs.Notes, fmt.Sprintf("read replica %s is %s: removed once it is available", r.id, r.status))
	}
	if kept := rest - len(busy); kept > 0 {
		obs.Notes = append(obs.Notes, fmt.Sprintf("%d read replicas above the plan are not prescale's (no %s=%s tag or not named %s): kept",
			kept, TagManagedBy, a.manager(), ReplicaName(d.Source, 1)))
	}
	if len(mine) == 0 {
		if len(busy) > 0 {
			obs.Status = actuator.Waiting
		}
		return obs
	}
	names := make([]string, len(mine))
	for i, r := range mine {
		names[i] = r.id
	}
	obs.Fields = []actuator.FieldChange{{Field: FieldReadReplicas, From: strconv.Itoa(cur), To: strconv.Itoa(cur - len(mine))}}
	obs.Notes = append(obs.Notes, fmt.Sprintf("delete %s (prescale's; no final snapshot: the source holds the data)", strings.Join(names, ", ")))
	obs.Write = func(ctx context.Context) error {
		for i, name := range names {
			_, err := a.Client.DeleteDBInstance(ctx, &rds.DeleteDBInstanceInput{
				DBInstanceIdentifier: sdkaws.String(name),
				SkipFinalSnapshot:    sdkaws.Bool(true),
			})
			if err != nil && a.deleted(ctx, name) {
				continue // a retry after a lost answer meets its own deletion
			}
			if err != nil {
				return fmt.Errorf("delete read replica %s of %s: %w (%d of %d deleted; the next tick goes on)", name, d.Source, explain(err), i, len(names))
			}
		}
		return nil
	}
	return obs
}

// deleted says whether the instance is gone or being deleted.
func (a *Replicas) deleted(ctx context.Context, id string) bool {
	db, found, err := a.describe(ctx, id)
	return err == nil && (!found || deref(db.DBInstanceStatus) == "deleting")
}
