package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/prescale/prescale/actuator"
	"github.com/prescale/prescale/actuator/hpa"
	"github.com/prescale/prescale/actuator/keda"
)

func init() {
	register(command{name: "restore", summary: "put the owner's minReplicas/maxReplicas back on HPAs (and KEDA ScaledObjects) prescale changed", run: runRestore})
}

const restoreExamples = `  prescale restore shop/frontend shop/backend     # these HPAs
  prescale restore --all --namespace shop          # every HPA prescale changed in shop
  prescale restore --all --dry-run                 # what would be restored, cluster-wide
  prescale restore --kubeconfig ~/.kube/prod --context prod pricing/gateway`

// runRestore restores the owner's values (remembered in annotations) on
// the HPAs named, or on every HPA prescale changed with --all, and prints
// one line per HPA. KEDA ScaledObjects are restored the same way: a name
// with no HPA prescale changed is looked up as a ScaledObject, and --all
// covers ScaledObjects where KEDA is installed. Exit 0 when all succeeded, 1 when any failed or a
// named HPA does not exist, 2 for bad arguments.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("restore", "restore [--all [--namespace NS]] [--dry-run] [NAMESPACE/NAME...]", restoreExamples, stdout, stderr)
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)")
	kubeContext := fs.String("context", "", "kubeconfig context (default: the current one)")
	all := fs.Bool("all", false, "restore every HPA and KEDA ScaledObject that carries prescale's annotations")
	namespace := fs.String("namespace", "", "with --all, only this namespace (default: all namespaces)")
	dryRun := fs.Bool("dry-run", false, "print what would be restored, change nothing")
	if code, done := parseFlags(fs, args, stdout); done {
		return code
	}
	if *all == (fs.NArg() > 0) {
		fmt.Fprintln(stderr, "prescale restore: give either NAMESPACE/NAME arguments or --all")
		fs.Usage()
		return exitUsage
	}
	if *namespace != "" && !*all {
		fmt.Fprintln(stderr, "prescale restore: --namespace goes with --all; name HPAs as NAMESPACE/NAME")
		return exitUsage
	}
	type target struct{ ns, name string }
	var targets []target
	for _, a := range fs.Args() {
		ns, name, ok := strings.Cut(a, "/")
		if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
			fmt.Fprintf(stderr, "prescale restore: %q: want NAMESPACE/NAME\n", a)
			return exitUsage
		}
		targets = append(targets, target{ns, name})
	}

	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = *kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: *kubeContext}).ClientConfig()
	if err != nil {
		fmt.Fprintf(stderr, "prescale restore: kubeconfig: %v\n", err)
		return exitFailure
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "prescale restore: kubernetes client: %v\n", err)
		return exitFailure
	}
	mode := actuator.Active
	if *dryRun {
		mode = actuator.DryRun
	}
	a := hpa.New(client, nil)
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "prescale restore: kubernetes client: %v\n", err)
		return exitFailure
	}
	so := &keda.Actuator{Dynamic: dyn, Client: client}
	reasons := []string{"prescale restore"}

	var changes []actuator.Change
	failed := false
	if *all {
		changes, err = a.RestoreAll(ctx, mode, *namespace, reasons)
		soChanges, _, soErr := so.RestoreAll(ctx, mode, *namespace, reasons) // none where KEDA is not installed
		changes = append(changes, soChanges...)
		if err = errors.Join(err, soErr); err != nil {
			failed = true
			if len(changes) == 0 {
				fmt.Fprintf(stderr, "prescale restore: %v\n", err)
				return exitFailure
			}
		}
		if len(changes) == 0 {
			fmt.Fprintln(stdout, "no HPA or ScaledObject carries prescale's annotations: nothing to restore")
		}
	} else {
		for _, t := range targets {
			ch, err := a.Restore(ctx, mode, "", t.ns, t.name, reasons)
			if err == nil && (ch.Status == actuator.Missing || ch.Status == actuator.InSync) {
				// No HPA prescale changed by that name: a ScaledObject may be.
				sch, serr := so.Restore(ctx, mode, "", t.ns, t.name, reasons)
				if serr != nil || (sch.Status != actuator.Missing && (ch.Status == actuator.Missing || sch.Status != actuator.InSync)) {
					ch, err = sch, serr
				}
			}
			failed = failed || err != nil
			changes = append(changes, ch)
		}
	}
	for _, ch := range changes {
		fmt.Fprintf(stdout, "%s: %s\n", ch.Ref.Name, restoreLine(ch))
		switch ch.Status {
		case actuator.Failed:
			failed = true
		case actuator.Missing:
			// A name that matches no HPA is bad input, most often a typo
			// in the namespace or the name: say so where errors go.
			failed = true
			fmt.Fprintf(stderr, "prescale restore: HPA %s not found, nor a ScaledObject (check the namespace and name: kubectl get hpa,scaledobjects -A)\n", ch.Ref.Name)
		}
	}
	if *all {
		fmt.Fprintln(stdout, notRestored)
	}
	if failed {
		return exitFailure
	}
	return exitOK
}

// notRestored names what restore does not hand back, and how to.
const notRestored = `not restored by this command: node-group minimums (ASG MinSize, EKS minSize), DB and cache classes and read
replicas, placeholder headroom. prescale records no owner's values on those objects (they are in the policy),
and neither this command nor the daemon hands them back when a resource leaves a policy: set them to the
policy's nodeGroups[].minSize, databases[].current and caches[].current, and scale the placeholder to 0.`

// restoreLine says what happened to one HPA in words a person expects.
func restoreLine(ch actuator.Change) string {
	var fields []string
	for _, f := range ch.Fields {
		if f.Field != "annotations" {
			fields = append(fields, fmt.Sprintf("%s %s → %s", f.Field, f.From, f.To))
		}
	}
	moved := "owner's values already in place; annotations removed"
	if len(fields) > 0 {
		moved = strings.Join(fields, ", ")
	}
	switch ch.Status {
	case actuator.Applied:
		return "restored: " + moved
	case actuator.WouldApply:
		return "would restore: " + strings.Replace(moved, "annotations removed", "annotations would be removed", 1)
	case actuator.InSync:
		return "not changed by prescale: nothing to restore"
	case actuator.Missing:
		return "not found"
	case actuator.Paused:
		return fmt.Sprintf("paused (%s=true): not restored; remove the annotation first", hpa.AnnotationPaused)
	case actuator.Failed:
		return "failed: " + ch.Err.Error()
	}
	return string(ch.Status)
}
