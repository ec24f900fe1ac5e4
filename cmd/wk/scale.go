package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
	"github.com/wasmkube/wasmkube/control/client"
)

func newScaleCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scale --replicas=COUNT TYPE NAME... | TYPE/NAME...",
		Short: "Set a new size for a deployment or replica set",
		Long: `Set a new size for a deployment or replica set through its scale subresource. With
--current-replicas the size is changed only if it is currently that.`,
		Example: `  wk scale deployment hello --replicas=3
  wk scale --current-replicas=2 --replicas=3 deployment/hello`,
		RunE: clientAction(s, runScale),
	}
	f := cmd.Flags()
	f.Int("replicas", -1, "the new desired number of replicas (required)")
	f.Int("current-replicas", -1, "precondition: the current size must be this for the scale to happen (-1: no condition)")
	f.String("resource-version", "", "precondition: the object's resourceVersion must be this")
	f.StringP("selector", "l", "", "label selector of the objects to scale")
	f.Bool("all", false, "scale every object of the given type in the namespace")
	return cmd
}

func runScale(ctx context.Context, sess *session, args []string) error {
	v := sess.v
	replicas := v.GetInt("replicas")
	if replicas < 0 {
		return errors.New("the --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
	}
	if err := sess.connect(); err != nil {
		return err
	}
	reqs, err := parseTypeArgs(ctx, sess, args)
	if err != nil {
		return err
	}
	type target struct {
		ri   *api.ResourceInfo
		name string
	}
	var targets []target
	for _, r := range reqs {
		if !r.ri.HasSubresource("scale") {
			return fmt.Errorf("cannot scale %s: the resource has no scale subresource", r.ri.Resource)
		}
		if len(r.names) > 0 {
			for _, n := range r.names {
				targets = append(targets, target{r.ri, n})
			}
			continue
		}
		if v.GetString("selector") == "" && !v.GetBool("all") {
			return errors.New("resource(s) were provided, but no name was specified")
		}
		raw, err := client.Dynamic(sess.c, r.ri, sess.ns).List(ctx, client.ListOptions{LabelSelector: v.GetString("selector")})
		if err != nil {
			return err
		}
		items, _, err := listItems(r.ri, raw)
		if err != nil {
			return err
		}
		for _, it := range items {
			m, err := readMeta(it)
			if err != nil {
				return err
			}
			targets = append(targets, target{r.ri, m.Metadata.Name})
		}
	}
	if len(targets) == 0 {
		return errors.New("no objects passed to scale")
	}
	for _, t := range targets {
		if err := scaleOne(ctx, sess, t.ri, t.name, int32(replicas), v.GetInt("current-replicas"), v.GetString("resource-version")); err != nil {
			sess.report(err)
			continue
		}
		fmt.Fprintf(sess.s.out, "%s/%s scaled\n", kindName(t.ri), t.name)
	}
	return nil
}

// scaleOne writes the scale subresource, checking the preconditions against what it read and
// retrying a few times when the write loses a race (409) and there is no precondition.
func scaleOne(ctx context.Context, sess *session, ri *api.ResourceInfo, name string, replicas int32, current int, rv string) error {
	path := collectionPath(ri, sess.ns) + "/" + name + "/scale"
	for attempt := 0; ; attempt++ {
		resp, err := sess.c.Do(ctx, client.Request{Path: path})
		if err != nil {
			return err
		}
		var sc api.Scale
		if err := json.Unmarshal(resp.Body, &sc); err != nil {
			return fmt.Errorf("decode scale of %s %s: %w", ri.Resource, name, err)
		}
		if current >= 0 && int(sc.Spec.Replicas) != current {
			return fmt.Errorf("Expected replicas to be %d, was %d", current, sc.Spec.Replicas)
		}
		if rv != "" && sc.ResourceVersion != rv {
			return fmt.Errorf("Expected resource version to be %s, was %s", rv, sc.ResourceVersion)
		}
		sc.Spec.Replicas = replicas
		if sc.Kind == "" {
			sc.Kind, sc.APIVersion = "Scale", "autoscaling/v1"
		}
		body, err := json.Marshal(&sc)
		if err != nil {
			return fmt.Errorf("encode scale of %s %s: %w", ri.Resource, name, err)
		}
		_, err = sess.c.Do(ctx, client.Request{Method: http.MethodPut, Path: path, Body: body})
		if err == nil {
			return nil
		}
		if !api.IsConflict(err) || current >= 0 || rv != "" || attempt >= 4 {
			return err
		}
	}
}
