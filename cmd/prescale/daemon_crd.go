package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/prescale/prescale/config"
	"github.com/prescale/prescale/controller"
	"github.com/prescale/prescale/controller/crd"
)

// scalingPolicies returns the policies the daemon runs (the files', and
// with --scalingpolicies the ScalingPolicy objects' in force, watched) and
// the loop's Report (nil without --scalingpolicies: files have no status).
// It returns once every existing ScalingPolicy has been judged. verdicts
// are the targets' last verdicts the ScalingPolicies' status holds, for
// the loop's Config.Verdicts (nil without --scalingpolicies).
func scalingPolicies(ctx context.Context, d *daemonOptions, files func() []*config.Policy, dyn dynamic.Interface, kube kubernetes.Interface, reloads config.ReloadObserver, logger *slog.Logger) (policies func() []*config.Policy, report func(context.Context, controller.Report), verdicts func(*config.Policy, string) (controller.Verdict, bool), err error) {
	if !d.scalingPolicies {
		return files, nil, nil, nil
	}
	own := d.namespace
	if own == "" {
		own = os.Getenv("POD_NAMESPACE")
	}
	if own == "" {
		return nil, nil, nil, fmt.Errorf("--scalingpolicies needs prescale's own namespace: --namespace or POD_NAMESPACE")
	}
	src := crd.New(dyn, kube, crd.Options{Namespace: own, Logger: logger, Reloads: reloads})
	if err := src.Start(ctx, d.watchNamespace); err != nil {
		return nil, nil, nil, err
	}
	logger.Info("watching ScalingPolicies", "namespace", d.watchNamespace, "own_namespace", own, "in_force", len(src.Policies()))
	return func() []*config.Policy {
		return append(append([]*config.Policy(nil), files()...), src.Policies()...)
	}, src.Report, src.Verdict, nil
}
