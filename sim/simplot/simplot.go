// Package simplot draws a backtest: per strategy, demand against the
// capacity that was ready to serve it, the floor the strategy asserted and
// the demand left unserved, so that where a strategy fell short and what it
// paid is visible at a glance.
package simplot

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/prescale/prescale/sim"
)

// DefaultSpan is how much of the trace a plot shows: a long trace drawn
// minute by minute is a smear; two days show the daily cycle and the
// strategies' reactions.
const DefaultSpan = 48 * time.Hour

var (
	demandColor   = color.RGBA{A: 255}
	readyColor    = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	floorColor    = color.RGBA{R: 255, G: 127, B: 14, A: 255}
	unservedColor = color.RGBA{R: 214, G: 39, B: 40, A: 255}
	oracleColor   = color.RGBA{R: 150, G: 150, B: 150, A: 255}
)

// Write draws rep as a PNG on w. It shows DefaultSpan of the evaluated
// trace around the minute where the reactive strategy left the most demand
// unserved (the moment the comparison is about), one panel per strategy.
// rep must have been run with Config.Record.
func Write(w io.Writer, title string, rep *sim.Report) error {
	from, to, err := Window(rep, DefaultSpan)
	if err != nil {
		return err
	}
	return WriteWindow(w, title, rep, from, to)
}

// Window picks span of the evaluated trace centred on reactive's worst
// minute, clipped to the trace.
func Window(rep *sim.Report, span time.Duration) (from, to time.Time, err error) {
	r, ok := rep.Result("reactive")
	if !ok || r.Timeline == nil {
		return from, to, fmt.Errorf("report has no reactive timeline (run with Config.Record)")
	}
	d := rep.Demand
	first := int(rep.Config.EvalFrom.Sub(d.Start) / time.Minute)
	first = max(0, min(first, d.Len()-1))
	worst, worstV := first, -1.0
	// Unserved in demand units is dominated by the busiest hours; pick the
	// worst hour of shortfall rather than a single spike minute.
	var acc float64
	for i := first; i < d.Len(); i++ {
		acc += r.Timeline.Unserved[i]
		if i-60 >= first {
			acc -= r.Timeline.Unserved[i-60]
		}
		if acc > worstV {
			worst, worstV = i, acc
		}
	}
	n := int(span / time.Minute)
	lo := worst - n/2
	lo = max(first, min(lo, d.Len()-n))
	lo = max(0, lo)
	hi := min(d.Len(), lo+n)
	return d.Time(lo), d.Time(hi), nil
}

