package simplot

import (
	"bytes"
	"context"
	"image/png"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/sim"
)

// report runs reactive, schedule (no floors here), predictive (a fixed
// floor) and the oracle on six days of flat demand with one burst on day 5.
func report(t *testing.T) (*sim.Report, int) {
	t.Helper()
	start := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	v := make([]float64, 6*1440)
	for i := range v {
		v[i] = 10
	}
	burst := 4*1440 + 600
	for i := burst; i < burst+30; i++ {
		v[i] = 60
	}
	d := forecast.Series{Start: start, Step: time.Minute, Values: v}
	cfg := sim.DefaultConfig(1)
	cfg.Record = true
	cfg.EvalFrom = start.Add(24 * time.Hour)
	rep := &sim.Report{Demand: d, Capacity: 1, Config: cfg}
	for _, s := range []sim.Strategy{sim.Reactive{}, named{"schedule", 0}, named{"predictive", 20}} {
		r, err := sim.Run(context.Background(), cfg, d, s)
		if err != nil {
			t.Fatal(err)
		}
		rep.Results = append(rep.Results, r)
	}
	o, err := sim.RunOracle(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	rep.Results = append(rep.Results, o)
	return rep, burst
}

type named struct {
	name  string
	floor int32
}

func (n named) Name() string { return n.name }
func (n named) Floor(time.Time, forecast.Series) (int32, error) {
	return n.floor, nil
}

func TestWindowCentresOnReactiveShortfall(t *testing.T) {
	rep, burst := report(t)
	from, to, err := Window(rep, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	at := rep.Demand.Time(burst)
	if to.Sub(from) != 24*time.Hour || at.Before(from) || !at.Before(to) {
		t.Errorf("window %v..%v does not hold the burst at %v", from, to, at)
	}
	if mid := from.Add(12 * time.Hour); mid.Sub(at) > time.Hour || at.Sub(mid) > time.Hour {
		t.Errorf("window centred on %v, burst at %v", mid, at)
	}
}

func TestWrite(t *testing.T) {
	rep, _ := report(t)
	var buf bytes.Buffer
	if err := Write(&buf, "test", rep); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 1000 {
		t.Errorf("image %v", b)
	}
	far := rep.Demand.Start.Add(365 * 24 * time.Hour)
	if err := WriteWindow(&buf, "test", rep, far, far.Add(time.Hour)); err == nil {
		t.Errorf("a window outside the trace was drawn")
	}
	rep.Results[0].Timeline = nil
	if err := Write(&buf, "test", rep); err == nil {
		t.Errorf("a report without timelines was drawn")
	}
}
