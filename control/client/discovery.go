package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/wasmkube/wasmkube/control/api"
)

// ServerVersion reads /version.
func (c *Client) ServerVersion(ctx context.Context) (*api.Version, error) {
	v := &api.Version{}
	if err := c.getJSON(ctx, "/version", v); err != nil {
		return nil, fmt.Errorf("server version: %w", err)
	}
	return v, nil
}

// CoreVersions reads /api, the versions of the core group.
func (c *Client) CoreVersions(ctx context.Context) (*api.APIVersions, error) {
	v := &api.APIVersions{}
	if err := c.getJSON(ctx, "/api", v); err != nil {
		return nil, fmt.Errorf("discover core versions: %w", err)
	}
	return v, nil
}

// Groups reads /apis, the named API groups and their versions.
func (c *Client) Groups(ctx context.Context) (*api.APIGroupList, error) {
	g := &api.APIGroupList{}
	if err := c.getJSON(ctx, "/apis", g); err != nil {
		return nil, fmt.Errorf("discover groups: %w", err)
	}
	return g, nil
}

// ServerResources reads the resources of one group-version: "v1" reads /api/v1, "apps/v1"
// reads /apis/apps/v1.
func (c *Client) ServerResources(ctx context.Context, groupVersion string) (*api.APIResourceList, error) {
	p := "/api/" + groupVersion
	if strings.Contains(groupVersion, "/") {
		p = "/apis/" + groupVersion
	}
	l := &api.APIResourceList{}
	if err := c.getJSON(ctx, p, l); err != nil {
		return nil, fmt.Errorf("discover resources of %s: %w", groupVersion, err)
	}
	return l, nil
}

func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	resp, err := c.Do(ctx, Request{Path: path})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
