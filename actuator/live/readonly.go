package live

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/policy"
)

// Reader reads the live state of a policy's resources (HPAs, KEDA
// ScaledObjects, node groups, databases, read replicas, caches, pool sizes) through the actuators' read paths, and has no write
// path: its only method is Current, and the clients it is built on refuse
// any request that is not a read before it leaves the process (a
// Kubernetes request other than GET, an AWS operation other than
// Describe*, List* or Get*). `prescale plan` against live state uses it.
type Reader struct{ a *Actuator }

// NewReader returns a Reader over the Kubernetes API server of rc (nil: no
// Kubernetes) and AWS (awsCfg nil: none). rc is copied and made read-only.
func NewReader(rc *rest.Config, awsCfg AWSConfig) (*Reader, error) {
	var kube kubernetes.Interface
	var opts []Option
	if rc != nil {
		ro := ReadOnlyKube(rc)
		c, err := kubernetes.NewForConfig(ro)
		if err != nil {
			return nil, fmt.Errorf("kubernetes client: %w", err)
		}
		kube = c
		// KEDA ScaledObjects are read through the dynamic client.
		d, err := dynamic.NewForConfig(ro)
		if err != nil {
			return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
		}
		opts = append(opts, WithDynamic(d))
	}
	var ro AWSConfig
	if awsCfg != nil {
		ro = func(ctx context.Context, region string) (sdkaws.Config, error) {
			cfg, err := awsCfg(ctx, region)
			return ReadOnlyAWS(cfg), err
		}
	}
	return &Reader{a: New(kube, ro, &actuator.Journal{}, opts...)}, nil
}

// Current reads what the policy's resources are set to now.
func (r *Reader) Current(ctx context.Context, p *config.Policy) (policy.Current, error) {
	return r.a.Current(ctx, p)
}

// ErrReadOnly is the error of a write refused by a read-only client.
var ErrReadOnly = fmt.Errorf("refused: this client is read-only")

// ReadOnlyKube returns a copy of rc whose requests other than GET (and
// HEAD) fail with ErrReadOnly without being sent.
func ReadOnlyKube(rc *rest.Config) *rest.Config {
	c := rest.CopyConfig(rc)
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(req *http.Request) (*http.Response, error) {
			if req.Method != http.MethodGet && req.Method != http.MethodHead {
				return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, ErrReadOnly)
			}
			return rt.RoundTrip(req)
		})
	})
	return c
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// ReadOnlyAWS returns cfg with a middleware that refuses, before it is
// signed or sent, every operation that is not a Describe*, List* or Get*.
func ReadOnlyAWS(cfg sdkaws.Config) sdkaws.Config {
	cfg.APIOptions = append(append([]func(*middleware.Stack) error(nil), cfg.APIOptions...), func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("prescaleReadOnly",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				op := awsmiddleware.GetOperationName(ctx)
				for _, p := range []string{"Describe", "List", "Get"} {
					if strings.HasPrefix(op, p) {
						return next.HandleInitialize(ctx, in)
					}
				}
				return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("%s %s: %w", awsmiddleware.GetServiceID(ctx), op, ErrReadOnly)
			}), middleware.Before)
	})
	return cfg
}
