// Package awstest is an in-process AWS endpoint for tests: an httptest
// server that speaks the wire protocols of Auto Scaling, RDS and ElastiCache
// (AWS Query: form-encoded POST, XML replies) and EKS (REST-JSON), holds
// the state of the resources prescale changes, and records every request.
//
// It exists because no AWS emulator for these services can be installed
// where prescale is built. Tests drive the real aws-sdk-go-v2 clients
// against it through BaseEndpoint, so serialization, signing, retries and
// error parsing are the SDK's own; only the service side is modelled, and
// only the operations and rules prescale relies on:
//
//   - Auto Scaling: DescribeAutoScalingGroups, UpdateAutoScalingGroup
//     (raising MinSize above the desired capacity raises it, as AWS does;
//     MinSize above MaxSize is a ValidationError), SetDesiredCapacity
//     (outside [MinSize, MaxSize] is a ValidationError).
//   - EKS: DescribeNodegroup, UpdateNodegroupConfig (a minSize above the
//     desired size is an InvalidParameterException; a node group that is
//     not ACTIVE answers ResourceInUseException).
//   - RDS: DescribeDBInstances, ModifyDBInstance (only when available,
//     else InvalidDBInstanceState; ApplyImmediately false leaves the class
//     pending), CreateDBSnapshot, DescribeDBSnapshots,
//     CreateDBInstanceReadReplica (the source must exist and be available,
//     else DBInstanceNotFound or InvalidDBInstanceState; a name in use is
//     DBInstanceAlreadyExists; the replica starts "creating" with the
//     request's tags), DeleteDBInstance (only when available, else
//     InvalidDBInstanceState; the instance is "deleting" until Settle).
//     DescribeDBInstances lists a source's replicas
//     (ReadReplicaDBInstanceIdentifiers), a replica's source and the tags,
//     and takes a db-instance-id filter.
//   - ElastiCache: DescribeReplicationGroups, DescribeCacheClusters,
//     ModifyReplicationGroup (only when available, else
//     InvalidReplicationGroupState).
//
// Faults can be queued per action (Throttling, AccessDenied, ...) to test
// retries and error handling, before the request is handled (Fail) or
// after it (LoseResponse: the change is made but the client sees an
// error, as when a response is lost, so that a retry meets its own
// earlier success).
package awstest

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ASG is an Auto Scaling group's sizes.
type ASG struct {
	Min, Max, Desired int
}

// Nodegroup is an EKS managed node group's scaling config and status.
type Nodegroup struct {
	Min, Max, Desired int
	Status            string // ACTIVE, UPDATING, ...
}

// DBInstance is an RDS instance's class, status and pending class, and
// for a read replica its source.
type DBInstance struct {
	Class        string
	Status       string // available, modifying, backing-up, creating, deleting, ...
	PendingClass string // class waiting for the maintenance window
	// ReplicaOf is the source instance of a read replica ("" otherwise).
	ReplicaOf string
	// Tags are the instance's tags.
	Tags map[string]string
}

// Snapshot is an RDS manual snapshot.
type Snapshot struct {
	Instance string
	Status   string // creating, available
}

// ReplicationGroup is an ElastiCache replication group.
type ReplicationGroup struct {
	NodeType        string
	Status          string // available, modifying, ...
	PendingNodeType string // node type waiting for the maintenance window
}

// Request is one request as the server decoded it.
type Request struct {
	// Service is autoscaling, eks, rds or elasticache.
	Service string
	// Action is the Query Action, or for EKS the operation
	// (DescribeNodegroup, UpdateNodegroupConfig).
	Action string
	// Params are the form parameters without Action and Version; for EKS,
	// the JSON body flattened to dotted keys ("scalingConfig.minSize") plus
	// "clusterName" and "nodegroupName" from the path.
	Params map[string]string
}

// Fault is an error the server answers instead of handling a request.
type Fault struct {
	Status  int
	Code    string
	Message string
}

