package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
)

// subscription is what every simulated proxy asks for: per type, explicit names or (nil) the
// wildcard, sent as an empty list as Envoy does.
type subscription struct {
	names map[string][]string
	sets  map[string]map[string]bool
}

// Initial requests go out in push order: clusters, endpoints, listeners, routes.
var requestOrder = []string{resource.ClusterType, resource.EndpointType, resource.ListenerType, resource.RouteType}

func newSubscription(names map[string][]string) *subscription {
	s := &subscription{names: names, sets: map[string]map[string]bool{}}
	for t, ns := range names {
		if ns == nil {
			continue
		}
		s.sets[t] = map[string]bool{}
		for _, n := range ns {
			s.sets[t][n] = true
		}
	}
	return s
}

func (s *subscription) wants(typeURL, name string) bool {
	ns, ok := s.names[typeURL]
	if !ok {
		return false
	}
	return ns == nil || s.sets[typeURL][name]
}

// round is one awaited change: every client is done once it has received every pending
// resource of the target variant and ACKed the response that completed the set.
type round struct {
	id      int
	idx     *variantIndex
	pending map[string]bool
	done    chan<- completion
}

type completion struct {
	client int
	at     time.Time
	err    error
}

type client struct {
	id      int
	sub     *subscription
	round   atomic.Pointer[round]
	started time.Time

	responses  atomic.Int64
	bytes      atomic.Int64
	unexpected atomic.Int64 // resources that were none of the awaited variant's
	byDecode   atomic.Int64 // resources recognised only by decoding (re-encoded by the server)

	// Owned by the receiving goroutine.
	roundID   int
	have      map[string]bool
	completed bool
}

func (c *client) node() *core.Node {
	return &core.Node{
		Id:            fmt.Sprintf("sidecar~10.99.%d.%d~bench-%d.bench~bench.svc.cluster.local", c.id>>8, c.id&255, c.id),
		Cluster:       "bench",
		UserAgentName: "vireo-bench",
	}
}

// run holds one ADS stream: subscribe, then ACK every response at once.
func (c *client) run(ctx context.Context, conn *grpc.ClientConn) {
	c.started = time.Now()
	stream, err := discovery.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		c.fail(err)
		return
	}
	for i, t := range requestOrder {
		req := &discovery.DiscoveryRequest{TypeUrl: t, ResourceNames: c.sub.names[t]}
		if i == 0 {
			req.Node = c.node()
		}
		if err := stream.Send(req); err != nil {
			c.fail(err)
			return
		}
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			if ctx.Err() == nil {
				c.fail(err)
			}
			return
		}
		complete, err := c.observe(resp)
		if err != nil {
			c.fail(err)
			return
		}
		ack := &discovery.DiscoveryRequest{
			TypeUrl:       resp.GetTypeUrl(),
			VersionInfo:   resp.GetVersionInfo(),
			ResponseNonce: resp.GetNonce(),
			ResourceNames: c.sub.names[resp.GetTypeUrl()],
		}
		if err := stream.Send(ack); err != nil {
			c.fail(err)
			return
		}
		if complete != nil {
			complete.done <- completion{client: c.id, at: time.Now()}
		}
	}
}

// observe checks a response against the awaited round; it returns the round if this response
// completes it for this client.
func (c *client) observe(resp *discovery.DiscoveryResponse) (*round, error) {
	c.responses.Add(1)
	rs := c.round.Load()
	if rs.id != c.roundID {
		c.roundID, c.have, c.completed = rs.id, map[string]bool{}, false
	}
	for _, a := range resp.GetResources() {
		c.bytes.Add(int64(len(a.GetValue())))
		if c.completed {
			continue
		}
		e, byBytes, err := rs.idx.match(resp.GetTypeUrl(), a)
		if err != nil {
			return nil, err
		}
		if e == nil {
			c.unexpected.Add(1)
			continue
		}
		if !byBytes {
			c.byDecode.Add(1)
		}
		if rs.pending[e.key] {
			c.have[e.key] = true
		}
	}
	if c.completed || len(c.have) < len(rs.pending) {
		return nil, nil
	}
	c.completed = true
	return rs, nil
}

func (c *client) fail(err error) {
	if rs := c.round.Load(); rs != nil && (rs.id != c.roundID || !c.completed) {
		c.completed = true
		rs.done <- completion{client: c.id, at: time.Now(), err: fmt.Errorf("client %d: %w", c.id, err)}
	}
}
