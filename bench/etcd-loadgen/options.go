package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// The limits of bench/loadgen.c, so both generators accept the same command lines.
const (
	connectionsMax    = 1024
	outstandingMax    = 4096
	valueSizeMax      = 1000000
	serversMax        = 16
	connectTimeout    = 10 * time.Second
	drainTimeout      = 10 * time.Second
	requestTimeoutDef = 10 * time.Second
)

type opKind int

const (
	opCreate opKind = iota
	opSet
	opGet
	opLinGet
	opMixed
	opPopulate
)

var opNames = []string{"create", "set", "get", "linget", "mixed", "populate"}

type options struct {
	servers        []string
	connections    int
	outstanding    int
	op             opKind
	valueSize      int
	keys           int64
	duration       time.Duration
	warmup         time.Duration
	readPercent    int
	prefix         string
	rate           float64 // requests/s over all connections; 0 = closed loop
	tail           time.Duration
	ackedPath      string
	allEndpoints   bool
	requestTimeout time.Duration
}

const usageText = `usage: etcd-loadgen --server HOST:PORT[,HOST:PORT...] [--connections N]
         [--outstanding M] [--op create|set|get|linget|mixed|populate] [--value-size B]
         [--keys K] [--duration S] [--warmup S] [--read-percent P] [--prefix /path]
         [--rate OPS] [--tail S] [--acked FILE] [--all-endpoints] [--request-timeout MS]
The etcd counterpart of synod-loadgen (bench/loadgen.c): the same workloads over etcd's
gRPC API, the same output. A connection is one clientv3 client; --outstanding goroutines
per client each keep one request in flight.
populate puts PREFIX/k0..k(K-1) and exits; set/get/linget/mixed use those keys.
get is a serializable (local) Get, linget etcd's default, linearizable Get; create puts
a new key guarded by a transaction (its create revision must be 0); mixed is
--read-percent gets, the rest sets.
Client i talks to server i mod n only, unless --all-endpoints gives it every server
(the list rotated to start at server i mod n) to fail over to.
SIGUSR1 marks an instant; recovery_us is measured from it (see --tail).
`

func parseOptions(args []string) (*options, error) {
	fs := flag.NewFlagSet("etcd-loadgen", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, usageText) }
	o := &options{}
	server := fs.String("server", "", "")
	fs.IntVar(&o.connections, "connections", 4, "")
	fs.IntVar(&o.outstanding, "outstanding", 64, "")
	op := fs.String("op", "mixed", "")
	fs.IntVar(&o.valueSize, "value-size", 256, "")
	fs.Int64Var(&o.keys, "keys", 10000, "")
	duration := fs.Float64("duration", 10, "")
	warmup := fs.Float64("warmup", 2, "")
	fs.IntVar(&o.readPercent, "read-percent", 90, "")
	fs.StringVar(&o.prefix, "prefix", "/bench", "")
	fs.Float64Var(&o.rate, "rate", 0, "")
	tail := fs.Float64("tail", 0, "")
	fs.StringVar(&o.ackedPath, "acked", "", "")
	fs.BoolVar(&o.allEndpoints, "all-endpoints", false, "")
	requestTimeoutMs := fs.Int("request-timeout", int(requestTimeoutDef/time.Millisecond), "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() != 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.op = -1
	for i, name := range opNames {
		if *op == name {
			o.op = opKind(i)
		}
	}
	if *server != "" {
		o.servers = strings.Split(*server, ",")
	}
	for _, s := range o.servers {
		if s == "" {
			return nil, errors.New("empty server in --server")
		}
	}
	o.duration = time.Duration(*duration * float64(time.Second))
	o.warmup = time.Duration(*warmup * float64(time.Second))
	o.tail = time.Duration(*tail * float64(time.Second))
	o.requestTimeout = time.Duration(*requestTimeoutMs) * time.Millisecond
	if o.op < 0 || len(o.servers) == 0 || len(o.servers) > serversMax ||
		o.connections < 1 || o.connections > connectionsMax ||
		o.outstanding < 1 || o.outstanding > outstandingMax ||
		o.valueSize < 0 || o.valueSize > valueSizeMax || o.keys < 1 ||
		o.duration <= 0 || o.warmup < 0 || o.readPercent < 0 || o.readPercent > 100 ||
		o.rate < 0 || o.tail < 0 || o.requestTimeout <= 0 ||
		(o.rate > 0 && o.op == opPopulate) {
		return nil, errors.New("invalid options")
	}
	return o, nil
}

// endpoints is client i's server list: server i mod n alone, or with allEndpoints every
// server starting at that one.
func (o *options) endpoints(i int) []string {
	n := len(o.servers)
	if !o.allEndpoints {
		return []string{o.servers[i%n]}
	}
	out := make([]string, 0, n)
	for k := 0; k < n; k++ {
		out = append(out, o.servers[(i+k)%n])
	}
	return out
}