// WriteWindow draws rep between from and to.
func WriteWindow(w io.Writer, title string, rep *sim.Report, from, to time.Time) error {
	d := rep.Demand
	lo := max(0, int(from.Sub(d.Start)/time.Minute))
	hi := min(d.Len(), int(to.Sub(d.Start)/time.Minute))
	if hi <= lo {
		return fmt.Errorf("plot window %s..%s is outside the trace", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	oracle, _ := rep.Result("oracle")
	names := []string{"reactive", "schedule", "predictive"}
	var plots [][]*plot.Plot
	yMax := 0.0
	// One scale for every panel, so that their capacities compare by eye.
	for i := lo; i < hi; i++ {
		if v := d.Values[i]; !math.IsNaN(v) {
			yMax = max(yMax, v)
		}
		for _, name := range names {
			if r, ok := rep.Result(name); ok && r.Timeline != nil {
				yMax = max(yMax, float64(r.Timeline.Ready[i])*rep.Capacity, float64(r.Timeline.Floor[i])*rep.Capacity)
			}
		}
	}
	for k, name := range names {
		r, ok := rep.Result(name)
		if !ok || r.Timeline == nil {
			return fmt.Errorf("report has no %s timeline (run with Config.Record)", name)
		}
		p, err := panel(rep, r, oracle, lo, hi, yMax)
		if err != nil {
			return err
		}
		p.Title.Text = fmt.Sprintf("%s: unserved %.3f%%, %.0f min short, %.0f replica-h (whole evaluated trace)",
			name, 100*r.UnservedFraction, r.UnderprovisionedMinutes, r.ReplicaHours)
		if k == 0 {
			p.Title.Text = fmt.Sprintf("%s — oracle %.0f replica-h\n%s", title, oracle.ReplicaHours, p.Title.Text)
		}
		if k < len(names)-1 {
			p.X.Tick.Label.Color = color.Transparent
			p.X.Label.Text = ""
		}
		plots = append(plots, []*plot.Plot{p})
	}
	height := 11 * vg.Inch
	if rep.Curve != nil {
		cp, err := curvePanel(rep)
		if err != nil {
			return err
		}
		plots = append(plots, []*plot.Plot{cp})
		height += 3.7 * vg.Inch
	}
	const width = 14 * vg.Inch
	const band = 0.55 * vg.Inch // the legend, above the panels
	img := vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(110))
	dc := draw.New(img)
	if err := drawLegend(draw.Crop(dc, 0, 0, height-band, 0)); err != nil {
		return err
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadX: vg.Millimeter, PadY: 2 * vg.Millimeter,
		PadTop: 2 * vg.Millimeter, PadBottom: 2 * vg.Millimeter, PadLeft: 2 * vg.Millimeter, PadRight: 2 * vg.Millimeter}
	canvases := plot.Align(plots, tiles, draw.Crop(dc, 0, 0, 0, -band))
	for j := range plots {
		plots[j][0].Draw(canvases[j][0])
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("png: %w", err)
	}
	return nil
}

// panel draws one strategy in demand units: demand, ready capacity (ready
// pods × c), the floor (floor pods × c), the oracle's capacity for scale,
// and the unserved demand as a red area from zero.
func panel(rep *sim.Report, r, oracle sim.Result, lo, hi int, yMax float64) (*plot.Plot, error) {
	d := rep.Demand
	c := rep.Capacity
	tl := r.Timeline
	x := func(i int) float64 { return float64(d.Time(i).Unix()) }
	// One line per stretch of observed demand: a market's night or an
	// outage is left blank rather than drawn as demand held (the metrics
	// skip it too).
	var demand, ready, floor, orc, unserved []plotter.XYs
	for i := lo; i < hi; i++ {
		v := d.Values[i]
		if math.IsNaN(v) {
			continue
		}
		if i == lo || math.IsNaN(d.Values[i-1]) {
			demand, ready, floor = append(demand, nil), append(ready, nil), append(floor, nil)
			orc, unserved = append(orc, nil), append(unserved, nil)
		}
		k := len(demand) - 1
		demand[k] = append(demand[k], plotter.XY{X: x(i), Y: v})
		ready[k] = append(ready[k], plotter.XY{X: x(i), Y: float64(tl.Ready[i]) * c})
		floor[k] = append(floor[k], plotter.XY{X: x(i), Y: float64(tl.Floor[i]) * c})
		if oracle.Timeline != nil {
			orc[k] = append(orc[k], plotter.XY{X: x(i), Y: float64(oracle.Timeline.Ready[i]) * c})
		}
		unserved[k] = append(unserved[k], plotter.XY{X: x(i), Y: tl.Unserved[i]})
	}
	p := plot.New()
	loc := rep.Location
	if loc == nil {
		loc = time.UTC
	}
	p.X.Tick.Marker = timeTicks{loc}
	p.X.Label.Text = fmt.Sprintf("time (%s)", loc)
	p.Y.Label.Text = "demand / capacity"
	p.Y.Min, p.Y.Max = 0, yMax*1.05
	p.Add(plotter.NewGrid())

	for _, xy := range unserved {
		area, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		area.FillColor = color.NRGBA{R: 214, G: 39, B: 40, A: 170}
		area.Color = unservedColor
		area.Width = vg.Points(0.5)
		p.Add(area)
	}
	add := func(xys []plotter.XYs, col color.Color, width vg.Length, dashed bool) error {
		for _, xy := range xys {
			if err := addLine(p, xy, col, width, dashed); err != nil {
				return err
			}
		}
		return nil
	}
	for _, xy := range ready {
		// Ready capacity as a shaded area: demand sticking out of it is
		// what went unserved.
		l, err := plotter.NewLine(xy)
		if err != nil {
			return nil, err
		}
		l.StepStyle = plotter.PostStep
		l.Color = readyColor
		l.Width = vg.Points(1.2)
		l.FillColor = color.NRGBA{R: 31, G: 119, B: 180, A: 50}
		p.Add(l)
	}
	if err := add(orc, oracleColor, vg.Points(0.8), false); err != nil {
		return nil, err
	}
	if r.Strategy != "reactive" {
		if err := add(floor, floorColor, vg.Points(1.4), true); err != nil {
			return nil, err
		}
	}
	if err := add(demand, demandColor, vg.Points(0.9), false); err != nil {
		return nil, err
	}
	return p, nil
}

// curvePanel draws reactive's cost–unserved curve over the HPA targets
// swept, with each strategy as a point: a strategy below the curve serves
// more than running the HPA cooler would for the same replica-hours.
func curvePanel(rep *sim.Report) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "at equal cost: reactive over a sweep of HPA targets (curve) and each strategy (point), whole evaluated trace"
	p.X.Label.Text = "replica-hours"
	p.Y.Label.Text = "unserved demand (%)"
	p.Add(plotter.NewGrid())
	var xy plotter.XYs
	var labels []string
	for _, pt := range rep.Curve {
		xy = append(xy, plotter.XY{X: pt.ReplicaHours, Y: 100 * pt.UnservedFraction})
		labels = append(labels, fmt.Sprintf("%.2f", pt.TargetUtilization))
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		return nil, err
	}
	l.Color, l.Width = readyColor, vg.Points(1.2)
	p.Add(l)
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: labels})
	if err != nil {
		return nil, err
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].Font.Size = vg.Points(8)
		lb.TextStyle[i].Color = readyColor
	}
	p.Add(lb)
	cols := map[string]color.Color{"reactive": demandColor, "schedule": oracleColor, "predictive": floorColor}
	xMax := xy[len(xy)-1].X
	for _, r := range rep.Results {
		col, ok := cols[r.Strategy]
		if !ok {
			continue
		}
		pt := plotter.XYs{{X: r.ReplicaHours, Y: 100 * r.UnservedFraction}}
		sc, err := plotter.NewScatter(pt)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color, sc.GlyphStyle.Radius, sc.GlyphStyle.Shape = col, vg.Points(5), draw.CircleGlyph{}
		p.Add(sc)
		name, err := plotter.NewLabels(plotter.XYLabels{XYs: pt, Labels: []string{"  " + r.Strategy}})
		if err != nil {
			return nil, err
		}
		name.TextStyle[0].Color = col
		p.Add(name)
		xMax = max(xMax, r.ReplicaHours)
	}
	p.X.Min, p.X.Max = xy[0].X*0.95, xMax*1.1
	p.Y.Min = 0
	return p, nil
}

