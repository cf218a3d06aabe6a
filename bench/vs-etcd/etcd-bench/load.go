package main

// The load: clients (goroutines, one request in flight each) over shared
// connections, a collector that keeps the latencies of the measured window and
// prints a progress line each second, and an open-loop ticket dispatcher.

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.etcd.io/etcd/pkg/report"
)

type sample struct {
	start, end time.Time
	err        error
}

type result struct {
	lats      []float64 // seconds, sorted, requests completed in the window
	errors    int
	firstErr  string
	window    time.Duration
	clientCPU float64 // seconds of this process's CPU in the window
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func makeKey(buf []byte, id int) {
	for i := range buf {
		buf[i] = 0
	}
	binary.PutVarint(buf, int64(id))
}

func do(c *clientv3.Client, o *options, key, val []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if o.op == "put" {
		_, err = c.Put(ctx, string(key), string(val))
	} else if o.consistency == "s" {
		_, err = c.Get(ctx, string(key), clientv3.WithSerializable())
	} else {
		_, err = c.Get(ctx, string(key))
	}
	return err
}

// preload writes every key of the key space once, so ranges find values.
func preload(o *options, conns []*clientv3.Client) error {
	val := make([]byte, o.valSize)
	rand.Read(val)
	var next, done int64
	var wg sync.WaitGroup
	errc := make(chan error, o.clients)
	t0 := time.Now()
	for i := 0; i < o.clients; i++ {
		wg.Add(1)
		go func(c *clientv3.Client) {
			defer wg.Done()
			key := make([]byte, o.keySize)
			for id := int(atomic.AddInt64(&next, 1) - 1); id < o.keySpace; id = int(atomic.AddInt64(&next, 1) - 1) {
				makeKey(key, id)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := c.Put(ctx, string(key), string(val))
				cancel()
				if err != nil {
					errc <- err
					return
				}
				atomic.AddInt64(&done, 1)
			}
		}(conns[i%len(conns)])
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	fmt.Printf("# preload: %d keys in %.1f s\n", done, time.Since(t0).Seconds())
	return nil
}

// tickets hands out intended send times at o.rate until ctx ends. The times
// come from the schedule, not the clock: a late client still measures from
// when its request should have left. During the warmup a ticket no client is
// free for is dropped, so that a slow start (connections, a fresh cluster)
// leaves no backlog for the measured window.
func tickets(ctx context.Context, o *options, t0, from time.Time) <-chan time.Time {
	ch := make(chan time.Time, 1<<16)
	go func() {
		defer close(ch)
		step := time.Duration(float64(time.Second) / o.rate)
		for i := int64(0); ; i++ {
			t := t0.Add(time.Duration(i) * step)
			if d := time.Until(t); d > 200*time.Microsecond {
				time.Sleep(d)
			}
			if t.Before(from) && len(ch) > 0 {
				continue
			}
			select {
			case ch <- t:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

func client(ctx context.Context, id int, c *clientv3.Client, o *options, tk <-chan time.Time, out chan<- sample) {
	rng := rand.New(rand.NewSource(time.Now().UnixNano() + int64(id)))
	key := make([]byte, o.keySize)
	val := make([]byte, o.valSize)
	rng.Read(val)
	for n := id; ; n += o.clients {
		start := time.Now()
		if tk != nil {
			t, ok := <-tk
			if !ok || ctx.Err() != nil {
				return
			}
			start = t
		} else if ctx.Err() != nil {
			return
		}
		kid := rng.Intn(o.keySpace)
		if o.seqKeys {
			kid = n % o.keySpace
		}
		makeKey(key, kid)
		err := do(c, o, key, val)
		out <- sample{start, time.Now(), err}
	}
}

// collect keeps the window's latencies; prints one progress line a second.
func collect(o *options, in <-chan sample, from, to time.Time, r *result) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var sec []float64
	secErr := 0
	t0 := from.Add(-o.warmup)
	for {
		select {
		case s, ok := <-in:
			if !ok {
				return
			}
			if s.end.After(to) {
				continue
			}
			inWindow := !s.end.Before(from) // the warmup shows in progress only
			if s.err != nil {
				if inWindow && r.errors == 0 {
					r.firstErr = s.err.Error()
				}
				if inWindow {
					r.errors++
				}
				secErr++
				continue
			}
			l := s.end.Sub(s.start).Seconds()
			if inWindow {
				r.lats = append(r.lats, l)
			}
			sec = append(sec, l)
		case now := <-tick.C:
			sort.Float64s(sec)
			_, q := report.Percentiles(sec)
			phase := "warmup"
			if now.After(from) {
				phase = "run"
			}
			fmt.Fprintf(os.Stderr, "[%5.1fs %s] %8d ops/s  p50 %7.0f us  p99 %7.0f us  errors %d\n",
				now.Sub(t0).Seconds(), phase, len(sec), us(q[2]), us(q[6]), secErr)
			sec, secErr = sec[:0], 0
		}
	}
}

func run(o *options, conns []*clientv3.Client) *result {
	r := &result{}
	t0 := time.Now()
	from, to := t0.Add(o.warmup), t0.Add(o.warmup+o.duration)
	ctx, cancel := context.WithDeadline(context.Background(), to)
	defer cancel()
	var tk <-chan time.Time
	if o.rate > 0 {
		tk = tickets(ctx, o, t0, from)
	}
	out := make(chan sample, 4096)
	done := make(chan struct{})
	go func() { collect(o, out, from, to, r); close(done) }()
	var wg sync.WaitGroup
	for i := 0; i < o.clients; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); client(ctx, i, conns[i%len(conns)], o, tk, out) }(i)
	}
	time.Sleep(time.Until(from))
	cpu0 := cpuSeconds()
	<-ctx.Done()
	r.clientCPU = cpuSeconds() - cpu0
	wg.Wait() // requests in flight at the end finish but are not counted
	close(out)
	<-done
	r.window = o.duration
	sort.Float64s(r.lats)
	return r
}
