package policy

// Carry updates the live state c as if the plan's resources that keep
// returned true had been applied: the next tick then starts from them, as
// it would in a daemon reading them back. `prescale plan --warmup` carries
// every planned value, so that its preview shows a class planned earlier,
// the hysteresis that holds it and the window that lets it come down.
func (c *Current) Carry(p Plan, keep func(Resource) bool) {
	for _, r := range p.Resources {
		if keep != nil && !keep(r) {
			continue
		}
		switch r.Kind + "/" + r.Field {
		case KindHPA + "/" + FieldMinReplicas, KindHPA + "/" + FieldMaxReplicas, KindHPA + "/" + FieldTargetCPU:
			v, ok := r.Desired.(int)
			if !ok {
				continue
			}
			if c.HPAs == nil {
				c.HPAs = map[string]HPAStatus{}
			}
			h := c.HPAs[r.Target]
			switch r.Field {
			case FieldMinReplicas:
				h.MinReplicas = v
			case FieldMaxReplicas:
				h.MaxReplicas = v
			default:
				h.TargetCPUPercent = v
			}
			c.HPAs[r.Target] = h
		case KindNodeGroup + "/" + FieldMinSize:
			if v, ok := r.Desired.(int); ok {
				c.NodeGroups = setInt(c.NodeGroups, r.Name, v)
			}
		case KindDatabase + "/" + FieldInstanceClass:
			if v, ok := r.Desired.(string); ok {
				c.Databases = setString(c.Databases, r.Name, v)
			}
		case KindCache + "/" + FieldNodeType:
			if v, ok := r.Desired.(string); ok {
				c.Caches = setString(c.Caches, r.Name, v)
			}
		case KindDatabase + "/" + FieldReadReplicas:
			if v, ok := r.Desired.(int); ok {
				c.ReadReplicas = setInt(c.ReadReplicas, r.Name, v)
			}
		case KindConnectionPool + "/" + FieldPoolSize:
			if v, ok := r.Desired.(int); ok {
				c.Pools = setInt(c.Pools, r.Target, v)
			}
		}
	}
}

func setInt(m map[string]int, k string, v int) map[string]int {
	if m == nil {
		m = map[string]int{}
	}
	m[k] = v
	return m
}

func setString(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}
