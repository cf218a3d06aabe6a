// etcd-bench: closed- and open-loop puts and ranges against etcd v3, the etcd
// half of bench/vs-etcd. It stands in for etcd's own tools/benchmark, which
// Debian's golang-etcd-server-dev does not ship (only the server and client
// packages are there). Same knobs as `benchmark put|range` (--conns, --clients,
// --key-size, --val-size, --key-space-size, --sequential-keys, --rate,
// --consistency), the same key layout (varint key ids in key-size bytes) and the
// same percentile rule (etcd's pkg/report), plus: a timed window after a warmup,
// a progress line each second, latency from the intended send time in --rate
// mode (no coordinated omission), the client's own CPU, and one JSON line.
//
// Built in GOPATH mode against Debian's sources (see meson.build).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/pkg/report"
)

type options struct {
	op          string // "put" or "range"
	endpoints   []string
	conns       int
	clients     int
	duration    time.Duration
	warmup      time.Duration
	keySize     int
	valSize     int
	keySpace    int
	seqKeys     bool
	rate        float64
	consistency string // "l" linearizable, "s" serializable
	preload     bool
	preloadOnly bool
	jsonFile    string
	label       string
}

func usage() {
	fmt.Fprintf(os.Stderr, `usage: etcd-bench put|range [options]
  put: durable puts (etcd acknowledges after a quorum fsynced its WAL);
  range: single-key gets of keys written by --preload.
  --endpoints LIST     comma-separated host:port (default 127.0.0.1:2379);
                       every connection gets all of them (clientv3 balances)
  --conns N            gRPC connections (default 1)
  --clients N          concurrent clients = requests in flight (default 1)
  --duration S         measured seconds (default 10)
  --warmup S           seconds before the window, not counted (default 1)
  --key-size N         (default 16)   --val-size N (default 64)
  --key-space-size N   keys written or read, uniform (default 100000)
  --sequential-keys    keys in order instead of uniform
  --rate R             open loop at R requests/s, latency from the intended
                       send time (default 0: closed loop); no backlog is
                       kept from the warmup
  --consistency l|s    range: linearizable or serializable (default l)
  --preload=false      range: do not write the key space first
  --preload-only       range: write the key space, then exit (so that a
                       caller can measure the reads alone)
  --json FILE          also append the JSON line to FILE
  --label TEXT         free text copied into the JSON line
Exit: 0 ok, 1 no request succeeded or setup failed, 2 usage error.
`)
}

func parse(args []string) (*options, error) {
	if len(args) < 1 || (args[0] != "put" && args[0] != "range") {
		return nil, fmt.Errorf("first argument must be put or range")
	}
	o := &options{op: args[0]}
	fs := flag.NewFlagSet("etcd-bench", flag.ContinueOnError)
	fs.Usage = usage
	eps := fs.String("endpoints", "127.0.0.1:2379", "")
	fs.IntVar(&o.conns, "conns", 1, "")
	fs.IntVar(&o.clients, "clients", 1, "")
	dur := fs.Float64("duration", 10, "")
	warm := fs.Float64("warmup", 1, "")
	fs.IntVar(&o.keySize, "key-size", 16, "")
	fs.IntVar(&o.valSize, "val-size", 64, "")
	fs.IntVar(&o.keySpace, "key-space-size", 100000, "")
	fs.BoolVar(&o.seqKeys, "sequential-keys", false, "")
	fs.Float64Var(&o.rate, "rate", 0, "")
	fs.StringVar(&o.consistency, "consistency", "l", "")
	fs.BoolVar(&o.preload, "preload", true, "")
	fs.BoolVar(&o.preloadOnly, "preload-only", false, "")
	fs.StringVar(&o.jsonFile, "json", "", "")
	fs.StringVar(&o.label, "label", "", "")
	if err := fs.Parse(args[1:]); err != nil {
		return nil, err
	}
	if fs.NArg() != 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.endpoints = strings.Split(*eps, ",")
	o.duration = time.Duration(*dur * float64(time.Second))
	o.warmup = time.Duration(*warm * float64(time.Second))
	switch {
	case o.conns < 1 || o.clients < 1 || o.conns > o.clients:
		return nil, fmt.Errorf("need 1 <= --conns <= --clients")
	case o.duration <= 0 || o.warmup < 0:
		return nil, fmt.Errorf("need --duration > 0 and --warmup >= 0")
	case o.keySize < 8 || o.valSize < 0 || o.keySpace < 1:
		return nil, fmt.Errorf("need --key-size >= 8 (a varint key id), --val-size >= 0, --key-space-size >= 1")
	case o.rate < 0:
		return nil, fmt.Errorf("need --rate >= 0")
	case o.consistency != "l" && o.consistency != "s":
		return nil, fmt.Errorf("--consistency must be l or s")
	}
	return o, nil
}

