package apitest

import (
	"flag"
	"runtime"
	"strconv"
)

// RaiseParallelism sets -test.parallel to two tests per core, unless the
// command line sets it. A TestMain calls it before m.Run: the end-to-end
// tests spend most of their time waiting on databases, browsers and
// sockets, so the default of one test per core leaves the cores idle.
func RaiseParallelism() {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(2*runtime.GOMAXPROCS(0)))
	}
}
