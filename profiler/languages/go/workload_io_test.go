// PerfOrch's generated inputs for Go (profiler/harness/compiled.py says how they are used):
// the function's arguments arrive in the token form py_workload.py's "encode" writes and are
// read into the parameters' own types by reflection; what the function returns (and its
// arguments afterwards) leaves as JSON, which py_workload.py compares.
//
// Tokens: "i 42", "f 0.5", "b 1", "s 5:hello" (a byte count, then the bytes), "n"
// (None), "l 3 …" (a list of 3 values), "d 2 k v k v" (a dict of 2 items).
package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

type perforchCursor struct {
	data []byte
	at   int
}

type perforchInputError struct{ why string }

func (e perforchInputError) Error() string {
	return "the generated input does not fit the parameter: " + e.why
}

func perforchBad(why string) { panic(perforchInputError{why}) }

func (c *perforchCursor) tag() byte {
	for c.at < len(c.data) && c.data[c.at] == ' ' {
		c.at++
	}
	if c.at >= len(c.data) {
		perforchBad("the input ended early")
	}
	c.at++
	return c.data[c.at-1]
}

func (c *perforchCursor) word() string {
	for c.at < len(c.data) && c.data[c.at] == ' ' {
		c.at++
	}
	start := c.at
	for c.at < len(c.data) && c.data[c.at] != ' ' && c.data[c.at] != ':' {
		c.at++
	}
	return string(c.data[start:c.at])
}

func (c *perforchCursor) integer() int64 {
	v, err := strconv.ParseInt(c.word(), 10, 64)
	if err != nil {
		perforchBad("a number was expected")
	}
	return v
}

func (c *perforchCursor) str() string {
	n := int(c.integer())
	if n < 0 || c.at >= len(c.data) || c.data[c.at] != ':' || len(c.data)-c.at-1 < n {
		perforchBad("a broken string")
	}
	s := string(c.data[c.at+1 : c.at+1+n])
	c.at += n + 1
	return s
}

// perforchRead reads one value of type t.
func perforchRead(c *perforchCursor, t reflect.Type) reflect.Value {
	v := reflect.New(t).Elem()
	tag := c.tag()
	switch t.Kind() {
	case reflect.Bool:
		if tag != 'b' && tag != 'i' {
			perforchBad("a bool was expected")
		}
		v.SetBool(c.integer() != 0)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if tag == 's' && t.Kind() == reflect.Int32 { // a rune from a one-character string
			r := []rune(c.str())
			if len(r) != 1 {
				perforchBad("a one-character string for a rune")
			}
			v.SetInt(int64(r[0]))
			break
		}
		if tag != 'i' && tag != 'b' {
			perforchBad("an integer was expected")
		}
		v.SetInt(c.integer())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if tag != 'i' && tag != 'b' {
			perforchBad("an integer was expected")
		}
		v.SetUint(uint64(c.integer()))
	case reflect.Float32, reflect.Float64:
		if tag != 'f' && tag != 'i' && tag != 'b' {
			perforchBad("a number was expected")
		}
		f, err := strconv.ParseFloat(c.word(), 64)
		if err != nil {
			perforchBad("a number was expected")
		}
		v.SetFloat(f)
	case reflect.String:
		if tag != 's' {
			perforchBad("a string was expected")
		}
		v.SetString(c.str())
	case reflect.Slice, reflect.Array:
		if tag != 'l' {
			perforchBad("a list was expected")
		}
		n := int(c.integer())
		if t.Kind() == reflect.Slice {
			v = reflect.MakeSlice(t, n, n)
		} else if n != t.Len() {
			perforchBad(fmt.Sprintf("a list of %d items was expected", t.Len()))
		}
		for i := 0; i < n; i++ {
			v.Index(i).Set(perforchRead(c, t.Elem()))
		}
	case reflect.Map:
		if tag != 'd' {
			perforchBad("a dict was expected")
		}
		n := int(c.integer())
		v = reflect.MakeMapWithSize(t, n)
		for i := 0; i < n; i++ {
			k := perforchRead(c, t.Key())
			v.SetMapIndex(k, perforchRead(c, t.Elem()))
		}
	case reflect.Struct:
		if tag != 'l' || int(c.integer()) != t.NumField() {
			perforchBad("a tuple with one item per field was expected")
		}
		for i := 0; i < t.NumField(); i++ {
			if !v.Field(i).CanSet() {
				perforchBad("a struct with unexported fields")
			}
			v.Field(i).Set(perforchRead(c, t.Field(i).Type))
		}
	case reflect.Pointer:
		if tag == 'n' {
			break
		}
		c.at-- // the value itself, behind the pointer
		p := reflect.New(t.Elem())
		p.Elem().Set(perforchRead(c, t.Elem()))
		v.Set(p)
	default:
		perforchBad("a parameter of type " + t.String())
	}
	return v
}