func mustConnect(o *options) []*clientv3.Client {
	conns := make([]*clientv3.Client, o.conns)
	for i := range conns {
		c, err := clientv3.New(clientv3.Config{Endpoints: o.endpoints, DialTimeout: 5 * time.Second})
		if err != nil {
			fmt.Fprintf(os.Stderr, "etcd-bench: dial %v: %v\n", o.endpoints, err)
			os.Exit(1)
		}
		conns[i] = c
	}
	return conns
}

func us(sec float64) float64 { return sec * 1e6 }

// summary prints what `benchmark` prints (etcd's pkg/report layout) and returns
// the JSON record.
func summary(o *options, r *result) map[string]interface{} {
	lats := r.lats
	secs := r.window.Seconds()
	ops := len(lats)
	rps := float64(ops) / secs
	var sum, slowest, fastest float64
	if ops > 0 {
		fastest, slowest = lats[0], lats[ops-1]
	}
	for _, l := range lats {
		sum += l
	}
	mean := 0.0
	if ops > 0 {
		mean = sum / float64(ops)
	}
	pcs, data := report.Percentiles(lats)
	fmt.Printf("\nSummary:\n  Total:\t%4.4f secs.\n  Slowest:\t%4.4f secs.\n  Fastest:\t%4.4f secs.\n"+
		"  Average:\t%4.4f secs.\n  Requests/sec:\t%4.4f\n\nLatency distribution:\n",
		secs, slowest, fastest, mean, rps)
	q := map[float64]float64{}
	for i, p := range pcs {
		if data[i] == 0 && ops > 0 {
			// pkg/report leaves a percentile it never reaches (p99.9 of
			// fewer than 1000 samples) at 0: the slowest is the bound.
			data[i] = slowest
		}
		q[p] = data[i]
		if data[i] > 0 {
			fmt.Printf("  %v%% in %4.4f secs.\n", p, data[i])
		}
	}
	if r.errors > 0 {
		fmt.Printf("\nError distribution:\n  [%d]\t%s (first)\n", r.errors, r.firstErr)
	}
	cons := map[string]string{"l": "linearizable", "s": "serializable"}[o.consistency]
	if o.op == "put" {
		cons = "quorum-durable"
	}
	return map[string]interface{}{
		"bench": "etcd-bench", "op": o.op, "label": o.label,
		"endpoints": len(o.endpoints), "conns": o.conns, "clients": o.clients,
		"rate_target": o.rate, "consistency": cons,
		"key_bytes": o.keySize, "value_bytes": o.valSize, "keys": o.keySpace,
		"seconds": secs, "ops": ops, "errors": r.errors, "ops_per_s": rps,
		"p50_us": us(q[50]), "p90_us": us(q[90]), "p99_us": us(q[99]), "p999_us": us(q[99.9]),
		"max_us": us(slowest), "mean_us": us(mean),
		"client_cpu_s": r.clientCPU, "first_error": r.firstErr,
	}
}

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-h" || os.Args[1] == "--help") {
		usage()
		os.Exit(0)
	}
	o, err := parse(os.Args[1:])
	if err == flag.ErrHelp {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "etcd-bench: %v (try --help)\n", err)
		os.Exit(2)
	}
	mode := "closed loop"
	if o.rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f req/s", o.rate)
	}
	fmt.Printf("# etcd-bench %s: %d endpoint(s) %v, %d conns, %d clients, %s, %d B keys, %d B values, "+
		"%d keys, %.1f s + %.1f s warmup\n", o.op, len(o.endpoints), o.endpoints, o.conns, o.clients, mode,
		o.keySize, o.valSize, o.keySpace, o.duration.Seconds(), o.warmup.Seconds())
	conns := mustConnect(o)
	if o.op == "range" && (o.preload || o.preloadOnly) {
		if err := preload(o, conns); err != nil {
			fmt.Fprintf(os.Stderr, "etcd-bench: preload: %v\n", err)
			os.Exit(1)
		}
		if o.preloadOnly {
			return
		}
	}
	r := run(o, conns)
	rec := summary(o, r)
	line, _ := json.Marshal(rec)
	fmt.Println(string(line))
	if o.jsonFile != "" {
		f, err := os.OpenFile(o.jsonFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = f.Write(append(line, '\n'))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "etcd-bench: %s: %v\n", o.jsonFile, err)
			os.Exit(1)
		}
	}
	for _, c := range conns {
		c.Close()
	}
	if len(r.lats) == 0 {
		fmt.Fprintf(os.Stderr, "etcd-bench: no request succeeded (%d errors: %s)\n", r.errors, r.firstErr)
		os.Exit(1)
	}
}
