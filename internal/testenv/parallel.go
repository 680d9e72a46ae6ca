package testenv

import (
	"flag"
	"runtime"
	"strconv"
)

// RaiseParallelism sets -test.parallel to perCore tests per core, unless
// the command line sets it. A TestMain calls it before m.Run: end-to-end
// tests spend most of their time waiting on databases, browsers, sockets
// and the processes they start, so the default of one test per core
// leaves the cores idle.
func RaiseParallelism(perCore int) {
	if !flag.Parsed() {
		flag.Parse()
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "test.parallel" })
	if !set {
		flag.Set("test.parallel", strconv.Itoa(perCore*runtime.GOMAXPROCS(0)))
	}
}
