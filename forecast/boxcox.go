package forecast

import (
	"fmt"
	"math"
)

// BoxCox fits Model on the Box-Cox transform of a non-negative series and
// transforms its forecast back. Request rates swing more when they are
// high than when they are low; on the transformed scale the swings are
// even, which additive models (a seasonal component added to a level)
// assume. Whether it helps a given series is for validation to say: the
// transformed model is one more candidate beside the plain one.
//
// λ is chosen by Guerrero's method (Guerrero 1993): cut the series into
// cycles of the shortest season (or 24 steps), and take the λ of the grid
// {0, 0.25, 0.5, 0.75, 1} that makes the ratio of each cycle's standard
// deviation to its mean to the power 1 − λ most nearly constant (least
// coefficient of variation). λ = 0 is the log, of the series plus a small
// offset if it holds zeros. The back-transformed forecast is the
// transformed forecast's median, not its mean: the right centre for a
// forecast judged by absolute error.
type BoxCox struct {
	Model Model
}

// Name implements Model.
func (m BoxCox) Name() string { return m.Model.Name() + "-boxcox" }

// Fit implements Model.
func (m BoxCox) Fit(in *Input) (Fit, error) {
	if !in.NonNegative {
		return Fit{}, fmt.Errorf("boxcox: series has negative values")
	}
	period := 24
	if len(in.Seasons) > 0 {
		period = in.Seasons[0].Period
	}
	lambda := guerrero(in.Values, period)
	var sum, n float64
	zeros := false
	for _, v := range in.Values {
		if !math.IsNaN(v) {
			sum += v
			n++
			zeros = zeros || v == 0
		}
	}
	if n == 0 {
		return Fit{}, fmt.Errorf("boxcox: no observed values")
	}
	// The log of zero is not a number: shift by a hundredth of the mean.
	shift := 0.0
	if lambda == 0 && zeros {
		shift = 0.01 * sum / n
		if shift <= 0 {
			return Fit{}, fmt.Errorf("boxcox: series is all zeros")
		}
	}
	tin := *in
	tin.NonNegative = false
	tin.cache = nil // the cache holds work on the untransformed values
	vals := make([]float64, len(in.Values))
	for i, v := range in.Values {
		vals[i] = boxCox(v+shift, lambda)
	}
	tin.Values = vals
	tin.Series.Values = vals
	f, err := m.Model.Fit(&tin)
	if err != nil {
		return Fit{}, err
	}
	mean := make([]float64, len(f.Mean))
	for i, x := range f.Mean {
		mean[i] = math.Max(0, invBoxCox(x, lambda)-shift)
	}
	return Fit{Mean: mean, Detail: fmt.Sprintf("boxcox(lambda=%.2f) %s", lambda, f.Detail)}, nil
}

func boxCox(y, lambda float64) float64 {
	if math.IsNaN(y) {
		return y
	}
	if lambda == 0 {
		return math.Log(y)
	}
	return (math.Pow(y, lambda) - 1) / lambda
}

// invBoxCox inverts boxCox; where the transformed value lies below what
// any non-negative value maps to, it returns 0.
func invBoxCox(x, lambda float64) float64 {
	if lambda == 0 {
		return math.Exp(x)
	}
	b := lambda*x + 1
	if b <= 0 {
		return 0
	}
	return math.Pow(b, 1/lambda)
}

// guerreroLambdas is the grid Guerrero's method chooses from.
var guerreroLambdas = []float64{0, 0.25, 0.5, 0.75, 1}

// guerrero chooses λ by Guerrero's method on cycles of period steps; 1
// (no transform) when there are fewer than three cycles with a positive
// mean and spread.
func guerrero(y []float64, period int) float64 {
	if period < 2 {
		return 1
	}
	var means, sds []float64
	for from := len(y) % period; from+period <= len(y); from += period {
		var s, ss, n float64
		for _, v := range y[from : from+period] {
			if !math.IsNaN(v) {
				s += v
				ss += v * v
				n++
			}
		}
		if n < 2 {
			continue
		}
		mu := s / n
		sd := math.Sqrt(math.Max(0, (ss-n*mu*mu)/(n-1)))
		if mu > 0 && sd > 0 {
			means = append(means, mu)
			sds = append(sds, sd)
		}
	}
	if len(means) < 3 {
		return 1
	}
	best, bestCV := 1.0, math.Inf(1)
	r := make([]float64, len(means))
	for _, l := range guerreroLambdas {
		var s, ss float64
		for i := range means {
			r[i] = sds[i] / math.Pow(means[i], 1-l)
			s += r[i]
			ss += r[i] * r[i]
		}
		k := float64(len(r))
		mu := s / k
		cv := math.Sqrt(math.Max(0, ss/k-mu*mu)) / mu
		if cv < bestCV {
			best, bestCV = l, cv
		}
	}
	return best
}