// addLine draws xy as a step line.
func addLine(p *plot.Plot, xy plotter.XYs, col color.Color, width vg.Length, dashed bool) error {
	{
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.StepStyle = plotter.PostStep
		l.Color = col
		l.Width = width
		if dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l)
	}
	return nil
}

// timeTicks marks every 6 hours, labelled, with the date at midnight, and
// every hour unlabelled; over more than four days, days only; all in the
// plot's time zone.
type timeTicks struct{ loc *time.Location }

// Ticks implements plot.Ticker.
func (tt timeTicks) Ticks(min, max float64) []plot.Tick {
	lo := time.Unix(int64(min), 0).In(tt.loc).Truncate(time.Hour)
	hi := time.Unix(int64(max), 0).In(tt.loc)
	major, minor := 6*time.Hour, time.Hour
	if hi.Sub(lo) > 96*time.Hour {
		major, minor = 24*time.Hour, 6*time.Hour
	}
	var ticks []plot.Tick
	for t := lo; !t.After(hi); t = t.Add(minor) {
		if float64(t.Unix()) < min {
			continue
		}
		tk := plot.Tick{Value: float64(t.Unix())}
		if sod := time.Duration(t.Hour()) * time.Hour; sod%major == 0 {
			tk.Label = t.Format("15:04")
			if t.Hour() == 0 {
				tk.Label = t.Format("Jan 2")
			}
		}
		ticks = append(ticks, tk)
	}
	return ticks
}

// drawLegend draws the key of every panel in three columns across c.
func drawLegend(c draw.Canvas) error {
	type entry struct {
		label  string
		col    color.Color
		fill   color.Color
		dashed bool
	}
	cols := [][]entry{
		{{"demand", demandColor, nil, false},
			{"ready capacity (ready pods × c)", readyColor, color.NRGBA{R: 31, G: 119, B: 180, A: 50}, false}},
		{{"floor the strategy asserted (minReplicas × c)", floorColor, nil, true},
			{"oracle: exactly the pods needed × c", oracleColor, nil, false}},
		{{"unserved demand (above ready capacity)", unservedColor, color.NRGBA{R: 214, G: 39, B: 40, A: 170}, false}},
	}
	w := (c.Max.X - c.Min.X) / vg.Length(len(cols))
	for i, col := range cols {
		lg := plot.NewLegend()
		lg.Top, lg.Left = true, true
		lg.TextStyle.Font.Size = vg.Points(12)
		for _, e := range col {
			l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
			if err != nil {
				return err
			}
			l.Color, l.Width, l.FillColor = e.col, vg.Points(1.5), e.fill
			if e.dashed {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			lg.Add(e.label, l)
		}
		lg.Draw(draw.Crop(c, vg.Length(i)*w+8*vg.Millimeter, -(vg.Length(len(cols)-1-i) * w), 0, -2*vg.Millimeter))
	}
	return nil
}
