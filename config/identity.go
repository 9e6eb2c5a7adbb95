package config

// Key names the policy uniquely among those one process runs: NAMESPACE/NAME
// when it has a namespace (a ScalingPolicy object always has; a file may
// set metadata.namespace), else NAME. Load refuses two policies with the
// same key, and the API server two objects.
func (p *Policy) Key() string {
	if p.Metadata.Namespace == "" {
		return p.Metadata.Name
	}
	return p.Metadata.Namespace + "/" + p.Metadata.Name
}

// TargetLabel is the value of the target label on prescale's metrics for
// one of p's targets (or a resource's targets joined by commas): the name
// as it is for a policy without a namespace, NAMESPACE/POLICY/TARGET for
// one with a namespace, so that two teams' policies, each with a target
// "web", never write the same series.
func (p *Policy) TargetLabel(target string) string {
	if p.Metadata.Namespace == "" {
		return target
	}
	return p.Key() + "/" + target
}