// Common faults.
var (
	Throttling   = Fault{http.StatusBadRequest, "Throttling", "Rate exceeded"}
	AccessDenied = Fault{http.StatusForbidden, "AccessDenied", "User: arn:aws:sts::123456789012:assumed-role/prescale is not authorized to perform this action"}
	// InternalFailure is a 5xx the SDK retries.
	InternalFailure = Fault{http.StatusInternalServerError, "InternalFailure", "An internal error has occurred"}
	// InvalidDBInstanceState is RDS's answer for an instance busy with
	// another operation.
	InvalidDBInstanceState = Fault{http.StatusBadRequest, "InvalidDBInstanceState", "Database instance is not in available state."}
)

// Server is the fake AWS endpoint. Its exported maps are its state; lock
// it with Lock/Unlock (or use the helpers) while a client may be running.
type Server struct {
	*httptest.Server

	mu         sync.Mutex
	ASGs       map[string]*ASG
	Nodegroups map[string]*Nodegroup // by "cluster/nodegroup"
	DBs        map[string]*DBInstance
	Snapshots  map[string]*Snapshot
	Caches     map[string]*ReplicationGroup
	requests   []Request
	faults     map[string][]Fault
	lost       map[string][]Fault
	seq        int
}

// New starts a server with empty state. Close it when done.
func New() *Server {
	s := &Server{
		ASGs:       map[string]*ASG{},
		Nodegroups: map[string]*Nodegroup{},
		DBs:        map[string]*DBInstance{},
		Snapshots:  map[string]*Snapshot{},
		Caches:     map[string]*ReplicationGroup{},
		faults:     map[string][]Fault{},
		lost:       map[string][]Fault{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Lock locks the state for a test to read or change it.
func (s *Server) Lock() { s.mu.Lock() }

// Unlock releases Lock.
func (s *Server) Unlock() { s.mu.Unlock() }

// Fail queues faults for an action: its next len(f) requests get them, in
// order, before it is handled normally again.
func (s *Server) Fail(action string, f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[action] = append(s.faults[action], f...)
}

// Pending is how many faults queued by Fail for action are not yet
// answered.
func (s *Server) Pending(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.faults[action])
}

// Clear drops the faults queued by Fail for action not yet answered.
func (s *Server) Clear(action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, action)
}

// LoseResponse queues faults answered after an action's next len(f)
// requests are handled: the change is made, the client gets the fault.
func (s *Server) LoseResponse(action string, f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost[action] = append(s.lost[action], f...)
}

// Requests returns the requests received so far; with actions given, only
// those.
func (s *Server) Requests(actions ...string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if len(actions) == 0 || contains(actions, r.Action) {
			out = append(out, r)
		}
	}
	return out
}

