package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/wasmkube/wasmkube/control/api"
)

// configMap is kubectl describe configmap: every data key with its value, binaryData as
// byte counts, then the events.
func (d *describer) configMap(ctx context.Context, raw json.RawMessage) (string, error) {
	var c api.ConfigMap
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", fmt.Errorf("decode configmap: %w", err)
	}
	evs, err := d.eventsFor(ctx, "ConfigMap", &c.ObjectMeta)
	if err != nil {
		return "", err
	}
	p := newPrefixWriter()
	p.write(0, "Name:\t%s\n", c.Name)
	p.write(0, "Namespace:\t%s\n", c.Namespace)
	p.labelsMultiline("Labels", c.Labels)
	p.annotationsMultiline("Annotations", c.Annotations)
	p.write(0, "\nData\n====\n")
	for _, k := range sortedKeys(c.Data) {
		p.write(0, "%s:\n----\n%s\n\n", k, c.Data[k])
	}
	p.write(0, "\nBinaryData\n====\n")
	for _, k := range sortedKeys(c.BinaryData) {
		p.write(0, "%s: %d bytes\n", k, len(c.BinaryData[k]))
	}
	p.write(0, "\n")
	if evs != nil {
		d.writeEvents(p, evs)
	}
	return p.String(), nil
}

// secret is kubectl describe secret: the type and each key's size, never a value.
func (d *describer) secret(raw json.RawMessage) (string, error) {
	var s api.Secret
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("decode secret: %w", err)
	}
	p := newPrefixWriter()
	p.write(0, "Name:\t%s\n", s.Name)
	p.write(0, "Namespace:\t%s\n", s.Namespace)
	p.labelsMultiline("Labels", s.Labels)
	p.annotationsMultiline("Annotations", s.Annotations)
	p.write(0, "\nType:\t%s\n", s.Type)
	p.write(0, "\nData\n====\n")
	for _, k := range sortedKeys(s.Data) {
		p.write(0, "%s:\t%d bytes\n", k, len(s.Data[k]))
	}
	return p.String(), nil
}
