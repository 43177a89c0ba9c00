// etcd-loadgen: the etcd counterpart of synod-loadgen (bench/loadgen.c).
//
// It runs the same workloads over etcd's native gRPC API (clientv3) and prints the same
// report, so bench/run.py reads both alike: N clients, each its own gRPC connection, each
// with M goroutines keeping one request in flight, a closed loop N*M deep (or, with --rate,
// paced as in loadgen.c). After a warm-up, completions inside the measurement window are
// counted and their latencies recorded, per goroutine so the hot path takes no lock, in
// loadgen.c's histogram; the histograms are merged at the end.
//
// Output: "started" and the server of each client, then one line of key=value pairs:
// ops, errors, seconds, ops_per_s, p50_us, p99_us, p999_us, max_us,
// client_cpu_us_per_op, expired (always 0: etcd requests carry no session), and after a
// SIGUSR1 mark_ns and recovery_us. --acked FILE writes "start_ns end_ns key" per successful
// create, in CLOCK_MONOTONIC nanoseconds (Python's time.monotonic()).
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.etcd.io/etcd/clientv3"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

const (
	paceSleepMax = time.Millisecond       // the pacing loop's longest sleep
	paceLagMax   = 100 * time.Millisecond // tokens older than this are dropped, not burst
	pollSleep    = 2 * time.Millisecond   // the closed loop's check for the end of the run
)

var errExists = errors.New("key exists")

type acked struct {
	start, end time.Duration // since run.base
	key        string
}

type conn struct {
	index     int
	cli       *clientv3.Client
	seq       uint64        // next sequence number for creates / populate (atomic)
	populated uint64        // populate: keys put by this client (atomic)
	tokens    chan struct{} // --rate: a worker that is free takes one
	failed    int32         // its first failure was reported (atomic)
}

type worker struct {
	conn   *conn
	rng    uint64
	hist   hist
	ops    uint64
	errors uint64
	acked  []acked
}

type run struct {
	o         *options
	value     string
	base      time.Time // every time below is a monotonic offset from it
	baseMono  int64     // CLOCK_MONOTONIC at base, ns
	measuring int32
	stopping  int32
	mark      int64 // SIGUSR1, ns since base; 0 = none (atomic)
	recovered int64 // first success issued after the mark, ns since base (atomic)
}

func (r *run) now() time.Duration { return time.Since(r.base) }

func xorshift(s *uint64) uint64 {
	x := *s
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*s = x
	return x
}

func (r *run) keyPath(k int64) string { return fmt.Sprintf("%s/k%d", r.o.prefix, k) }

