package forecast

import (
	"math"

	"gonum.org/v1/gonum/optimize"
)

// etsNumParams is the number of free parameters of a form for the optimiser.
func etsNumParams(f etsForm) int {
	k := 1
	if f.damped {
		k += 2
	}
	if f.season != etsSeasonNone {
		k++
	}
	return k
}

func etsLogistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func etsLogit(p float64) float64 {
	p = min(max(p, 1e-6), 1-1e-6)
	return math.Log(p / (1 - p))
}

// decode maps the optimiser's unbounded vector to parameters within bounds:
// alpha in (0, 1), beta in (0, alpha), gamma in (0, 1-alpha), phi in
// [0.8, 0.98], the usual admissible region of Holt-Winters.
func (f etsForm) decode(x []float64) etsParams {
	p := etsParams{alpha: etsAlphaMin + (etsAlphaMax-etsAlphaMin)*etsLogistic(x[0])}
	i := 1
	if f.damped {
		p.beta = p.alpha * etsLogistic(x[i])
		p.phi = etsPhiMin + (etsPhiMax-etsPhiMin)*etsLogistic(x[i+1])
		i += 2
	}
	if f.season != etsSeasonNone {
		p.gamma = (1 - p.alpha) * etsLogistic(x[i])
	}
	return p
}

// encode is the inverse of decode, for starting points.
func (f etsForm) encode(p etsParams, x []float64) {
	x[0] = etsLogit((p.alpha - etsAlphaMin) / (etsAlphaMax - etsAlphaMin))
	i := 1
	if f.damped {
		x[i] = etsLogit(p.beta / p.alpha)
		x[i+1] = etsLogit((p.phi - etsPhiMin) / (etsPhiMax - etsPhiMin))
		i += 2
	}
	if f.season != etsSeasonNone {
		x[i] = etsLogit(p.gamma / (1 - p.alpha))
	}
}

// fit finds the parameters of form f by Nelder-Mead on the (robust) sum of
// squared one-step errors, starting from warm when given.
func (sm *etsSmoother) fit(f etsForm, warm *etsParams, maxEval int) *etsFitted {
	sm.prepare(f)
	start := etsParams{alpha: 0.1, beta: 0.005, gamma: 0.2, phi: 0.95}
	if warm != nil {
		start = *warm
		if start.beta <= 0 {
			start.beta = 0.1 * start.alpha
		}
		if start.phi == 0 {
			start.phi = 0.9
		}
		if start.gamma <= 0 {
			start.gamma = 0.1 * (1 - start.alpha)
		}
	}
	dim := etsNumParams(f)
	x0 := make([]float64, dim)
	f.encode(start, x0)
	evals := 0
	problem := optimize.Problem{Func: func(x []float64) float64 {
		evals++
		l := sm.run(f.decode(x))
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return math.MaxFloat64
		}
		return l
	}}
	if warm != nil {
		maxEval = min(maxEval, etsWarmEvaluations*dim)
	}
	settings := &optimize.Settings{
		FuncEvaluations: maxEval,
		Converger:       &optimize.FunctionConverge{Relative: 1e-5, Iterations: 4 * dim},
	}
	// A simplex of one unit in logit space spans a useful part of each
	// parameter's range; gonum's default (0.05) would crawl. From a warm
	// start the optimum is near: a smaller simplex and budget do.
	simplex := 1.0
	if warm != nil {
		simplex = 0.5
	}
	x, loss := x0, math.NaN()
	res, err := optimize.Minimize(problem, x0, settings, &optimize.NelderMead{SimplexSize: simplex})
	if err == nil && res != nil && len(res.X) == dim {
		x, loss = res.X, res.F
	}
	if math.IsNaN(loss) || loss == math.MaxFloat64 {
		loss = sm.run(f.decode(x))
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil
		}
	}
	p := f.decode(x)
	// AICc of the Gaussian likelihood of the one-step errors, counting the
	// smoothing parameters and the initial states (level, trend, m-1
	// seasonal states) as Hyndman et al. do.
	k := float64(dim + 1 + 1) // parameters, initial level, error variance
	if f.damped {
		k++
	}
	if f.season != etsSeasonNone {
		k += float64(sm.period - 1)
	}
	nobs := float64(sm.nobs)
	aicc := math.Inf(1)
	if loss > 0 && nobs > k+1 {
		aicc = nobs*math.Log(loss/nobs) + 2*k + 2*k*(k+1)/(nobs-k-1)
	} else if loss == 0 {
		aicc = math.Inf(-1) // a perfect fit (constant series)
	}
	return &etsFitted{form: f, params: p, loss: loss, aicc: aicc, evals: evals}
}