func perforchWriteString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '"' || ch == '\\':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch < 0x20 || ch >= 0x7f:
			fmt.Fprintf(b, "\\u%04x", ch) // bytes, the same for both sides
		default:
			b.WriteByte(ch)
		}
	}
	b.WriteByte('"')
}

// perforchWrite writes v as JSON: maps as [[key, value], …] sorted, structs as lists.
func perforchWrite(b *strings.Builder, v reflect.Value) {
	switch v.Kind() {
	case reflect.Invalid:
		b.WriteString("null")
	case reflect.Bool:
		b.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		b.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			b.WriteString("NaN")
		case math.IsInf(f, 1):
			b.WriteString("Infinity")
		case math.IsInf(f, -1):
			b.WriteString("-Infinity")
		default:
			s := strconv.FormatFloat(f, 'g', 17, 64)
			if !strings.ContainsAny(s, ".eE") {
				s += ".0" // a float stays a float in JSON
			}
			b.WriteString(s)
		}
	case reflect.String:
		perforchWriteString(b, v.String())
	case reflect.Slice, reflect.Array:
		perforchWriteList(b, v.Len(), v.Index)
	case reflect.Map:
		items := make([]string, 0, v.Len())
		it := v.MapRange()
		for it.Next() {
			var kv strings.Builder
			kv.WriteByte('[')
			perforchWrite(&kv, it.Key())
			kv.WriteByte(',')
			perforchWrite(&kv, it.Value())
			kv.WriteByte(']')
			items = append(items, kv.String())
		}
		sort.Strings(items) // Go's map order is random: sorted, both sides read alike
		b.WriteString("[" + strings.Join(items, ",") + "]")
	case reflect.Struct:
		perforchWriteList(b, v.NumField(), v.Field)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			b.WriteString("null")
		} else if err, ok := v.Interface().(error); ok {
			perforchWriteString(b, "error: "+err.Error())
		} else {
			perforchWrite(b, v.Elem())
		}
	default:
		perforchWriteString(b, v.Type().String())
	}
}

// perforchCopy copies a value deeply (slices, maps, pointers, structs), for a function that
// changes its arguments.
func perforchCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(perforchCopy(v.Index(i)))
		}
		return out
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := 0; i < v.Len(); i++ {
			out.Index(i).Set(perforchCopy(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			out.SetMapIndex(it.Key(), perforchCopy(it.Value()))
		}
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(perforchCopy(v.Elem()))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := 0; i < v.NumField(); i++ {
			if out.Field(i).CanSet() {
				out.Field(i).Set(perforchCopy(v.Field(i)))
			}
		}
		return out
	}
	return v
}

func perforchCopyAll(args []reflect.Value) []reflect.Value {
	out := make([]reflect.Value, len(args))
	for i, a := range args {
		out[i] = perforchCopy(a)
	}
	return out
}

func perforchReadArgs(c *perforchCursor, fn reflect.Value) []reflect.Value {
	t := fn.Type()
	if c.tag() != 'l' || int(c.integer()) != t.NumIn() {
		perforchBad(fmt.Sprintf("%d arguments were expected", t.NumIn()))
	}
	args := make([]reflect.Value, t.NumIn())
	for i := range args {
		args[i] = perforchRead(c, t.In(i))
	}
	return args
}

func perforchCall(fn reflect.Value, args []reflect.Value) []reflect.Value {
	if fn.Type().IsVariadic() {
		return fn.CallSlice(args)
	}
	return fn.Call(args)
}

