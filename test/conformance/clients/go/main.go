// The grpc-go xDS conformance client. It follows the command-line contract shared by the three
// conformance clients (test/conformance/README.md):
//
//	GRPC_XDS_BOOTSTRAP=<file> grpc-go-client --target xds:///<name> --rpcs N
//	    [--metadata key=value]... [--qps Q | --sequential] [--rpc-timeout-ms T]
//	    [--seconds S | --until-stdin-closes]
//
// and calls /vireo.test.Echo/Hello (test/conformance/echo.proto). HelloRequest and HelloReply are
// each one string in field 1, which on the wire is google.protobuf.StringValue, so no generated
// code is needed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	_ "google.golang.org/grpc/xds" // registers the xds:/// resolver and the xDS LB policies
)

const method = "/vireo.test.Echo/Hello"

type pairs []string

func (p *pairs) String() string     { return strings.Join(*p, ",") }
func (p *pairs) Set(v string) error { *p = append(*p, v); return nil }

// counts is one window of results: a second in streaming mode, or the whole run.
type counts struct {
	ByBackend map[string]int `json:"byBackend"`
	ByStatus  map[string]int `json:"byStatus"`
	Failures  int            `json:"failures"`
}

func newCounts() counts {
	return counts{ByBackend: map[string]int{}, ByStatus: map[string]int{}}
}

func (c *counts) add(backend string, code codes.Code) {
	c.ByStatus[strconv.Itoa(int(code))]++
	if code == codes.OK {
		c.ByBackend[backend]++
	} else {
		c.Failures++
	}
}

type recorder struct {
	mu       sync.Mutex
	total    counts
	window   counts
	seen     map[string]bool
	inflight sync.WaitGroup
}

func (r *recorder) record(backend string, err error) {
	code := status.Code(err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total.add(backend, code)
	r.window.add(backend, code)
	if err != nil {
		msg := fmt.Sprintf("code=%d %s", code, status.Convert(err).Message())
		if !r.seen[msg] && len(r.seen) < 20 {
			r.seen[msg] = true
			fmt.Fprintf(os.Stderr, "grpc-go client: rpc failed: %s\n", msg)
		}
	}
}

func (r *recorder) takeWindow() counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.window
	r.window = newCounts()
	return w
}

func printJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(b))
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "grpc-go client: "+format+"\n", args...)
	os.Exit(2)
}

func main() {
	var md pairs
	target := flag.String("target", "", "xds:///<listener name>")
	rpcs := flag.Int("rpcs", -1, "number of RPCs (required unless streaming)")
	qps := flag.Float64("qps", 0, "RPCs per second, open loop (default: sequential)")
	flag.Bool("sequential", false, "one RPC at a time (the default)")
	timeoutMs := flag.Int("rpc-timeout-ms", 5000, "deadline of each RPC")
	seconds := flag.Float64("seconds", 0, "streaming: run this long, a JSON line per second")
	untilStdin := flag.Bool("until-stdin-closes", false, "streaming: run until standard input closes")
	flag.Var(&md, "metadata", "key=value request metadata (repeatable)")
	flag.Parse()

	streaming := *seconds > 0 || *untilStdin
	if *target == "" || (*rpcs < 0 && !streaming) {
		fail("usage: --target xds:///name --rpcs N [--metadata k=v] [--qps Q] [--rpc-timeout-ms T] [--seconds S | --until-stdin-closes]")
	}
	var mdPairs []string
	for _, kv := range md {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			fail("--metadata wants key=value, got %q", kv)
		}
		mdPairs = append(mdPairs, strings.ToLower(k), v)
	}

	conn, err := grpc.NewClient(*target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fail("dial %s: %v", *target, err)
	}
	defer conn.Close()

	rec := &recorder{total: newCounts(), window: newCounts(), seen: map[string]bool{}}
	call := func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*timeoutMs)*time.Millisecond)
		defer cancel()
		if len(mdPairs) > 0 {
			ctx = metadata.AppendToOutgoingContext(ctx, mdPairs...)
		}
		reply := &wrapperspb.StringValue{}
		err := conn.Invoke(ctx, method, wrapperspb.String("grpc-go"), reply)
		rec.record(reply.GetValue(), err)
	}

	// stop closes when the run must end early: --seconds elapsed, stdin closed, or SIGINT/SIGTERM.
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sigs; halt() }()
	if *untilStdin {
		go func() { _, _ = io.Copy(io.Discard, os.Stdin); halt() }()
	}
	start := time.Now()
	if *seconds > 0 {
		time.AfterFunc(time.Duration(*seconds*float64(time.Second)), halt)
	}
	tickerDone := make(chan struct{})
	if streaming {
		go func() {
			defer close(tickerDone)
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for n := 1; ; n++ {
				select {
				case <-t.C:
					w := rec.takeWindow()
					printJSON(struct {
						Second int `json:"second"`
						counts
					}{n, w})
				case <-stop:
					return
				}
			}
		}()
	} else {
		close(tickerDone)
	}

	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	for i := 0; *rpcs < 0 || i < *rpcs; i++ {
		if stopped() {
			break
		}
		if *qps > 0 {
			due := start.Add(time.Duration(float64(i) / *qps * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-stop:
				}
				if stopped() {
					break
				}
			}
			rec.inflight.Add(1)
			go func() { defer rec.inflight.Done(); call() }()
		} else {
			call()
		}
	}
	rec.inflight.Wait()
	halt()
	<-tickerDone

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if streaming {
		printJSON(struct {
			Total   bool    `json:"total"`
			Seconds float64 `json:"seconds"`
			counts
		}{true, float64(time.Since(start).Milliseconds()) / 1000, rec.total})
	} else {
		printJSON(rec.total)
	}
}
