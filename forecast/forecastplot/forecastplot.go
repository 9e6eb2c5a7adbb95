// Package forecastplot draws a forecast: the recent history, the point
// forecast and its prediction band, so that a person can see at a glance
// whether the forecast follows the series' rhythm and how wide it is.
package forecastplot

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

	"github.com/prescale/prescale/forecast"
)

var (
	historyColor = color.RGBA{A: 255}
	meanColor    = color.RGBA{R: 31, G: 119, B: 180, A: 255}
	bandColor    = color.NRGBA{R: 31, G: 119, B: 180, A: 70}
)

// Write draws hist (its last max(3 horizons, 2 days) of steps) and f as a
// PNG on w. lo and hi name two of f's quantiles to shade between; with no
// such quantiles only the mean is drawn. Times are shown in loc.
func Write(w io.Writer, title string, hist forecast.Series, f *forecast.Forecast, lo, hi float64, loc *time.Location) error {
	if f.Len() == 0 {
		return fmt.Errorf("forecast has no steps")
	}
	if loc == nil {
		loc = time.UTC
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (" + loc.String() + ")"
	p.Y.Label.Text = "value"
	p.X.Tick.Marker = plot.TimeTicks{Format: "Jan 2\n15:04", Time: func(t float64) time.Time {
		return time.Unix(int64(t), 0).In(loc)
	}}
	p.Add(plotter.NewGrid())

	show := max(3*f.Len(), int(48*time.Hour/hist.Step))
	from := max(0, hist.Len()-show)
	var past plotter.XYs
	for i := from; i < hist.Len(); i++ {
		if v := hist.Values[i]; !math.IsNaN(v) {
			past = append(past, plotter.XY{X: float64(hist.Time(i).Unix()), Y: v})
		}
	}
	ql, okl := f.Quantiles[lo]
	qh, okh := f.Quantiles[hi]
	if okl && okh && lo < hi {
		band := make(plotter.XYs, 0, 2*f.Len())
		for i := 0; i < f.Len(); i++ {
			band = append(band, plotter.XY{X: float64(f.Time(i).Unix()), Y: qh[i]})
		}
		for i := f.Len() - 1; i >= 0; i-- {
			band = append(band, plotter.XY{X: float64(f.Time(i).Unix()), Y: ql[i]})
		}
		poly, err := plotter.NewPolygon(band)
		if err != nil {
			return err
		}
		poly.Color = bandColor
		poly.LineStyle.Width = 0
		poly.LineStyle.Color = bandColor
		p.Add(poly)
		p.Legend.Add(fmt.Sprintf("%g–%g quantiles", lo, hi), poly)
	}
	if len(past) > 0 {
		l, err := plotter.NewLine(past)
		if err != nil {
			return err
		}
		l.Color = historyColor
		p.Add(l)
		p.Legend.Add("history", l)
	}
	mean := make(plotter.XYs, f.Len())
	for i := range mean {
		mean[i] = plotter.XY{X: float64(f.Time(i).Unix()), Y: f.Mean[i]}
	}
	ml, err := plotter.NewLine(mean)
	if err != nil {
		return err
	}
	ml.Color = meanColor
	ml.Width = vg.Points(1.5)
	p.Add(ml)
	p.Legend.Add("forecast ("+f.Model+")", ml)
	p.Legend.Top = true
	p.Legend.Left = true
	p.Y.Min = math.Min(p.Y.Min, 0)

	img := vgimg.New(12*vg.Inch, 5*vg.Inch)
	p.Draw(draw.New(img))
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}