// perforchReturned: what the function returned (several values as a list).
func perforchReturned(out []reflect.Value) string {
	switch len(out) {
	case 0:
		return "null"
	case 1:
		var b strings.Builder
		perforchWrite(&b, out[0])
		return b.String()
	}
	return perforchArgsJSON(out)
}

// perforchWriteList writes n values, item(0) … item(n-1), as a JSON list.
func perforchWriteList(b *strings.Builder, n int, item func(int) reflect.Value) {
	b.WriteByte('[')
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		perforchWrite(b, item(i))
	}
	b.WriteByte(']')
}

// perforchArgsJSON: values as a JSON list.
func perforchArgsJSON(args []reflect.Value) string {
	var b strings.Builder
	perforchWriteList(&b, len(args), func(i int) reflect.Value { return args[i] })
	return b.String()
}

// perforchWorkload: a side's function and the workload's inputs, read before anything is timed.
type perforchWorkload struct {
	fn      reflect.Value
	inputs  [][]reflect.Value
	mutates bool // the inputs file says the original changes its arguments: a copy per call
}

var perforchSink []reflect.Value

func perforchNewWorkload(fn any) *perforchWorkload {
	return &perforchWorkload{fn: reflect.ValueOf(fn)}
}

func (w *perforchWorkload) load(path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		panic("no generated inputs: " + err.Error())
	}
	_, statErr := os.Stat(path + ".mutates")
	w.mutates = statErr == nil
	c := &perforchCursor{data: data}
	if c.tag() != 'l' {
		perforchBad("the inputs file is not a list")
	}
	for i, n := 0, int(c.integer()); i < n; i++ {
		w.inputs = append(w.inputs, perforchReadArgs(c, w.fn))
	}
}

// run: one run, the function once on every input.
func (w *perforchWorkload) run() {
	for _, args := range w.inputs {
		if w.mutates {
			args = perforchCopyAll(args)
		}
		perforchSink = perforchCall(w.fn, args)
	}
}

// answer: one call for "serve" (the reply py_workload.py's Remote reads).
func (w *perforchWorkload) answer(payload []byte) (reply string) {
	var args []reflect.Value
	func() {
		defer func() {
			if r := recover(); r != nil {
				if e, ok := r.(perforchInputError); ok {
					var b strings.Builder
					perforchWriteString(&b, e.Error())
					reply = `{"input_error": ` + b.String() + "}"
					return
				}
				panic(r)
			}
		}()
		args = perforchReadArgs(&perforchCursor{data: payload}, w.fn)
	}()
	if reply != "" {
		return reply
	}
	before := perforchArgsJSON(args)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	alloc0 := ms.TotalAlloc
	returned, raised := "null", "null"
	c0 := perforchClock(perforchProcessCPU)
	c1 := c0
	func() {
		defer func() {
			if r := recover(); r != nil {
				c1 = perforchClock(perforchProcessCPU)
				var b strings.Builder
				perforchWriteString(&b, fmt.Sprintf("panic(%T)", r))
				raised = b.String()
			}
		}()
		out := perforchCall(w.fn, args)
		c1 = perforchClock(perforchProcessCPU)
		returned = perforchReturned(out)
	}()
	runtime.ReadMemStats(&ms)
	after := perforchArgsJSON(args)
	return fmt.Sprintf(`{"returned": %s, "raised": %s, "args_after": %s, "changed": %t, `+
		`"ns": %.0f, "peak": %d}`, returned, raised, after, after != before, c1-c0,
		ms.TotalAlloc-alloc0)
}

// perforchServeLoop: "serve", one line "call SIDE N" and N bytes per call, one JSON line back.
func perforchServeLoop(sides [2]*perforchWorkload) {
	fmt.Printf("{\"arity\": %d, \"mutates\": null}\n", sides[0].fn.Type().NumIn())
	in := bufio.NewReader(os.Stdin)
	for {
		line, err := in.ReadString('\n')
		if err != nil {
			return
		}
		var side, n int
		if _, err := fmt.Sscanf(line, "call %d %d", &side, &n); err != nil || side < 0 || side > 1 {
			os.Exit(2)
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(in, payload); err != nil {
			os.Exit(2)
		}
		fmt.Println(sides[side].answer(payload))
	}
}