// Settle finishes every transition in progress, as time would: modifying
// and creating instances and groups become available, deleting instances
// are gone, snapshots become available, updating node groups become
// active.
func (s *Server) Settle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, d := range s.DBs {
		if d.Status == "deleting" {
			delete(s.DBs, id)
			continue
		}
		d.Status = "available"
	}
	for _, sn := range s.Snapshots {
		sn.Status = "available"
	}
	for _, c := range s.Caches {
		c.Status = "available"
	}
	for _, n := range s.Nodegroups {
		n.Status = "ACTIVE"
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

// apiError is a modelled service error.
type apiError struct {
	Fault
}

func (e apiError) Error() string { return e.Code + ": " + e.Message }

func errorf(status int, code, format string, args ...any) error {
	return apiError{Fault{status, code, fmt.Sprintf(format, args...)}}
}

func validation(format string, args ...any) error {
	return errorf(http.StatusBadRequest, "ValidationError", format, args...)
}

var namespaces = map[string]string{
	"autoscaling": "http://autoscaling.amazonaws.com/doc/2011-01-01/",
	"rds":         "http://rds.amazonaws.com/doc/2014-10-31/",
	"elasticache": "http://elasticache.amazonaws.com/doc/2015-02-02/",
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/clusters/") {
		s.serveEKS(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	action := form.Get("Action")
	req := Request{Action: action, Params: map[string]string{}}
	for k, v := range form {
		if k != "Action" && k != "Version" && len(v) > 0 {
			req.Params[k] = v[0]
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	handler, service := s.queryHandler(action)
	req.Service = service
	s.requests = append(s.requests, req)
	if service == "" {
		s.writeQueryError(w, "", errorf(http.StatusBadRequest, "InvalidAction", "unknown action %q", action))
		return
	}
	if f, ok := s.nextFault(action); ok {
		s.writeQueryError(w, service, apiError{f})
		return
	}
	result, err := handler(req.Params)
	if err != nil {
		s.writeQueryError(w, service, err)
		return
	}
	if q := s.lost[action]; len(q) > 0 {
		s.lost[action] = q[1:]
		s.writeQueryError(w, service, apiError{q[0]})
		return
	}
	s.seq++
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>req-%d</RequestId></ResponseMetadata></%sResponse>`,
		action, namespaces[service], action, result, action, s.seq, action)
}

func (s *Server) nextFault(action string) (Fault, bool) {
	q := s.faults[action]
	if len(q) == 0 {
		return Fault{}, false
	}
	s.faults[action] = q[1:]
	return q[0], true
}

func (s *Server) writeQueryError(w http.ResponseWriter, service string, err error) {
	e, ok := err.(apiError)
	if !ok {
		e = apiError{Fault{http.StatusInternalServerError, "InternalFailure", err.Error()}}
	}
	s.seq++
	typ := "Sender"
	if e.Status >= 500 {
		typ = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>req-%d</RequestId></ErrorResponse>`,
		namespaces[service], typ, esc(e.Code), esc(e.Message), s.seq)
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

type queryHandler func(p map[string]string) (string, error)

func (s *Server) queryHandler(action string) (queryHandler, string) {
	switch action {
	case "DescribeAutoScalingGroups":
		return s.describeASGs, "autoscaling"
	case "UpdateAutoScalingGroup":
		return s.updateASG, "autoscaling"
	case "SetDesiredCapacity":
		return s.setDesiredCapacity, "autoscaling"
	case "DescribeDBInstances":
		return s.describeDBInstances, "rds"
	case "ModifyDBInstance":
		return s.modifyDBInstance, "rds"
	case "CreateDBSnapshot":
		return s.createDBSnapshot, "rds"
	case "DescribeDBSnapshots":
		return s.describeDBSnapshots, "rds"
	case "CreateDBInstanceReadReplica":
		return s.createReadReplica, "rds"
	case "DeleteDBInstance":
		return s.deleteDBInstance, "rds"
	case "DescribeReplicationGroups":
		return s.describeReplicationGroups, "elasticache"
	case "DescribeCacheClusters":
		return s.describeCacheClusters, "elasticache"
	case "ModifyReplicationGroup":
		return s.modifyReplicationGroup, "elasticache"
	}
	return nil, ""
}

// Auto Scaling

func asgXML(name string, g *ASG) string {
	return fmt.Sprintf(`<member><AutoScalingGroupName>%s</AutoScalingGroupName><MinSize>%d</MinSize><MaxSize>%d</MaxSize><DesiredCapacity>%d</DesiredCapacity></member>`,
		esc(name), g.Min, g.Max, g.Desired)
}

func (s *Server) describeASGs(p map[string]string) (string, error) {
	var names []string
	for i := 1; ; i++ {
		n, ok := p["AutoScalingGroupNames.member."+strconv.Itoa(i)]
		if !ok {
			break
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		for n := range s.ASGs {
			names = append(names, n)
		}
		sort.Strings(names)
	}
	var b strings.Builder
	for _, n := range names {
		if g, ok := s.ASGs[n]; ok {
			b.WriteString(asgXML(n, g))
		}
	}
	return "<AutoScalingGroups>" + b.String() + "</AutoScalingGroups>", nil
}

func intParam(p map[string]string, key string) (int, bool, error) {
	v, ok := p[key]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, true, validation("%s: %q is not an integer", key, v)
	}
	return n, true, nil
}

func (s *Server) updateASG(p map[string]string) (string, error) {
	name := p["AutoScalingGroupName"]
	g, ok := s.ASGs[name]
	if !ok {
		return "", validation("AutoScalingGroup name not found - AutoScalingGroup %s not found", name)
	}
	n := *g
	for key, f := range map[string]*int{"MinSize": &n.Min, "MaxSize": &n.Max, "DesiredCapacity": &n.Desired} {
		v, ok, err := intParam(p, key)
		if err != nil {
			return "", err
		}
		if ok {
			*f = v
		}
	}
	if n.Min > n.Max {
		return "", validation("The parameter MaxSize must be greater than or equal to MinSize")
	}
	if _, set := p["DesiredCapacity"]; set && (n.Desired < n.Min || n.Desired > n.Max) {
		return "", validation("Desired capacity:%d must be between the specified min size:%d and max size:%d", n.Desired, n.Min, n.Max)
	}
	// AWS moves the desired capacity into the new bounds by itself.
	n.Desired = min(max(n.Desired, n.Min), n.Max)
	*g = n
	return "", nil
}

func (s *Server) setDesiredCapacity(p map[string]string) (string, error) {
	name := p["AutoScalingGroupName"]
	g, ok := s.ASGs[name]
	if !ok {
		return "", validation("AutoScalingGroup name not found - AutoScalingGroup %s not found", name)
	}
	d, ok, err := intParam(p, "DesiredCapacity")
	if err != nil || !ok {
		return "", validation("DesiredCapacity is required")
	}
	if d > g.Max {
		return "", validation("New SetDesiredCapacity value %d is above max value %d for the AutoScalingGroup.", d, g.Max)
	}
	if d < g.Min {
		return "", validation("New SetDesiredCapacity value %d is below min value %d for the AutoScalingGroup.", d, g.Min)
	}
	g.Desired = d
	return "", nil
}

// RDS

func (s *Server) dbXML(id string, d *DBInstance) string {
	pending := ""
	if d.PendingClass != "" {
		pending = "<DBInstanceClass>" + esc(d.PendingClass) + "</DBInstanceClass>"
	}
	var extra strings.Builder
	if d.ReplicaOf != "" {
		extra.WriteString("<ReadReplicaSourceDBInstanceIdentifier>" + esc(d.ReplicaOf) + "</ReadReplicaSourceDBInstanceIdentifier>")
	}
	var replicas []string
	for rid, r := range s.DBs {
		if r.ReplicaOf == id {
			replicas = append(replicas, rid)
		}
	}
	sort.Strings(replicas)
	extra.WriteString("<ReadReplicaDBInstanceIdentifiers>")
	for _, rid := range replicas {
		extra.WriteString("<ReadReplicaDBInstanceIdentifier>" + esc(rid) + "</ReadReplicaDBInstanceIdentifier>")
	}
	extra.WriteString("</ReadReplicaDBInstanceIdentifiers><TagList>")
	keys := make([]string, 0, len(d.Tags))
	for k := range d.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		extra.WriteString("<Tag><Key>" + esc(k) + "</Key><Value>" + esc(d.Tags[k]) + "</Value></Tag>")
	}
	extra.WriteString("</TagList>")
	return fmt.Sprintf(`<DBInstance><DBInstanceIdentifier>%s</DBInstanceIdentifier><DBInstanceClass>%s</DBInstanceClass><DBInstanceStatus>%s</DBInstanceStatus><PendingModifiedValues>%s</PendingModifiedValues>%s</DBInstance>`,
		esc(id), esc(d.Class), esc(d.Status), pending, extra.String())
}

func dbNotFound(id string) error {
	return errorf(http.StatusNotFound, "DBInstanceNotFound", "DBInstance %s not found.", id)
}

// describeDBInstances answers one instance by DBInstanceIdentifier (not
// found is DBInstanceNotFound), or those a db-instance-id filter names
// (unknown ones left out, as AWS does), or all.
func (s *Server) describeDBInstances(p map[string]string) (string, error) {
	if id, ok := p["DBInstanceIdentifier"]; ok {
		d, ok := s.DBs[id]
		if !ok {
			return "", dbNotFound(id)
		}
		return "<DBInstances>" + s.dbXML(id, d) + "</DBInstances>", nil
	}
	var ids []string
	filtered := false
	for i := 1; ; i++ {
		f := "Filters.Filter." + strconv.Itoa(i)
		name, ok := p[f+".Name"]
		if !ok {
			break
		}
		if name != "db-instance-id" {
			return "", errorf(http.StatusBadRequest, "InvalidParameterValue", "Unrecognized filter name: %s", name)
		}
		filtered = true
		for j := 1; ; j++ {
			v, ok := p[f+".Values.Value."+strconv.Itoa(j)]
			if !ok {
				break
			}
			ids = append(ids, v)
		}
	}
	if !filtered {
		for id := range s.DBs {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var b strings.Builder
	for _, id := range ids {
		if d, ok := s.DBs[id]; ok {
			b.WriteString(s.dbXML(id, d))
		}
	}
	return "<DBInstances>" + b.String() + "</DBInstances>", nil
}

func (s *Server) modifyDBInstance(p map[string]string) (string, error) {
	id := p["DBInstanceIdentifier"]
	d, ok := s.DBs[id]
	if !ok {
		return "", dbNotFound(id)
	}
	if d.Status != "available" {
		return "", errorf(http.StatusBadRequest, "InvalidDBInstanceState", "Database instance is not in available state.")
	}
	if c, ok := p["DBInstanceClass"]; ok {
		if p["ApplyImmediately"] == "true" {
			d.Class, d.PendingClass, d.Status = c, "", "modifying"
		} else {
			d.PendingClass = c
		}
	}
	return s.dbXML(id, d), nil
}

func notAvailable() error {
	return errorf(http.StatusBadRequest, "InvalidDBInstanceState", "Database instance is not in available state.")
}

// createReadReplica models CreateDBInstanceReadReplica: the source must
// exist and be available; the replica's name must be free.
func (s *Server) createReadReplica(p map[string]string) (string, error) {
	id, src := p["DBInstanceIdentifier"], p["SourceDBInstanceIdentifier"]
	if id == "" || src == "" {
		return "", validation("DBInstanceIdentifier and SourceDBInstanceIdentifier are required")
	}
	if _, dup := s.DBs[id]; dup {
		return "", errorf(http.StatusBadRequest, "DBInstanceAlreadyExists", "DB instance already exists")
	}
	source, ok := s.DBs[src]
	if !ok {
		return "", dbNotFound(src)
	}
	if source.Status != "available" {
		return "", notAvailable()
	}
	class := p["DBInstanceClass"]
	if class == "" {
		class = source.Class
	}
	tags := map[string]string{}
	for i := 1; ; i++ { // the SDK serializes a TagList as Tags.Tag.N.Key/Value
		k, ok := p["Tags.Tag."+strconv.Itoa(i)+".Key"]
		if !ok {
			break
		}
		tags[k] = p["Tags.Tag."+strconv.Itoa(i)+".Value"]
	}
	d := &DBInstance{Class: class, Status: "creating", ReplicaOf: src, Tags: tags}
	s.DBs[id] = d
	return s.dbXML(id, d), nil
}

// deleteDBInstance models DeleteDBInstance: only an available instance;
// one that is not a replica needs SkipFinalSnapshot or a final snapshot.
func (s *Server) deleteDBInstance(p map[string]string) (string, error) {
	id := p["DBInstanceIdentifier"]
	d, ok := s.DBs[id]
	if !ok {
		return "", dbNotFound(id)
	}
	if d.Status != "available" {
		return "", notAvailable()
	}
	if d.ReplicaOf == "" && p["SkipFinalSnapshot"] != "true" && p["FinalDBSnapshotIdentifier"] == "" {
		return "", errorf(http.StatusBadRequest, "InvalidParameterCombination", "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.")
	}
	d.Status = "deleting"
	return s.dbXML(id, d), nil
}

func snapshotXML(id string, sn *Snapshot) string {
	return fmt.Sprintf(`<DBSnapshot><DBSnapshotIdentifier>%s</DBSnapshotIdentifier><DBInstanceIdentifier>%s</DBInstanceIdentifier><Status>%s</Status><SnapshotType>manual</SnapshotType></DBSnapshot>`,
		esc(id), esc(sn.Instance), esc(sn.Status))
}

func (s *Server) createDBSnapshot(p map[string]string) (string, error) {
	id, inst := p["DBSnapshotIdentifier"], p["DBInstanceIdentifier"]
	d, ok := s.DBs[inst]
	if !ok {
		return "", dbNotFound(inst)
	}
	if _, dup := s.Snapshots[id]; dup {
		return "", errorf(http.StatusBadRequest, "DBSnapshotAlreadyExists", "Cannot create the snapshot because a snapshot with the identifier %s already exists.", id)
	}
	if d.Status != "available" {
		return "", errorf(http.StatusBadRequest, "InvalidDBInstanceState", "Database instance is not in available state.")
	}
	sn := &Snapshot{Instance: inst, Status: "creating"}
	s.Snapshots[id] = sn
	d.Status = "backing-up"
	return snapshotXML(id, sn), nil
}

func (s *Server) describeDBSnapshots(p map[string]string) (string, error) {
	id := p["DBSnapshotIdentifier"]
	sn, ok := s.Snapshots[id]
	if !ok {
		return "", errorf(http.StatusNotFound, "DBSnapshotNotFound", "DBSnapshot %s not found.", id)
	}
	return "<DBSnapshots>" + snapshotXML(id, sn) + "</DBSnapshots>", nil
}

// ElastiCache

func memberID(group string) string { return group + "-001" }

func replicationGroupXML(id string, c *ReplicationGroup) string {
	return fmt.Sprintf(`<ReplicationGroup><ReplicationGroupId>%s</ReplicationGroupId><Status>%s</Status><CacheNodeType>%s</CacheNodeType><MemberClusters><ClusterId>%s</ClusterId></MemberClusters><PendingModifiedValues></PendingModifiedValues></ReplicationGroup>`,
		esc(id), esc(c.Status), esc(c.NodeType), esc(memberID(id)))
}

func cacheGroupNotFound(id string) error {
	return errorf(http.StatusNotFound, "ReplicationGroupNotFoundFault", "ReplicationGroup %s not found.", id)
}

func (s *Server) describeReplicationGroups(p map[string]string) (string, error) {
	id := p["ReplicationGroupId"]
	c, ok := s.Caches[id]
	if !ok {
		return "", cacheGroupNotFound(id)
	}
	return "<ReplicationGroups>" + replicationGroupXML(id, c) + "</ReplicationGroups>", nil
}

func (s *Server) describeCacheClusters(p map[string]string) (string, error) {
	id := p["CacheClusterId"]
	for gid, c := range s.Caches {
		if memberID(gid) != id {
			continue
		}
		pending := ""
		if c.PendingNodeType != "" {
			pending = "<CacheNodeType>" + esc(c.PendingNodeType) + "</CacheNodeType>"
		}
		return fmt.Sprintf(`<CacheClusters><CacheCluster><CacheClusterId>%s</CacheClusterId><ReplicationGroupId>%s</ReplicationGroupId><CacheNodeType>%s</CacheNodeType><CacheClusterStatus>%s</CacheClusterStatus><PendingModifiedValues>%s</PendingModifiedValues></CacheCluster></CacheClusters>`,
			esc(id), esc(gid), esc(c.NodeType), esc(c.Status), pending), nil
	}
	return "", errorf(http.StatusNotFound, "CacheClusterNotFound", "CacheCluster %s not found.", id)
}

func (s *Server) modifyReplicationGroup(p map[string]string) (string, error) {
	id := p["ReplicationGroupId"]
	c, ok := s.Caches[id]
	if !ok {
		return "", cacheGroupNotFound(id)
	}
	if c.Status != "available" {
		return "", errorf(http.StatusBadRequest, "InvalidReplicationGroupState", "Replication group %s is not in available state.", id)
	}
	if t, ok := p["CacheNodeType"]; ok {
		if p["ApplyImmediately"] == "true" {
			c.NodeType, c.PendingNodeType, c.Status = t, "", "modifying"
		} else {
			c.PendingNodeType = t
		}
	}
	return replicationGroupXML(id, c), nil
}

// EKS (REST-JSON)

func (s *Server) serveEKS(w http.ResponseWriter, r *http.Request) {
	// /clusters/{cluster}/node-groups/{nodegroup}[/update-config]
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[2] != "node-groups" {
		writeEKSError(w, apiError{Fault{http.StatusNotFound, "NotFoundException", "no route " + r.URL.Path}})
		return
	}
	cluster, name := parts[1], parts[3]
	req := Request{Service: "eks", Params: map[string]string{"clusterName": cluster, "nodegroupName": name}}
	switch {
	case r.Method == http.MethodGet && len(parts) == 4:
		req.Action = "DescribeNodegroup"
	case r.Method == http.MethodPost && len(parts) == 5 && parts[4] == "update-config":
		req.Action = "UpdateNodegroupConfig"
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeEKSError(w, apiError{Fault{http.StatusBadRequest, "InvalidRequestException", err.Error()}})
			return
		}
		flatten("", body, req.Params)
	default:
		writeEKSError(w, apiError{Fault{http.StatusNotFound, "NotFoundException", "no route " + r.Method + " " + r.URL.Path}})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, req)
	if f, ok := s.nextFault(req.Action); ok {
		writeEKSError(w, apiError{f})
		return
	}
	key := cluster + "/" + name
	ng, ok := s.Nodegroups[key]
	if !ok {
		writeEKSError(w, apiError{Fault{http.StatusNotFound, "ResourceNotFoundException", "No node group found for name: " + name + "."}})
		return
	}
	s.seq++
	if req.Action == "DescribeNodegroup" {
		writeJSON(w, map[string]any{"nodegroup": map[string]any{
			"nodegroupName": name, "clusterName": cluster, "status": ng.Status,
			"scalingConfig": map[string]int{"minSize": ng.Min, "maxSize": ng.Max, "desiredSize": ng.Desired},
		}})
		return
	}
	if ng.Status != "ACTIVE" {
		writeEKSError(w, apiError{Fault{http.StatusConflict, "ResourceInUseException", "Nodegroup " + name + " is currently not in ACTIVE status"}})
		return
	}
	n := *ng
	for key, f := range map[string]*int{"scalingConfig.minSize": &n.Min, "scalingConfig.maxSize": &n.Max, "scalingConfig.desiredSize": &n.Desired} {
		if v, ok := req.Params[key]; ok {
			x, err := strconv.Atoi(v)
			if err != nil {
				writeEKSError(w, apiError{Fault{http.StatusBadRequest, "InvalidParameterException", key + " is not an integer"}})
				return
			}
			*f = x
		}
	}
	switch {
	case n.Min > n.Desired:
		writeEKSError(w, apiError{Fault{http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf("Minimum capacity %d can't be greater than desired size %d", n.Min, n.Desired)}})
		return
	case n.Desired > n.Max:
		writeEKSError(w, apiError{Fault{http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf("Desired capacity %d can't be greater than max size %d", n.Desired, n.Max)}})
		return
	}
	n.Status = "UPDATING"
	*ng = n
	writeJSON(w, map[string]any{"update": map[string]any{"id": fmt.Sprintf("update-%d", s.seq), "status": "InProgress", "type": "ConfigUpdate"}})
}

func flatten(prefix string, v any, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			flatten(key, x, out)
		}
	case float64:
		out[prefix] = strconv.FormatFloat(t, 'f', -1, 64)
	default:
		out[prefix] = fmt.Sprint(t)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writeEKSError(w http.ResponseWriter, e apiError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": e.Message})
}
