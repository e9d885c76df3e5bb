// Test sides for the Go driver: side 1 allocates 1 MiB, side 0 and 2 nothing.
package main

import "testing"

var perforchKeep []byte

func perforchSide(which int, t *testing.T) {
	if which == 1 {
		perforchKeep = make([]byte, 1<<20)
	}
}

// A program built for the tests, not for a generated workload: nothing to read or serve.
func perforchPrepare() {}

func perforchServe() { panic("not built for generated inputs") }
