// The benchmark's baseline: go-control-plane's SnapshotCache behind its SotW/delta ADS server,
// serving the resource dump. POST /variant/<i> on the control port swaps the snapshot to variant
// i; POST /gc collects garbage and returns freed memory to the OS before an RSS reading; GET
// /memory gives the runtime's own accounting.
// Prints one JSON line {"xds":port,"control":port,"pid":pid} on stdout once it serves.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	core "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discovery "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"vireo.invalid/bench/xds/internal/dump"
)

// Every client shares one snapshot, whatever its node.
type oneGroup struct{}

func (oneGroup) ID(*core.Node) string { return "bench" }

// variantSet holds each variant's typed resources, decoded once at start.
type variantSet struct {
	items  []map[string][]types.Resource // variant -> type -> resources
	hashes [][][32]byte                  // variant -> type index -> content hash
}

func load(d *dump.Dump) (*variantSet, error) {
	vs := &variantSet{}
	for _, v := range d.Variants {
		byType := map[string][]types.Resource{}
		for _, r := range v.Resources {
			m, err := dump.Decode(r)
			if err != nil {
				return nil, err
			}
			byType[r.TypeURL] = append(byType[r.TypeURL], m)
		}
		hashes := make([][32]byte, len(dump.Types))
		for i, t := range dump.Types {
			hashes[i] = v.TypeHash(t)
		}
		vs.items = append(vs.items, byType)
		vs.hashes = append(vs.hashes, hashes)
	}
	return vs, nil
}

// switcher builds snapshots whose per-type version moves only when that type's content changes,
// so a weight change re-sends routes and nothing else: go-control-plane used as well as it can be.
type switcher struct {
	mu       sync.Mutex
	cache    cache.SnapshotCache
	vs       *variantSet
	current  int
	versions []int
}

func (s *switcher) set(i int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i < 0 || i >= len(s.vs.items) {
		return fmt.Errorf("no variant %d", i)
	}
	if s.versions == nil {
		s.versions = make([]int, len(dump.Types))
		for t := range s.versions {
			s.versions[t] = 1
		}
	} else {
		for t := range dump.Types {
			if s.vs.hashes[i][t] != s.vs.hashes[s.current][t] {
				s.versions[t]++
			}
		}
	}
	snap := &cache.Snapshot{}
	for t, typeURL := range dump.Types {
		snap.Resources[cache.GetResponseType(typeURL)] = cache.NewResources(strconv.Itoa(s.versions[t]), s.vs.items[i][typeURL])
	}
	s.current = i
	return s.cache.SetSnapshot(context.Background(), "bench", snap)
}

func main() {
	dumpPath := flag.String("dump", "", "resource dump (make-config.ts)")
	xdsAddr := flag.String("xds", "127.0.0.1:0", "ADS listen address")
	controlAddr := flag.String("control", "127.0.0.1:0", "control HTTP listen address")
	ads := flag.Bool("ads", false, "SnapshotCache ADS mode (answers RDS/EDS only when every resource of the type is requested)")
	flag.Parse()
	log.SetPrefix("gcp-peer: ")
	d, err := dump.Load(*dumpPath)
	if err != nil {
		log.Fatal(err)
	}
	vs, err := load(d)
	if err != nil {
		log.Fatal(err)
	}
	d = nil
	ctx := context.Background()
	sw := &switcher{cache: cache.NewSnapshotCache(*ads, oneGroup{}, nil), vs: vs}
	if err := sw.set(0); err != nil {
		log.Fatal(err)
	}

	// Options as in go-control-plane's own example server.
	gs := grpc.NewServer(
		grpc.MaxConcurrentStreams(1000000),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 5 * time.Second}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 30 * time.Second, PermitWithoutStream: true}),
	)
	discovery.RegisterAggregatedDiscoveryServiceServer(gs, server.NewServer(ctx, sw.cache, nil))
	xl, err := net.Listen("tcp", *xdsAddr)
	if err != nil {
		log.Fatal(err)
	}
	go func() { log.Fatal(gs.Serve(xl)) }()

	mux := http.NewServeMux()
	mux.HandleFunc("POST /variant/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err == nil {
			err = sw.set(i)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /gc", func(w http.ResponseWriter, _ *http.Request) {
		runtime.GC()
		debug.FreeOSMemory()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /memory", func(w http.ResponseWriter, _ *http.Request) {
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		w.Header().Set("content-type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]uint64{
			"heapInuse": m.HeapInuse, "heapAlloc": m.HeapAlloc, "stackInuse": m.StackInuse,
			"sys": m.Sys, "goroutines": uint64(runtime.NumGoroutine()),
		})
	})
	cl, err := net.Listen("tcp", *controlAddr)
	if err != nil {
		log.Fatal(err)
	}
	go func() { log.Fatal(http.Serve(cl, mux)) }()

	ready, _ := json.Marshal(map[string]int{
		"xds":     xl.Addr().(*net.TCPAddr).Port,
		"control": cl.Addr().(*net.TCPAddr).Port,
		"pid":     os.Getpid(),
	})
	fmt.Println(string(ready))
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	gs.Stop()
}
