// Package aws actuates AWS capacity with the aws-sdk-go-v2 clients: the
// minimum of an EC2 Auto Scaling group or an EKS managed node group, and
// the class of an RDS instance or an ElastiCache replication group.
//
// The decisions (how far a floor may move, which rung comes next) are
// small pure functions tested by tables; the actuators around them read the
// live resource, apply those rules and write through the SDK, inside the
// common actuator.Run path (active, shadow or dry-run; every decision
// recorded with its reasons).
package aws

import (
	"context"
	"errors"
	"fmt"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/elasticache"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go"
)

// LoadConfig loads the default AWS credential chain (environment, shared
// files, IRSA web identity in a cluster, instance role) with the region
// from the policy when it names one, else from the environment. It fails
// when no region is known rather than guessing one.
func LoadConfig(ctx context.Context, region string, opts ...func(*config.LoadOptions) error) (sdkaws.Config, error) {
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return sdkaws.Config{}, fmt.Errorf("aws config: %w", err)
	}
	if cfg.Region == "" {
		return sdkaws.Config{}, errors.New("aws config: no region: set region in the policy or AWS_REGION in the environment")
	}
	return cfg, nil
}

// Clients are the service clients the actuators use, built from one
// configuration.
type Clients struct {
	AutoScaling *autoscaling.Client
	EKS         *eks.Client
	RDS         *rds.Client
	ElastiCache *elasticache.Client
}

// NewClients builds the service clients from cfg.
func NewClients(cfg sdkaws.Config) Clients {
	return Clients{
		AutoScaling: autoscaling.NewFromConfig(cfg),
		EKS:         eks.NewFromConfig(cfg),
		RDS:         rds.NewFromConfig(cfg),
		ElastiCache: elasticache.NewFromConfig(cfg),
	}
}

// explain adds what a person should do to the AWS errors prescale cannot
// fix by retrying. The SDK's retryer has already retried what is
// retryable (throttling, 5xx); these come back at once and are not retried
// by the actuator either, so a misconfiguration makes one failed call per
// tick, not a storm.
func explain(err error) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return err
	}
	switch api.ErrorCode() {
	case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
		return fmt.Errorf("%w (not retried: grant prescale's IAM role this action; see deploy/rbac)", err)
	case "ValidationError", "InvalidParameterValue", "InvalidParameterException", "InvalidParameterCombination":
		return fmt.Errorf("%w (not retried: AWS rejected the parameters)", err)
	case "InvalidDBInstanceState", "InvalidReplicationGroupState", "ResourceInUseException":
		return fmt.Errorf("%w (not retried now: the resource is busy; the next tick tries again)", err)
	}
	return err
}
