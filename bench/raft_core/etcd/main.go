// etcd-raft-bench: the peer of aegis-bench-raft. Three etcd raft RawNodes
// (go.etcd.io/etcd/raft, as shipped by Debian's golang-etcd-server-dev) in
// one goroutine, MemoryStorage, messages stepped into their destination as
// soon as the sender's Ready hands them out, a leader that proposes batches
// of B entries of P bytes. Prints one line per case:
//   batch payload entries_per_s allocs_per_entry entries seconds
// Build: GOPATH=/usr/share/gocode GO111MODULE=off go build -o etcd-raft-bench main.go
package main

import (
	"fmt"
	"io/ioutil"
	"log"
	"os"
	"runtime"
	"strconv"
	"time"

	"go.etcd.io/etcd/raft"
	pb "go.etcd.io/etcd/raft/raftpb"
)

const nodes = 3

type cluster struct {
	rn       [nodes + 1]*raft.RawNode
	st       [nodes + 1]*raft.MemoryStorage
	applied  [nodes + 1]uint64
	checksum uint64
}

func newCluster() *cluster {
	c := &cluster{}
	peers := []raft.Peer{{ID: 1}, {ID: 2}, {ID: 3}}
	for id := uint64(1); id <= nodes; id++ {
		st := raft.NewMemoryStorage()
		cfg := &raft.Config{
			ID:              id,
			ElectionTick:    10,
			HeartbeatTick:   1,
			Storage:         st,
			MaxSizePerMsg:   1 << 20,
			MaxInflightMsgs: 256,
			CheckQuorum:     true,
			PreVote:         true,
		}
		rn, err := raft.NewRawNode(cfg)
		if err != nil {
			panic(err)
		}
		if err := rn.Bootstrap(peers); err != nil {
			panic(err)
		}
		c.rn[id] = rn
		c.st[id] = st
	}
	return c
}

func (c *cluster) process(id uint64) bool {
	rn := c.rn[id]
	if !rn.HasReady() {
		return false
	}
	rd := rn.Ready()
	st := c.st[id]
	if !raft.IsEmptyHardState(rd.HardState) {
		st.SetHardState(rd.HardState)
	}
	if err := st.Append(rd.Entries); err != nil {
		panic(err)
	}
	for _, m := range rd.Messages {
		if err := c.rn[m.To].Step(m); err != nil && err != raft.ErrStepPeerNotFound {
			panic(err)
		}
	}
	for _, e := range rd.CommittedEntries {
		if len(e.Data) > 0 {
			c.checksum += uint64(e.Data[0])
		} else {
			c.checksum++
		}
		if e.Type == pb.EntryConfChange {
			var cc pb.ConfChange
			if err := cc.Unmarshal(e.Data); err != nil {
				panic(err)
			}
			rn.ApplyConfChange(cc)
		}
		c.applied[id] = e.Index
	}
	rn.Advance(rd)
	return true
}

func (c *cluster) settle() {
	for any := true; any; {
		any = false
		for id := uint64(1); id <= nodes; id++ {
			if c.process(id) {
				any = true
			}
		}
	}
}

func (c *cluster) minApplied() uint64 {
	m := c.applied[1]
	for id := uint64(2); id <= nodes; id++ {
		if c.applied[id] < m {
			m = c.applied[id]
		}
	}
	return m
}

func run(batch, payload int, secs float64) {
	c := newCluster()
	c.settle()
	if err := c.rn[1].Campaign(); err != nil {
		panic(err)
	}
	c.settle()
	if c.rn[1].Status().RaftState != raft.StateLeader {
		panic("no leader")
	}
	data := make([][]byte, batch)
	for i := range data {
		data[i] = make([]byte, payload)
		for j := range data[i] {
			data[i][j] = byte(i + 1)
		}
	}
	// One MsgProp carrying the whole batch: etcd appends it in one go and
	// sends one MsgApp per follower, as aegis_raft_propose does.
	ents := make([]pb.Entry, batch)
	start := c.minApplied()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	t0 := time.Now()
	deadline := t0.Add(time.Duration(secs * float64(time.Second)))
	for round := 0; ; round++ {
		for i := 0; i < batch; i++ {
			ents[i] = pb.Entry{Data: data[i]}
		}
		if err := c.rn[1].Step(pb.Message{Type: pb.MsgProp, From: 1, Entries: ents}); err != nil {
			panic(err)
		}
		c.settle()
		done := c.minApplied()
		if round%64 == 0 {
			for id := uint64(1); id <= nodes; id++ {
				fi, _ := c.st[id].FirstIndex()
				if done > fi+(1<<14) {
					if err := c.st[id].Compact(done); err != nil {
						panic(err)
					}
				}
			}
			if time.Now().After(deadline) {
				break
			}
		}
	}
	el := time.Since(t0).Seconds()
	runtime.ReadMemStats(&ms1)
	entries := c.minApplied() - start
	fmt.Printf("%d %d %.0f %.4f %d %.6f\n", batch, payload, float64(entries)/el,
		float64(ms1.Mallocs-ms0.Mallocs)/float64(entries), entries, el)
	if c.checksum == 42 {
		fmt.Fprintln(os.Stderr, "")
	}
}

func main() {
	raft.SetLogger(&raft.DefaultLogger{Logger: log.New(ioutil.Discard, "", 0)})
	runtime.GOMAXPROCS(1) // one core, like the C side (the GC shares it)
	secs := 1.0
	if len(os.Args) > 1 {
		if v, err := strconv.ParseFloat(os.Args[1], 64); err == nil && v > 0 {
			secs = v
		}
	}
	for _, b := range []int{1, 16, 256} {
		for _, p := range []int{16, 128} {
			run(b, p, secs)
		}
	}
}
