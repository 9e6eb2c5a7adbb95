package forecastplot

import (
	"bytes"
	"image/png"
	"testing"
	"time"

	"github.com/prescale/prescale/forecast"
	"github.com/prescale/prescale/metrics/trace"
)

func TestWriteDrawsHistoryAndBand(t *testing.T) {
	s, err := trace.ReadFile("../../testdata/elb_request_count_8c0756.csv")
	if err != nil {
		t.Fatal(err)
	}
	f, err := forecast.Auto(s, forecast.Options{Horizon: 288, Quantiles: []float64{0.05, 0.95}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, "elb", s, f, 0.05, 0.95, time.UTC); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 300 {
		t.Fatalf("image %v too small to read", b)
	}
	// The band is drawn in translucent blue over white: count its pixels.
	band, dark := 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if bl>>8 > 200 && r>>8 > 150 && r>>8 < 230 && g>>8 > 180 {
				band++
			}
			if r>>8 < 60 && g>>8 < 60 && bl>>8 < 60 {
				dark++
			}
		}
	}
	if band < 1000 || dark < 1000 {
		t.Errorf("band pixels %d, dark (history, text) pixels %d: something was not drawn", band, dark)
	}
	if err := Write(&bytes.Buffer{}, "empty", s, &forecast.Forecast{}, 0.05, 0.95, nil); err == nil {
		t.Error("empty forecast: no error")
	}
}
