package forecast

import "sync"

// scratchPool holds float64 buffers for the fits' temporaries, each a
// *[]float64. A validation fits every candidate at a dozen origins, and a
// daemon's first tick selects every signal while it holds every history:
// there each temporary allocated costs its share of collections that scan
// that whole heap (they were a third of a cold start's CPU).
var scratchPool = sync.Pool{New: func() any { return new([]float64) }}

// getScratch returns a buffer of n values, contents undefined, and the
// handle that putScratch takes back once nothing uses the buffer.
func getScratch(n int) (*[]float64, []float64) {
	p := scratchPool.Get().(*[]float64)
	if cap(*p) < n {
		*p = make([]float64, n)
	}
	return p, (*p)[:n]
}

func putScratch(p *[]float64) { scratchPool.Put(p) }
