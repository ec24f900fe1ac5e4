package proxy

// pick chooses the endpoint of rp for the next attempt, skipping those in tried, or returns
// nil when none is left. Round robin takes the next endpoint after a shared cursor; least
// requests takes the endpoint with the fewest requests in flight, ties going to the first
// after the cursor so that an idle Service is still served in turn.
func (rp *routePort) pick(tried []*endpoint) *endpoint {
	n := len(rp.eps)
	if n == 0 {
		return nil
	}
	start := int((rp.next.Add(1) - 1) % uint64(n))
	var best *endpoint
	var bestLoad int64
	for i := range n {
		e := rp.eps[(start+i)%n]
		if contains(tried, e) {
			continue
		}
		if !rp.route.leastRequests {
			return e
		}
		if load := e.inflight.Load(); best == nil || load < bestLoad {
			best, bestLoad = e, load
		}
	}
	return best
}

func contains(list []*endpoint, e *endpoint) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}
