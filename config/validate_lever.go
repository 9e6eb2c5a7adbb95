package config

// targetLever checks hpa.maxTargetUtilization, the ceiling of the HPA's
// CPU target as a second lever (see HPA.MaxTargetUtilization).
func (v *validator) targetLever(hp string, h *HPA, c *Capacity) {
	u := h.MaxTargetUtilization
	if u == 0 {
		return
	}
	p := hp + ".maxTargetUtilization"
	switch {
	case u < 0 || u > 1:
		v.errf(p, "must be between 0 and 1 (a fraction of a pod's capacity, 0.85 = 85%%), got %g", u)
	case u <= c.TargetUtilization:
		v.errf(p, "%g must be above capacity.targetUtilization %g: it is the highest CPU target the lever raises the HPA to", u, c.TargetUtilization)
	case h.ScaledObject != "":
		v.errf(p, "not with scaledObject: a KEDA ScaledObject's CPU target is one of its triggers, which prescale does not write")
	}
}
