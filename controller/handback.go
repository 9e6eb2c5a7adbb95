package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// restoreLeavers hands back the HPAs of targets that were active and are
// now gone from the policies or in mode observe. A target moved to shadow
// keeps what was applied (shadow touches nothing, restoring included) and
// is handed back if it later leaves.
func (l *Loop) restoreLeavers(ctx context.Context) error {
	next := map[string]hpaRef{}
	mode := map[string]string{}
	// A promotion lasts while the target stays shadow with hpa.promote;
	// a target whose mode changed (or that left) is handled by its mode.
	stillPromoted := map[string]string{}
	for _, p := range l.policies() {
		for _, t := range p.Spec.Targets {
			key := p.Key() + "/" + t.Name
			mode[key] = t.HPA.Mode
			why, promoted := l.promoted[key]
			if promoted && t.HPA.Mode == "shadow" && t.HPA.Promote != nil {
				stillPromoted[key] = why
			} else {
				promoted = false
			}
			if t.HPA.Mode == "active" || promoted {
				next[key] = hpaRef{t.Name, t.HPA.Namespace, t.HPA.Object()}
			}
		}
	}
	var errs []error
	r, canRestore := l.act.(Restorer)
	for key, ref := range l.managed {
		m, present := mode[key]
		if m == "active" {
			continue
		}
		if m == "shadow" {
			next[key] = ref
			continue
		}
		why := "target left the policy: the owner's values are restored"
		if present {
			why = "target's mode is now " + m + ": the owner's values are restored"
		}
		if !canRestore {
			l.log.Warn("cannot restore: the actuator does not support it", "target", ref.target, "hpa", ref.namespace+"/"+ref.name)
			continue
		}
		if err := r.Restore(ctx, ref.target, ref.namespace, ref.name, []string{why}); err != nil {
			errs = append(errs, fmt.Errorf("restore hpa %s/%s: %w", ref.namespace, ref.name, err))
			next[key] = ref // try again at the next tick
			continue
		}
		l.log.Info("restored", "target", ref.target, "hpa", ref.namespace+"/"+ref.name, "why", why)
	}
	for key := range l.promoted {
		if _, ok := stillPromoted[key]; !ok {
			l.log.Info("promotion ended: the target's mode or bar changed, or it left", "target", key)
			if l.exp != nil {
				l.exp.Promoted.DeleteLabelValues(key[strings.Index(key, "/")+1:])
			}
		}
	}
	l.promoted = stillPromoted
	l.managed = next
	return errors.Join(errs...)
}

// seedManaged adds to managed, once, the HPAs the actuator finds it
// changed before this process started: under the key of the policy target
// that names the HPA now (so that restoreLeavers treats it by that
// target's mode), or under a key no target has when none does (so that it
// is restored). A failed listing is retried at the next tick.
func (l *Loop) seedManaged(ctx context.Context) error {
	if l.seeded {
		return nil
	}
	lister, ok := l.act.(ManagedLister)
	if !ok {
		l.seeded = true
		return nil
	}
	found, err := lister.ManagedHPAs(ctx)
	if err != nil {
		return fmt.Errorf("list managed hpas: %w", err)
	}
	l.seeded = true
	type claim struct{ key, target string }
	claimed := map[HPARef]claim{}
	for _, p := range l.policies() {
		for _, t := range p.Spec.Targets {
			claimed[HPARef{t.HPA.Namespace, t.HPA.Object()}] = claim{p.Key() + "/" + t.Name, t.Name}
		}
	}
	for _, r := range found {
		c, ok := claimed[r]
		if !ok {
			c = claim{key: "cluster:" + r.Namespace + "/" + r.Name}
			l.log.Info("found an HPA prescale changed whose target is in no policy: restoring it", "hpa", r.Namespace+"/"+r.Name)
		}
		if _, ok := l.managed[c.key]; !ok {
			l.managed[c.key] = hpaRef{c.target, r.Namespace, r.Name}
		}
	}
	return nil
}
