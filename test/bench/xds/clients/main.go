// Simulated proxies for the xDS benchmark: N SotW ADS streams per control plane in one process,
// each ACKing every response at once. It connects them, waits until every one holds the initial
// config, then R times switches each control plane to its next variant (one canary weight step)
// and times how long each client takes to receive and ACK it. Prints a JSON report per plane.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"vireo.invalid/bench/xds/internal/dump"
)

type target struct {
	label, xds, control string
	pid                 int
}

type options struct {
	targets                            []target
	dumpPath, listeners                string
	clients, rounds, warmup, parallel  int
	gap, settle, setupTimeout, timeout time.Duration
}

func main() {
	var o options
	flag.Func("target", "a control plane: label,host:port (ADS),http://host:port (control endpoint),pid; repeat for several, whose rounds then interleave", func(v string) error {
		f := strings.Split(v, ",")
		if len(f) != 4 {
			return fmt.Errorf("want label,xds,control,pid; got %q", v)
		}
		pid, err := strconv.Atoi(f[3])
		if err != nil {
			return err
		}
		o.targets = append(o.targets, target{label: f[0], xds: f[1], control: f[2], pid: pid})
		return nil
	})
	flag.StringVar(&o.dumpPath, "dump", "", "resource dump the control planes serve")
	flag.StringVar(&o.listeners, "listeners", "vireo-outbound-http", "listeners each client subscribes to, comma-separated; * for every listener (LDS wildcard)")
	flag.IntVar(&o.clients, "clients", 1000, "ADS streams per control plane, one connection each")
	flag.IntVar(&o.rounds, "rounds", 20, "timed weight changes per control plane")
	flag.IntVar(&o.warmup, "warmup", 1, "untimed weight changes before the timed ones")
	flag.IntVar(&o.parallel, "parallel", 100, "clients connecting at once")
	flag.DurationVar(&o.gap, "gap", 200*time.Millisecond, "pause after each weight change")
	flag.DurationVar(&o.settle, "settle", time.Second, "pause after asking a server to collect garbage, before reading its RSS")
	flag.DurationVar(&o.setupTimeout, "setup-timeout", 5*time.Minute, "time allowed for every client to receive the initial config")
	flag.DurationVar(&o.timeout, "round-timeout", time.Minute, "time allowed for one weight change to reach every client")
	flag.Parse()
	log.SetPrefix("xds-clients: ")
	if len(o.targets) == 0 || o.dumpPath == "" {
		log.Fatal("-target and -dump are required")
	}
	reports := bench(o)
	out, _ := json.MarshalIndent(reports, "", "  ")
	fmt.Println(string(out))
	for _, r := range reports {
		if len(r.Errors) > 0 {
			os.Exit(1)
		}
	}
}

type latency struct {
	P50 float64 `json:"p50Ms"`
	P99 float64 `json:"p99Ms"`
	Max float64 `json:"maxMs"`
}

type roundReport struct {
	Variant          int     `json:"variant"`
	Changed          int     `json:"changedResources"`
	LastMs           float64 `json:"lastAckMs"`
	P50Ms            float64 `json:"p50Ms"`
	Responses        float64 `json:"responsesPerClient"`
	Bytes            float64 `json:"bytesPerClient"`
	ServerCPUSeconds float64 `json:"serverCpuSeconds"`
	ClientCPUSeconds float64 `json:"clientsCpuSeconds"`
	SwitchMs         float64 `json:"switchMs"`
}

type report struct {
	Clients      int            `json:"clients"`
	Rounds       int            `json:"rounds"`
	Warmup       int            `json:"warmup"`
	Subscription map[string]any `json:"subscription"`
	Setup        struct {
		Seconds          float64 `json:"seconds"`
		PerClient        latency `json:"perClient"`
		ServerCPUSeconds float64 `json:"serverCpuSeconds"`
		BytesPerClient   float64 `json:"bytesPerClient"`
	} `json:"setup"`
	Memory struct {
		RSSBeforeKB   int64   `json:"rssBeforeKB"`
		RSSAfterRawKB int64   `json:"rssAfterRawKB"`
		RSSAfterKB    int64   `json:"rssAfterKB"`
		PerClientKB   float64 `json:"perClientKB"`
		PeakKB        int64   `json:"peakKB"`
		// The runtime's own accounting (GET /memory), before the clients and after them and GC.
		RuntimeBefore map[string]float64 `json:"runtimeBefore,omitempty"`
		RuntimeAfter  map[string]float64 `json:"runtimeAfter,omitempty"`
	} `json:"memory"`
	LastAck         latency       `json:"lastAck"`
	PerClient       latency       `json:"perClient"`
	RoundDetails    []roundReport `json:"roundDetails"`
	UnexpectedTotal int64         `json:"unexpectedResources"`
	DecodedTotal    int64         `json:"resourcesRecognisedByDecoding"`
	Errors          []string      `json:"errors"`
}

// fleet is one control plane and the clients connected to it.
type fleet struct {
	t         target
	proc      proc
	rep       *report
	clients   []*client
	conns     []*grpc.ClientConn
	cur       int
	lastAcks  []float64
	perClient []float64
}

