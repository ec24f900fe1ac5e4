package peer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBadTarget is returned when a Target is incomplete or its header cannot be parsed.
var ErrBadTarget = errors.New("bad peer target")

// Target names one port of one pod on the peer runner.
type Target struct {
	Namespace, Pod string
	Port           int
}

// String returns the target as "namespace/pod:port", its form in TargetHeader.
func (t Target) String() string {
	return t.Namespace + "/" + t.Pod + ":" + strconv.Itoa(t.Port)
}

// validate reports a target that could not travel or would not parse back.
func (t Target) validate() error {
	switch {
	case t.Namespace == "" || t.Pod == "":
		return fmt.Errorf("%w %q: namespace and pod are required", ErrBadTarget, t)
	case strings.ContainsAny(t.Namespace, "/:\r\n") || strings.ContainsAny(t.Pod, "/:\r\n"):
		return fmt.Errorf("%w %q: namespace and pod may not contain '/', ':' or line breaks", ErrBadTarget, t)
	case t.Port < 1 || t.Port > 65535:
		return fmt.Errorf("%w %q: port must be in 1-65535", ErrBadTarget, t)
	}
	return nil
}

// parseTarget parses the value of TargetHeader.
func parseTarget(s string) (Target, error) {
	ns, rest, ok := strings.Cut(s, "/")
	if !ok {
		return Target{}, fmt.Errorf("%w %q: want namespace/pod:port", ErrBadTarget, s)
	}
	pod, port, ok := strings.Cut(rest, ":")
	if !ok {
		return Target{}, fmt.Errorf("%w %q: want namespace/pod:port", ErrBadTarget, s)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		return Target{}, fmt.Errorf("%w %q: port: %w", ErrBadTarget, s, err)
	}
	t := Target{Namespace: ns, Pod: pod, Port: n}
	if err := t.validate(); err != nil {
		return Target{}, err
	}
	return t, nil
}
