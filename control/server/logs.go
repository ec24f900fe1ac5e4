package server

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/apiserver"
)

// logRouter is the API server's LogSource: it hands pods/log to the source registered for the
// pod's node (the in-process runner), or to the fallback for other nodes.
type logRouter struct {
	mu       sync.RWMutex
	nodes    map[string]apiserver.LogSource
	fallback apiserver.LogSource
}

// Logs serves the log of pod through the source of its node.
func (l *logRouter) Logs(ctx context.Context, pod *api.Pod, opts apiserver.LogOptions, w io.Writer) error {
	l.mu.RLock()
	src := l.nodes[pod.Spec.NodeName]
	if src == nil {
		src = l.fallback
	}
	l.mu.RUnlock()
	if src == nil {
		return api.NewStatusError(http.StatusNotFound, api.ReasonNotFound,
			fmt.Sprintf("logs of pod %s/%s are not available: no log source for node %q", pod.Namespace, pod.Name, pod.Spec.NodeName))
	}
	return src.Logs(ctx, pod, opts, w)
}

// SetNodeLogs makes src serve pods/log for the pods of node (the server's own runner); nil
// removes it.
func (s *Server) SetNodeLogs(node string, src apiserver.LogSource) {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	if s.logs.nodes == nil {
		s.logs.nodes = map[string]apiserver.LogSource{}
	}
	if src == nil {
		delete(s.logs.nodes, node)
		return
	}
	s.logs.nodes[node] = src
}

// SetRemoteLogs makes src serve pods/log for the pods of nodes without a source of their own
// (runners in other processes).
func (s *Server) SetRemoteLogs(src apiserver.LogSource) {
	s.logs.mu.Lock()
	defer s.logs.mu.Unlock()
	s.logs.fallback = src
}
