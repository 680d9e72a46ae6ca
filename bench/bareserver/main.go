// Command bareserver is the baseline for Gatehouse's load figures: a bare
// net/http server that reads the request body and answers {"status": 1},
// with none of Gatehouse's work. It listens on loopback only.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"strings"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18100", "loopback address to listen on")
	flag.Parse()
	if !strings.HasPrefix(*addr, "127.") && !strings.HasPrefix(*addr, "[::1]") && !strings.HasPrefix(*addr, "localhost") {
		log.Fatalf("bareserver: listen on a loopback address, not %s", *addr)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"status":1}` + "\n"))
	})
	log.Fatal(http.ListenAndServe(*addr, h))
}
