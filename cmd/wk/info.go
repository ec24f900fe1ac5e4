package main

import (
	"context"
	"fmt"
	"runtime"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wasmkube/wasmkube/control/api"
)

func newVersionCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the client and server version information",
		Args:  cobra.NoArgs,
		RunE:  clientAction(s, runVersion),
	}
	cmd.Flags().Bool("client", false, "print the client version only; no server is needed")
	cmd.Flags().StringP("output", "o", "", "output format: yaml or json")
	return cmd
}

// clientVersionInfo is this binary's version in the shape of the /version document.
func clientVersionInfo() api.Version {
	v := clientVersion()
	major, minor := "0", "0"
	if parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3); len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	return api.Version{
		Major: major, Minor: minor, GitVersion: v, GoVersion: runtime.Version(),
		Compiler: runtime.Compiler, Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
}

func runVersion(ctx context.Context, sess *session, _ []string) error {
	v := sess.v
	output := v.GetString("output")
	switch output {
	case "", "yaml", "json":
	default:
		return fmt.Errorf("--output must be 'yaml' or 'json'")
	}
	cv := clientVersionInfo()
	var sv *api.Version
	var serverErr error
	if !v.GetBool("client") {
		if serverErr = sess.connect(); serverErr == nil {
			sv, serverErr = sess.c.ServerVersion(ctx)
		}
	}
	if output != "" {
		doc := map[string]any{"clientVersion": cv}
		if sv != nil {
			doc["serverVersion"] = sv
		}
		if err := printDoc(sess.s.out, output, doc); err != nil {
			return err
		}
		return serverErr
	}
	fmt.Fprintf(sess.s.out, "Client Version: %s\n", cv.GitVersion)
	if sv != nil {
		fmt.Fprintf(sess.s.out, "Server Version: %s\n", sv.GitVersion)
	}
	return serverErr
}

func newAPIResourcesCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "api-resources",
		Short: "Print the supported API resources on the server",
		Args:  cobra.NoArgs,
		RunE:  clientAction(s, runAPIResources),
	}
	f := cmd.Flags()
	f.StringP("output", "o", "", "output format: wide or name")
	f.String("namespaced", "", "true: only namespaced resources; false: only cluster-scoped ones")
	f.String("api-group", "", "only resources of this API group; --api-group= selects the core group")
	f.Bool("no-headers", false, "do not print headers")
	f.String("sort-by", "", "sort by name or kind")
	return cmd
}

func runAPIResources(ctx context.Context, sess *session, _ []string) error {
	v := sess.v
	output := v.GetString("output")
	switch output {
	case "", "wide", "name":
	default:
		return fmt.Errorf("--output %v is not available", output)
	}
	if err := sess.connect(); err != nil {
		return err
	}
	all, err := sess.res.all(ctx)
	if err != nil {
		return err
	}
	infos := make([]api.ResourceInfo, 0, len(all))
	nsFilter := v.GetString("namespaced")
	group := v.GetString("api-group")
	groupSet := sess.cmd.Flags().Changed("api-group") || group != ""
	for _, ri := range all {
		if nsFilter != "" && fmt.Sprint(ri.Namespaced) != nsFilter {
			continue
		}
		if groupSet && ri.Group != group {
			continue
		}
		infos = append(infos, ri)
	}
	sortBy := v.GetString("sort-by")
	sort.SliceStable(infos, func(i, j int) bool {
		a, b := infos[i], infos[j]
		switch sortBy {
		case "kind":
			if a.Kind != b.Kind {
				return a.Kind < b.Kind
			}
		case "name":
		default:
			if a.Group != b.Group {
				return a.Group < b.Group
			}
		}
		return a.Resource < b.Resource
	})
	if output == "name" {
		for _, ri := range infos {
			name := ri.Resource
			if ri.Group != "" {
				name += "." + ri.Group
			}
			fmt.Fprintln(sess.s.out, name)
		}
		return nil
	}
	header := []string{"NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"}
	if output == "wide" {
		header = append(header, "VERBS", "CATEGORIES")
	}
	var rows [][]string
	if !v.GetBool("no-headers") {
		rows = append(rows, header)
	}
	for _, ri := range infos {
		row := []string{ri.Resource, strings.Join(ri.ShortNames, ","), ri.GroupVersion(), fmt.Sprint(ri.Namespaced), ri.Kind}
		if output == "wide" {
			verbs := sess.res.verbs[ri.Group+"/"+ri.Resource]
			row = append(row, "["+strings.Join(verbs, " ")+"]", strings.Join(ri.Categories, ","))
		}
		rows = append(rows, row)
	}
	writeColumns(sess.s.out, rows)
	return nil
}

// writeColumns lays rows out as kubectl's tab writer does (minimum width 6, padding 3); the
// last column is not padded.
func writeColumns(w interface{ Write([]byte) (int, error) }, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			for len(widths) <= i {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len(c)+3, 6)
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len(c)))
			}
		}
		b.WriteByte('\n')
	}
	w.Write([]byte(b.String()))
}

func newClusterInfoCmd(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "cluster-info",
		Short: "Display the address of the control plane",
		Args:  cobra.NoArgs,
		RunE:  clientAction(s, runClusterInfo),
	}
}

func runClusterInfo(ctx context.Context, sess *session, _ []string) error {
	if err := sess.connect(); err != nil {
		return err
	}
	if _, err := sess.c.ServerVersion(ctx); err != nil {
		return err
	}
	fmt.Fprintf(sess.s.out, "wasmkube control plane is running at %s\n", sess.c.Server())
	fmt.Fprintf(sess.s.out, "\nTo further debug and diagnose cluster problems, use 'wk describe nodes' and 'wk get events -A'.\n")
	return nil
}
