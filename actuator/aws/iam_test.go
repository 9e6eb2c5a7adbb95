package aws

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// The IAM policy shipped in deploy/rbac allows every call the actuators
// make (each method of their client interfaces), and deletion only of
// instances tagged as prescale's.
func TestIAMPolicyCoversActuators(t *testing.T) {
	data, err := os.ReadFile("../../deploy/rbac/iam-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Action    []string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("iam-policy.json: %v", err)
	}
	allowed := map[string]map[string]map[string]string{}
	for _, s := range doc.Statement {
		for _, a := range s.Action {
			allowed[a] = s.Condition
		}
	}
	for prefix, api := range map[string]reflect.Type{
		"autoscaling": reflect.TypeFor[AutoScalingAPI](), "eks": reflect.TypeFor[EKSAPI](),
		"rds": reflect.TypeFor[RDSAPI](), "elasticache": reflect.TypeFor[ElastiCacheAPI](),
	} {
		for i := 0; i < api.NumMethod(); i++ {
			if a := prefix + ":" + api.Method(i).Name; !has(allowed, a) {
				t.Errorf("iam-policy.json does not allow %s", a)
			}
		}
	}
	replicas := reflect.TypeFor[ReplicaAPI]()
	for i := 0; i < replicas.NumMethod(); i++ {
		if !has(allowed, "rds:"+replicas.Method(i).Name) {
			t.Errorf("iam-policy.json does not allow rds:%s", replicas.Method(i).Name)
		}
	}
	if !has(allowed, "rds:AddTagsToResource") {
		t.Error("iam-policy.json lacks rds:AddTagsToResource, which CreateDBInstanceReadReplica with tags needs")
	}
	if c := allowed["rds:DeleteDBInstance"]["StringLike"]["rds:db-tag/"+TagManagedBy]; c != "prescale*" {
		t.Errorf("rds:DeleteDBInstance is allowed without the condition on the %s tag (got %q)", TagManagedBy, c)
	}
}

func has[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}