func (f *fleet) failed() bool { return len(f.rep.Errors) > 0 }

func (f *fleet) fail(err error) { f.rep.Errors = append(f.rep.Errors, err.Error()) }

var self = procOf(os.Getpid())

func bench(o options) map[string]*report {
	fleets := make([]*fleet, len(o.targets))
	reports := map[string]*report{}
	for i, t := range o.targets {
		fleets[i] = &fleet{t: t, proc: procOf(t.pid), rep: &report{Clients: o.clients, Rounds: o.rounds, Warmup: o.warmup, Errors: []string{}}}
		reports[t.label] = fleets[i].rep
	}
	failAll := func(err error) map[string]*report {
		for _, f := range fleets {
			f.fail(err)
		}
		return reports
	}
	d, err := dump.Load(o.dumpPath)
	if err != nil {
		return failAll(err)
	}
	sub, err := subscribe(&d.Variants[0], o.listeners)
	if err != nil {
		return failAll(err)
	}
	shape := map[string]any{}
	for t, ns := range sub.names {
		short := t[strings.LastIndex(t, ".")+1:]
		if ns == nil {
			shape[short] = "*"
		} else {
			shape[short] = len(ns)
		}
	}
	idx := make([]*variantIndex, len(d.Variants))
	for i := range d.Variants {
		if idx[i], err = indexVariant(&d.Variants[i], sub); err != nil {
			return failAll(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer func() {
		for _, f := range fleets {
			for _, c := range f.conns {
				if c != nil {
					_ = c.Close()
				}
			}
		}
	}()

	// Every baseline before any client connects, then one fleet at a time, so that neither
	// control plane's setup competes with the other's.
	// Twice: a runtime may return memory to the system only after a later collection.
	for range 2 {
		for _, f := range fleets {
			if err := post(f.t.control + "/gc"); err != nil && !f.failed() {
				f.fail(err)
			}
		}
		time.Sleep(o.settle)
	}
	for _, f := range fleets {
		f.rep.Subscription = shape
		f.rep.Memory.RSSBeforeKB = f.proc.rssKB()
		f.rep.Memory.RuntimeBefore = getMemory(f.t.control)
	}
	for _, f := range fleets {
		if !f.failed() {
			if err := f.setup(ctx, o, sub, idx[0]); err != nil {
				f.fail(err)
			}
		}
	}
	for _, f := range fleets {
		if !f.failed() {
			f.rep.Memory.RSSAfterRawKB = f.proc.rssKB()
			if err := post(f.t.control + "/gc"); err != nil {
				f.fail(err)
			}
		}
	}
	time.Sleep(o.settle)
	for _, f := range fleets {
		f.rep.Memory.RSSAfterKB = f.proc.rssKB()
		f.rep.Memory.RuntimeAfter = getMemory(f.t.control)
		f.rep.Memory.PerClientKB = float64(f.rep.Memory.RSSAfterKB-f.rep.Memory.RSSBeforeKB) / float64(o.clients)
	}

	// Rounds alternate between control planes in ABBA order, so that drift in the machine's load
	// falls on all of them alike.
	for r := range o.warmup + o.rounds {
		for i := range fleets {
			f := fleets[i]
			if r%2 == 1 {
				f = fleets[len(fleets)-1-i]
			}
			if f.failed() {
				continue
			}
			if err := f.round(o, idx, r); err != nil {
				f.fail(err)
			}
		}
	}
	for _, f := range fleets {
		f.rep.LastAck = summarize(f.lastAcks)
		f.rep.PerClient = summarize(f.perClient)
		f.rep.Memory.PeakKB = f.proc.peakKB()
		for _, c := range f.clients {
			f.rep.UnexpectedTotal += c.unexpected.Load()
			f.rep.DecodedTotal += c.byDecode.Load()
		}
	}
	return reports
}

// setup connects the fleet's clients, at most o.parallel at a time, and waits until each holds
// every resource it subscribed to.
func (f *fleet) setup(ctx context.Context, o options, sub *subscription, initialIdx *variantIndex) error {
	cpu0 := f.proc.cpuSeconds()
	f.clients = make([]*client, o.clients)
	f.conns = make([]*grpc.ClientConn, o.clients)
	done := make(chan completion, o.clients)
	initial := &round{id: 0, idx: initialIdx, pending: allKeys(initialIdx), done: done}
	start := time.Now()
	slots := make(chan struct{}, o.parallel)
	setup := make([]float64, 0, o.clients)
	var errs []string
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		deadline := time.After(o.setupTimeout)
		for range o.clients {
			select {
			case c := <-done:
				<-slots
				if c.err != nil {
					errs = append(errs, c.err.Error())
					continue
				}
				setup = append(setup, ms(c.at.Sub(f.clients[c.client].started)))
			case <-deadline:
				errs = append(errs, fmt.Sprintf("only %d of %d clients received the initial config within %s", len(setup), o.clients, o.setupTimeout))
				return
			}
		}
	}()
	for i := range f.clients {
		slots <- struct{}{}
		conn, err := grpc.NewClient(f.t.xds,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
		if err != nil {
			return err
		}
		f.conns[i] = conn
		f.clients[i] = &client{id: i, sub: sub, roundID: -1}
		f.clients[i].round.Store(initial)
		go f.clients[i].run(ctx, conn)
	}
	<-collected
	f.rep.Setup.Seconds = time.Since(start).Seconds()
	f.rep.Setup.PerClient = summarize(setup)
	f.rep.Setup.ServerCPUSeconds = f.proc.cpuSeconds() - cpu0
	f.rep.Setup.BytesPerClient = float64(sumBytes(f.clients)) / float64(o.clients)
	if len(errs) > 0 {
		return fmt.Errorf("setup: %d errors, first: %s", len(errs), errs[0])
	}
	return nil
}

// round switches the control plane to the next variant and waits until every client has it.
func (f *fleet) round(o options, idx []*variantIndex, r int) error {
	next := (f.cur + 1) % len(idx)
	pending, err := changed(idx[f.cur], idx[next])
	if err != nil {
		return err
	}
	if len(pending) == 0 {
		return fmt.Errorf("variants %d and %d differ in no subscribed resource", f.cur, next)
	}
	done := make(chan completion, o.clients)
	rs := &round{id: r + 1, idx: idx[next], pending: pending, done: done}
	for _, c := range f.clients {
		c.round.Store(rs)
	}
	resp0, bytes0, cpu0, self0 := sumResponses(f.clients), sumBytes(f.clients), f.proc.cpuSeconds(), self.cpuSeconds()
	t0 := time.Now()
	if err := post(fmt.Sprintf("%s/variant/%d", f.t.control, next)); err != nil {
		return err
	}
	switched := time.Since(t0)
	lat := make([]float64, 0, o.clients)
	deadline := time.After(o.timeout)
wait:
	for range o.clients {
		select {
		case c := <-done:
			if c.err != nil {
				return c.err
			}
			lat = append(lat, ms(c.at.Sub(t0)))
		case <-deadline:
			break wait
		}
	}
	if len(lat) < o.clients {
		return fmt.Errorf("round %d: %d of %d clients ACKed variant %d within %s", r, len(lat), o.clients, next, o.timeout)
	}
	time.Sleep(o.gap)
	f.cur = next
	if r < o.warmup {
		return nil
	}
	sort.Float64s(lat)
	f.rep.RoundDetails = append(f.rep.RoundDetails, roundReport{
		Variant:          next,
		Changed:          len(pending),
		LastMs:           lat[len(lat)-1],
		P50Ms:            percentile(lat, 50),
		Responses:        float64(sumResponses(f.clients)-resp0) / float64(o.clients),
		Bytes:            float64(sumBytes(f.clients)-bytes0) / float64(o.clients),
		ServerCPUSeconds: f.proc.cpuSeconds() - cpu0,
		ClientCPUSeconds: self.cpuSeconds() - self0,
		SwitchMs:         ms(switched),
	})
	f.lastAcks = append(f.lastAcks, lat[len(lat)-1])
	f.perClient = append(f.perClient, lat...)
	return nil
}

// subscribe picks what each client asks for: the given listeners, the route configurations
// they use, every cluster (wildcard) and the endpoints of every EDS cluster.
func subscribe(v *dump.Variant, listeners string) (*subscription, error) {
	set := map[string]bool{}
	var lds []string
	for _, l := range strings.Split(listeners, ",") {
		set[l] = true
		lds = append(lds, l)
	}
	if set["*"] {
		lds = nil
	}
	routes, err := v.RouteNames(set)
	if err != nil {
		return nil, err
	}
	eds, err := v.EndpointNames()
	if err != nil {
		return nil, err
	}
	if len(routes) == 0 {
		return nil, fmt.Errorf("listeners %q use no route configuration of the dump", listeners)
	}
	return newSubscription(map[string][]string{
		resource.ListenerType: lds, resource.RouteType: routes,
		resource.ClusterType: nil, resource.EndpointType: eds,
	}), nil
}

func allKeys(idx *variantIndex) map[string]bool {
	out := make(map[string]bool, len(idx.byKey))
	for k := range idx.byKey {
		out[k] = true
	}
	return out
}

func post(url string) error {
	resp, err := http.Post(url, "", nil)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s", url, resp.Status)
	}
	return nil
}

// getMemory reads the control endpoint's GET /memory; nil if it has none.
func getMemory(control string) map[string]float64 {
	resp, err := http.Get(control + "/memory")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var m map[string]float64
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&m) != nil {
		return nil
	}
	return m
}

func sumResponses(cs []*client) (n int64) {
	for _, c := range cs {
		n += c.responses.Load()
	}
	return n
}

func sumBytes(cs []*client) (n int64) {
	for _, c := range cs {
		n += c.bytes.Load()
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// percentile by nearest rank of sorted values.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func summarize(v []float64) latency {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return latency{}
	}
	return latency{P50: percentile(s, 50), P99: percentile(s, 99), Max: s[len(s)-1]}
}
