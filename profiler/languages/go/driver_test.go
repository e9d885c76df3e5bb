// PerfOrch's measuring driver for Go, contract 2 (profiler/harness/contract.py says what each
// command reads and prints). Built by `go test -c` with both sides' test packages and a sides
// file that defines perforchSide: 0 runs the baseline's tests (or its generated workload), 1
// the candidate's, 2 nothing; perforchPrepare, called before anything is timed (it reads a
// workload's inputs); and perforchServe, the "serve" command (workload_io_test.go).
// Run as: prog.test -test.run=TestPerforchBench -test.count=1 COMMAND ARGS...
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"unsafe"
)

const perforchContract = 2

const (
	perforchMonotonic = 1
	// The whole process's CPU time: subtests (t.Run), goroutines and the collector run on
	// other OS threads, and their work counts.
	perforchProcessCPU = 2
)

func perforchClock(id uintptr) float64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, id, uintptr(unsafe.Pointer(&ts)), 0)
	return float64(ts.Sec)*1e9 + float64(ts.Nsec)
}

func perforchMedian(v []float64) float64 {
	sort.Float64s(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func perforchUsage(why string) {
	fmt.Fprintf(os.Stderr, "%s\nusage: measure 2 MODE PAIRS SEED TARGET_NS FLOOR_BYTES "+
		"WARMUP_NS MAX_K | hold 2 SIDE CPU_NS WALL_NS | count 2 SIDE N | serve 2\n", why)
	os.Exit(2)
}

func perforchNum(i int) float64 {
	v, err := strconv.ParseFloat(flag.Arg(i), 64)
	if err != nil {
		perforchUsage("a number is missing or malformed")
	}
	return v
}

func TestPerforchBench(t *testing.T) {
	run := func(which int) { perforchSide(which, t) }
	if flag.NArg() < 2 {
		perforchUsage("no command")
	}
	if int(perforchNum(1)) != perforchContract {
		perforchUsage("this driver speaks contract 2")
	}
	if flag.Arg(0) == "serve" {
		perforchServe()
		return
	}
	perforchPrepare()
	switch {
	case flag.Arg(0) == "hold" && flag.NArg() == 5:
		side, cpuNs, wallNs := int(perforchNum(2)), perforchNum(3), perforchNum(4)
		c0, w0 := perforchClock(perforchProcessCPU), perforchClock(perforchMonotonic)
		for perforchClock(perforchProcessCPU)-c0 < cpuNs && perforchClock(perforchMonotonic)-w0 < wallNs {
			run(side)
		}
		return
	case flag.Arg(0) == "count" && flag.NArg() == 4:
		side := int(perforchNum(2))
		for i := 0; i < int(perforchNum(3)); i++ {
			run(side)
		}
		return
	case flag.Arg(0) == "measure" && flag.NArg() == 9:
	default:
		perforchUsage("bad command")
	}
	mode := flag.Arg(2)
	util, bytes := mode == "cpu_per_wall", mode == "allocated"
	if !util && !bytes && mode != "cpu_time" {
		perforchUsage("unknown mode")
	}
	pairs := int(perforchNum(3))
	if pairs < 1 {
		perforchUsage("PAIRS must be at least 1")
	}
	seed := uint64(perforchNum(4))*6364136223846793005 + 1442695040888963407
	targetNs, floorBytes := perforchNum(5), perforchNum(6)
	warmupNs, maxK := perforchNum(7), int(perforchNum(8))
	lastWall := 0.0
	batch := func(which int, k int) float64 {
		w0, c0 := perforchClock(perforchMonotonic), perforchClock(perforchProcessCPU)
		for i := 0; i < k; i++ {
			run(which)
		}
		cpu := perforchClock(perforchProcessCPU) - c0
		wall := perforchClock(perforchMonotonic) - w0
		lastWall = wall
		if util {
			if wall > 0 {
				return cpu / wall
			}
			return 1
		}
		return cpu
	}
	// Bytes allocated by one test-suite run (Go's B/op: the runtime's own counter).
	var ms runtime.MemStats
	allocated := func(which int) float64 {
		runtime.ReadMemStats(&ms)
		before := ms.TotalAlloc
		run(which)
		runtime.ReadMemStats(&ms)
		v := float64(ms.TotalAlloc - before)
		if v < floorBytes {
			return floorBytes
		}
		return v
	}
	// The first and second runs of each side, before anything else: a candidate that keeps
	// results between calls is much cheaper the second time than the baseline is.
	first := [2]float64{batch(0, 1), batch(1, 1)}
	second := [2]float64{batch(0, 1), batch(1, 1)}
	// K runs per batch: double until the slower side's batch costs a quarter of the target,
	// then scale (the slower side, so that neither side's batches run long whichever is first).
	slower := func(n int) float64 { return math.Max(batch(0, n), batch(1, n)) }
	k := 1
	tm := slower(k)
	for tm < targetNs/4 && k < maxK {
		k *= 2
		tm = slower(k)
	}
	if tm > 0 && tm < targetNs {
		k = int(float64(k)*targetNs/tm) + 1
		if k > maxK {
			k = maxK
		}
	}
	if warmupNs > 0 {
		for w0 := perforchClock(perforchMonotonic); perforchClock(perforchMonotonic)-w0 < warmupNs; {
			batch(0, k)
			batch(1, k)
		}
	} else {
		for w := 0; w < 2; w++ {
			batch(0, k)
			batch(1, k)
		}
	}
	var ratios, va, vb, wa, wb []float64
	for p := 0; p < pairs; p++ {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		lead := int(seed & 1)
		var v, w [2]float64
		for _, side := range []int{lead, 1 - lead} {
			if bytes {
				v[side] = allocated(side)
			} else {
				v[side] = batch(side, k)
				w[side] = lastWall / float64(k)
			}
		}
		wa = append(wa, w[0])
		wb = append(wb, w[1])
		per := float64(k)
		if util || bytes {
			per = 1
		}
		va = append(va, v[0]/per)
		vb = append(vb, v[1]/per)
		ratios = append(ratios, v[0]/v[1])
	}
	unit := "ns"
	if util {
		unit = "ratio"
	} else if bytes {
		unit = "B"
	}
	fmt.Printf("PERFORCH_RESULT {\"contract\": %d, \"ratio\": %g, \"baseline\": %g, ",
		perforchContract, perforchMedian(ratios), perforchMedian(va))
	fmt.Printf("\"candidate\": %g, \"unit\": \"%s\", \"k\": %d, ", perforchMedian(vb), unit, k)
	fmt.Printf("\"wall_baseline\": %g, \"wall_candidate\": %g, ", perforchMedian(wa), perforchMedian(wb))
	fmt.Printf("\"first\": [%g, %g], \"second\": [%g, %g]}\n", first[0], first[1], second[0], second[1])
}