// issue runs one request to completion; false when populate has no key left for it.
func (r *run) issue(w *worker) bool {
	o, c := r.o, w.conn
	op := o.op
	if op == opMixed {
		op = opSet
		if int(xorshift(&w.rng)%100) < o.readPercent {
			op = opGet
		}
	}
	var key string
	switch op {
	case opPopulate:
		k := int64(atomic.AddUint64(&c.seq, 1)-1)*int64(o.connections) + int64(c.index)
		if k >= o.keys {
			return false
		}
		key = r.keyPath(k)
	case opCreate:
		key = fmt.Sprintf("%s/c%d-%d", o.prefix, c.index, atomic.AddUint64(&c.seq, 1)-1)
	default:
		key = r.keyPath(int64(xorshift(&w.rng) % uint64(o.keys)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.requestTimeout)
	start := r.now()
	var err error
	switch op {
	case opPopulate, opSet:
		_, err = c.cli.Put(ctx, key, r.value)
	case opCreate:
		var resp *clientv3.TxnResponse
		resp, err = c.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
			Then(clientv3.OpPut(key, r.value)).Commit()
		if err == nil && !resp.Succeeded {
			err = errExists
		}
	case opGet:
		_, err = c.cli.Get(ctx, key, clientv3.WithSerializable())
	default:
		_, err = c.cli.Get(ctx, key)
	}
	end := r.now()
	cancel()
	r.complete(w, op, key, start, end, err)
	return true
}

func (r *run) complete(w *worker, op opKind, key string, start, end time.Duration, err error) {
	c := w.conn
	if err == nil {
		if mark := atomic.LoadInt64(&r.mark); mark != 0 && int64(start) > mark {
			atomic.CompareAndSwapInt64(&r.recovered, 0, int64(end))
		}
		if r.o.ackedPath != "" && op == opCreate {
			w.acked = append(w.acked, acked{start, end, key})
		}
		if op == opPopulate {
			atomic.AddUint64(&c.populated, 1)
		}
	} else if atomic.CompareAndSwapInt32(&c.failed, 0, 1) {
		fmt.Fprintf(os.Stderr, "etcd-loadgen: request failed on connection %d: %v\n",
			c.index, err)
	}
	if atomic.LoadInt32(&r.measuring) != 0 {
		w.hist.add(uint64((end - start) / time.Microsecond))
		w.ops++
		if err != nil {
			w.errors++
		}
	}
}

// work is one goroutine: closed loop, or one request per token with --rate.
func (r *run) work(w *worker, done <-chan struct{}) {
	for atomic.LoadInt32(&r.stopping) == 0 {
		if r.o.rate > 0 {
			select {
			case <-w.conn.tokens:
			case <-done:
				return
			}
		}
		if !r.issue(w) {
			return
		}
	}
}

// pace hands out one token every 1/rate s, to the clients in turn; a token that finds
// every goroutine of its client busy is dropped (at most --outstanding in flight each).
// Runs until `end` or, with --tail, until tail after recovery.
func (r *run) pace(conns []*conn, end time.Duration) {
	interval := time.Duration(float64(time.Second) / r.o.rate)
	if interval <= 0 {
		interval = 1
	}
	next, rr := r.now(), 0
	for {
		now := r.now()
		if now >= end || r.tailOver(now) {
			return
		}
		if now > next+paceLagMax {
			next = now
		}
		for ; next <= now; next += interval {
			select {
			case conns[rr].tokens <- struct{}{}:
			default:
			}
			rr = (rr + 1) % len(conns)
		}
		wait := next - now
		if wait > paceSleepMax {
			wait = paceSleepMax
		}
		time.Sleep(wait)
	}
}

func (r *run) tailOver(now time.Duration) bool {
	rec := atomic.LoadInt64(&r.recovered)
	return r.o.tail > 0 && rec != 0 && now >= time.Duration(rec)+r.o.tail
}

func (r *run) waitEnd(end time.Duration) {
	for now := r.now(); now < end && !r.tailOver(now); now = r.now() {
		time.Sleep(pollSleep)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (r *run) connect(i int) (*conn, error) {
	cfg := zap.NewProductionConfig()
	cfg.Level = zap.NewAtomicLevelAt(zap.ErrorLevel)
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   r.o.endpoints(i),
		DialTimeout: connectTimeout,
		LogConfig:   &cfg,
	})
	if err != nil {
		return nil, err
	}
	// Dialing does not wait for the server to serve: one read on this client does.
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	if _, err = cli.Get(ctx, r.o.prefix, clientv3.WithSerializable()); err != nil {
		cli.Close()
		return nil, err
	}
	return &conn{index: i, cli: cli, tokens: make(chan struct{})}, nil
}

func (r *run) report(workers []*worker, window, cpu time.Duration) {
	var merged hist
	var ops, errs uint64
	for _, w := range workers {
		merged.merge(&w.hist)
		ops += w.ops
		errs += w.errors
	}
	perOp := 0.0
	if ops > 0 {
		perOp = float64(cpu/time.Nanosecond) / 1000 / float64(ops)
	}
	line := fmt.Sprintf("ops=%d errors=%d seconds=%.3f ops_per_s=%.0f p50_us=%d p99_us=%d "+
		"p999_us=%d max_us=%d client_cpu_us_per_op=%.2f expired=0", ops, errs,
		window.Seconds(), float64(ops)/window.Seconds(), merged.percentile(50),
		merged.percentile(99), merged.percentile(99.9), merged.maxUs, perOp)
	if mark := atomic.LoadInt64(&r.mark); mark != 0 {
		recovery := -1.0
		if rec := atomic.LoadInt64(&r.recovered); rec != 0 {
			recovery = float64(rec-mark) / 1000
		}
		line += fmt.Sprintf(" mark_ns=%d recovery_us=%.0f", r.baseMono+mark, recovery)
	}
	fmt.Println(line)
}

func (r *run) writeAcked(workers []*worker) error {
	f, err := os.Create(r.o.ackedPath)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(f)
	for _, w := range workers {
		for _, a := range w.acked {
			fmt.Fprintf(out, "%d %d %s\n", r.baseMono+int64(a.start), r.baseMono+int64(a.end),
				a.key)
		}
	}
	if err = out.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func main() {
	o, err := parseOptions(os.Args[1:])
	if err != nil {
		fmt.Fprint(os.Stderr, usageText)
		os.Exit(2)
	}
	var ts unix.Timespec
	if err = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		fmt.Fprintf(os.Stderr, "etcd-loadgen: clock_gettime: %v\n", err)
		os.Exit(1)
	}
	r := &run{o: o, value: strings.Repeat("v", o.valueSize), base: time.Now(),
		baseMono: ts.Nano()}
	marks := make(chan os.Signal, 1)
	signal.Notify(marks, syscall.SIGUSR1)
	go func() {
		for range marks {
			atomic.StoreInt64(&r.mark, int64(r.now()))
		}
	}()

	conns := make([]*conn, o.connections)
	for i := range conns {
		if conns[i], err = r.connect(i); err != nil {
			fmt.Fprintf(os.Stderr, "etcd-loadgen: cannot connect to %s: %v\n",
				strings.Join(o.endpoints(i), ","), err)
			os.Exit(1)
		}
	}
	var workers []*worker
	var wg sync.WaitGroup
	done := make(chan struct{})
	for _, c := range conns {
		for j := 0; j < o.outstanding; j++ {
			w := &worker{conn: c, rng: 0x9e3779b97f4a7c15 * uint64(len(workers)+1)}
			workers = append(workers, w)
		}
	}
	status := 0
	if o.op != opPopulate {
		started := "started"
		for i := range conns {
			started += " " + o.endpoints(i)[0]
		}
		fmt.Println(started)
	}
	for _, w := range workers {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			r.work(w, done)
		}(w)
	}
	if o.op == opPopulate {
		wg.Wait()
		var made uint64
		for _, c := range conns {
			made += atomic.LoadUint64(&c.populated)
		}
		fmt.Printf("populated=%d\n", made)
		if made != uint64(o.keys) {
			status = 1
		}
	} else {
		measureFrom := r.now() + o.warmup
		end := measureFrom + o.duration
		if o.rate > 0 {
			r.pace(conns, measureFrom)
		} else {
			time.Sleep(o.warmup)
		}
		t0, c0 := r.now(), cpuTime()
		atomic.StoreInt32(&r.measuring, 1)
		if o.rate > 0 {
			r.pace(conns, end)
		} else {
			r.waitEnd(end)
		}
		atomic.StoreInt32(&r.measuring, 0)
		t1, c1 := r.now(), cpuTime()
		atomic.StoreInt32(&r.stopping, 1)
		close(done)
		wg.Wait() // bounded: every request has --request-timeout
		r.report(workers, t1-t0, c1-c0)
		if o.ackedPath != "" {
			if err = r.writeAcked(workers); err != nil {
				fmt.Fprintf(os.Stderr, "etcd-loadgen: cannot write %s: %v\n", o.ackedPath, err)
				status = 1
			}
		}
	}
	for _, c := range conns {
		c.cli.Close()
	}
	os.Exit(status)
}
