// Package dump reads the benchmark's resource dump (written by make-config.ts): every variant of
// the config as serialized Envoy v3 resources, identical for both control planes.
package dump

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	cluster "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpoint "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	route "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tls "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/protobuf/proto"
)

// Types in the order a control plane pushes them (make before break).
var Types = []string{resource.SecretType, resource.ClusterType, resource.EndpointType, resource.ListenerType, resource.RouteType}

type Resource struct {
	TypeURL string `json:"typeUrl"`
	Name    string `json:"name"`
	Value   []byte `json:"value"` // base64 in the JSON
}

type Variant struct {
	Version   string     `json:"version"`
	Resources []Resource `json:"resources"`
}

type Dump struct {
	Services int       `json:"services"`
	Variants []Variant `json:"variants"`
}

func Load(path string) (*Dump, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d Dump
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(d.Variants) < 2 {
		return nil, fmt.Errorf("%s: %d variants, want at least 2", path, len(d.Variants))
	}
	return &d, nil
}

// New returns an empty message of a resource type.
func New(typeURL string) (proto.Message, error) {
	switch typeURL {
	case resource.ListenerType:
		return &listener.Listener{}, nil
	case resource.RouteType:
		return &route.RouteConfiguration{}, nil
	case resource.ClusterType:
		return &cluster.Cluster{}, nil
	case resource.EndpointType:
		return &endpoint.ClusterLoadAssignment{}, nil
	case resource.SecretType:
		return &tls.Secret{}, nil
	}
	return nil, fmt.Errorf("unknown resource type %s", typeURL)
}

// Decode unmarshals a resource into its typed message.
func Decode(r Resource) (proto.Message, error) {
	m, err := New(r.TypeURL)
	if err != nil {
		return nil, err
	}
	if err := proto.Unmarshal(r.Value, m); err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.TypeURL, r.Name, err)
	}
	return m, nil
}

// ByType groups a variant's resources by type URL.
func (v *Variant) ByType() map[string][]Resource {
	out := map[string][]Resource{}
	for _, r := range v.Resources {
		out[r.TypeURL] = append(out[r.TypeURL], r)
	}
	return out
}

// TypeHash identifies the content of one type in a variant.
func (v *Variant) TypeHash(typeURL string) [32]byte {
	rs := v.ByType()[typeURL]
	sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
	h := sha256.New()
	for _, r := range rs {
		fmt.Fprintf(h, "%s\x00%d\x00", r.Name, len(r.Value))
		h.Write(r.Value)
	}
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// RouteNames lists the route configurations the named listeners use ("*": every listener).
func (v *Variant) RouteNames(listeners map[string]bool) ([]string, error) {
	set := map[string]bool{}
	for _, r := range v.ByType()[resource.ListenerType] {
		if !listeners["*"] && !listeners[r.Name] {
			continue
		}
		m, err := Decode(r)
		if err != nil {
			return nil, err
		}
		l := m.(*listener.Listener)
		var hcms [][]byte
		if a := l.GetApiListener().GetApiListener(); a != nil {
			hcms = append(hcms, a.GetValue())
		}
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				if f.GetTypedConfig() != nil {
					hcms = append(hcms, f.GetTypedConfig().GetValue())
				}
			}
		}
		for _, b := range hcms {
			var h hcm.HttpConnectionManager
			if err := proto.Unmarshal(b, &h); err != nil {
				return nil, fmt.Errorf("listener %s: %w", r.Name, err)
			}
			if n := h.GetRds().GetRouteConfigName(); n != "" {
				set[n] = true
			}
		}
	}
	return sortedKeys(set), nil
}

// EndpointNames lists the EDS service names of every cluster.
func (v *Variant) EndpointNames() ([]string, error) {
	set := map[string]bool{}
	for _, r := range v.ByType()[resource.ClusterType] {
		m, err := Decode(r)
		if err != nil {
			return nil, err
		}
		c := m.(*cluster.Cluster)
		if c.GetType() != cluster.Cluster_EDS {
			continue
		}
		n := c.GetEdsClusterConfig().GetServiceName()
		if n == "" {
			n = c.GetName()
		}
		set[n] = true
	}
	return sortedKeys(set), nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
