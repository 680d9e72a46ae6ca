// Package metrics keeps Gatehouse's operational counters and latency
// histograms and writes them in the Prometheus text exposition format
// (version 0.0.4). It depends on nothing but the standard library, so any
// package may record into it; cmd/gatehouse serves Handler on a separate
// listener (--metrics-addr), never on the public port.
//
// Every label value is drawn from a small fixed set (route patterns, not
// raw paths; a method, an outcome), so the number of series stays bounded
// whatever clients send. Nothing secret or personal is ever a label.
package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Registry is a set of metric families, written in registration order.
// The zero value is not usable; use NewRegistry.
type Registry struct {
	mu       sync.Mutex
	families []family
}

// family is one named metric with its series.
type family interface {
	write(w *bufio.Writer)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

func (r *Registry) add(f family) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.families = append(r.families, f)
}

// WriteText writes every family in the Prometheus text format.
func (r *Registry) WriteText(w io.Writer) error {
	r.mu.Lock()
	families := slices.Clone(r.families)
	r.mu.Unlock()
	bw := bufio.NewWriter(w)
	for _, f := range families {
		f.write(bw)
	}
	return bw.Flush()
}

// Handler serves the registry as a Prometheus scrape target.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		r.WriteText(w)
	})
}

// CounterVec is a counter with labels: one monotonically increasing value
// per combination of label values.
type CounterVec struct {
	name, help string
	labels     []string
	mu         sync.Mutex
	values     map[string]float64 // key: encoded label pairs
	order      []string
	keys       seriesKeys
}

// NewCounterVec registers a counter family. Its name should end in _total.
func (r *Registry) NewCounterVec(name, help string, labels ...string) *CounterVec {
	c := &CounterVec{name: name, help: help, labels: labels, values: map[string]float64{}}
	if len(labels) == 0 {
		// An unlabelled counter is exported as 0 before its first increment.
		c.values[""], c.order = 0, []string{""}
	}
	r.add(c)
	return c
}

// Inc adds one to the series with these label values (in the order the
// labels were declared). A wrong number of values panics: it is a bug.
func (c *CounterVec) Inc(values ...string) { c.Add(1, values...) }

// Add adds v (which must not be negative) to the series.
func (c *CounterVec) Add(v float64, values ...string) {
	if v < 0 {
		panic("metrics: counter " + c.name + " cannot decrease")
	}
	c.mu.Lock()
	key := c.keys.key(c.name, c.labels, values)
	if _, ok := c.values[key]; !ok {
		c.order = append(c.order, key)
	}
	c.values[key] += v
	c.mu.Unlock()
}

// Value returns the current value of one series (0 when it has none yet).
func (c *CounterVec) Value(values ...string) float64 {
	key := encodeLabels(c.name, c.labels, values)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.values[key]
}

func (c *CounterVec) write(w *bufio.Writer) {
	header(w, c.name, c.help, "counter")
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, key := range c.order {
		fmt.Fprintf(w, "%s%s %s\n", c.name, braces(key), formatFloat(c.values[key]))
	}
}

// HistogramVec is a histogram with labels: per series, cumulative bucket
// counts, a sum and a count.
type HistogramVec struct {
	name, help string
	labels     []string
	buckets    []float64 // upper bounds, ascending, without +Inf
	mu         sync.Mutex
	series     map[string]*histogram
	order      []string
	keys       seriesKeys
}

type histogram struct {
	counts []uint64 // per bucket, not cumulative; last is +Inf
	sum    float64
	count  uint64
}

// NewHistogramVec registers a histogram family with these bucket upper
// bounds (ascending; +Inf is added).
func (r *Registry) NewHistogramVec(name, help string, buckets []float64, labels ...string) *HistogramVec {
	if !slices.IsSorted(buckets) {
		panic("metrics: buckets of " + name + " are not ascending")
	}
	h := &HistogramVec{name: name, help: help, labels: labels, buckets: slices.Clone(buckets), series: map[string]*histogram{}}
	r.add(h)
	return h
}

// Observe records one value in the series with these label values.
func (h *HistogramVec) Observe(v float64, values ...string) {
	i, _ := slices.BinarySearch(h.buckets, v) // first bound >= v
	h.mu.Lock()
	key := h.keys.key(h.name, h.labels, values)
	s, ok := h.series[key]
	if !ok {
		s = &histogram{counts: make([]uint64, len(h.buckets)+1)}
		h.series[key] = s
		h.order = append(h.order, key)
	}
	s.counts[i]++
	s.sum += v
	s.count++
	h.mu.Unlock()
}

// Count returns how many values one series has observed.
func (h *HistogramVec) Count(values ...string) uint64 {
	key := encodeLabels(h.name, h.labels, values)
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.series[key]; ok {
		return s.count
	}
	return 0
}

func (h *HistogramVec) write(w *bufio.Writer) {
	header(w, h.name, h.help, "histogram")
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, key := range h.order {
		s := h.series[key]
		var cum uint64
		for i, bound := range h.buckets {
			cum += s.counts[i]
			fmt.Fprintf(w, "%s_bucket%s %d\n", h.name, braces(join(key, `le="`+formatFloat(bound)+`"`)), cum)
		}
		cum += s.counts[len(h.buckets)]
		fmt.Fprintf(w, "%s_bucket%s %d\n", h.name, braces(join(key, `le="+Inf"`)), cum)
		fmt.Fprintf(w, "%s_sum%s %s\n", h.name, braces(key), formatFloat(s.sum))
		fmt.Fprintf(w, "%s_count%s %d\n", h.name, braces(key), s.count)
	}
}

// gaugeFunc is a gauge read at scrape time.
type gaugeFunc struct {
	name, help string
	read       func() float64
}

// NewGaugeFunc registers an unlabelled gauge whose value read returns at
// each scrape.
func (r *Registry) NewGaugeFunc(name, help string, read func() float64) {
	r.add(&gaugeFunc{name: name, help: help, read: read})
}

func (g *gaugeFunc) write(w *bufio.Writer) {
	header(w, g.name, g.help, "gauge")
	fmt.Fprintf(w, "%s %s\n", g.name, formatFloat(g.read()))
}

// infoGauge is a constant gauge of 1 whose labels carry information.
type infoGauge struct {
	name, help string
	mu         sync.Mutex
	labels     string
}

func (g *infoGauge) set(labels []string, values ...string) {
	g.mu.Lock()
	g.labels = encodeLabels(g.name, labels, values)
	g.mu.Unlock()
}

func (g *infoGauge) write(w *bufio.Writer) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.labels == "" {
		return
	}
	header(w, g.name, g.help, "gauge")
	fmt.Fprintf(w, "%s%s 1\n", g.name, braces(g.labels))
}

func header(w *bufio.Writer, name, help, typ string) {
	fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

// seriesKeys remembers the encoded key of each combination of label values
// a family has seen, so that counting a known series allocates nothing:
// the HTTP middleware counts every request.
type seriesKeys struct {
	m map[labelValues]string
}

// maxFastLabels is the most labels a family may have for its keys to be
// remembered; families with more encode their key every time.
const maxFastLabels = 4

// maxRememberedSeries bounds the memory of one family's keys.
const maxRememberedSeries = 10_000

type labelValues [maxFastLabels]string

// key returns the encoded key for values; the family's lock is held.
func (k *seriesKeys) key(metric string, names, values []string) string {
	if len(values) > maxFastLabels || len(names) != len(values) {
		return encodeLabels(metric, names, values)
	}
	var lv labelValues
	copy(lv[:], values)
	if s, ok := k.m[lv]; ok {
		return s
	}
	s := encodeLabels(metric, names, values)
	if k.m == nil {
		k.m = map[labelValues]string{}
	}
	if len(k.m) < maxRememberedSeries {
		k.m[lv] = s
	}
	return s
}

// encodeLabels renders name="value" pairs, escaped, comma-separated.
func encodeLabels(metric string, names, values []string) string {
	if len(names) != len(values) {
		panic(fmt.Sprintf("metrics: %s takes %d label values, got %d", metric, len(names), len(values)))
	}
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(escapeLabel(values[i]))
		b.WriteByte('"')
	}
	return b.String()
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "," + b
}

func braces(pairs string) string {
	if pairs == "" {
		return ""
	}
	return "{" + pairs + "}"
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// goroutines is read at scrape time.
func goroutines() float64 { return float64(runtime.NumGoroutine()) }

// ParseText reads the samples of a text-format scrape into a map from the
// series as written (name{labels}) to its value. It reads what WriteText
// writes; tests and tools use it to compare two scrapes.
func ParseText(text string) map[string]float64 {
	out := map[string]float64{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

// Snapshot returns the registry's current samples, as ParseText reads them.
func (r *Registry) Snapshot() map[string]float64 {
	var b strings.Builder
	r.WriteText(&b)
	return ParseText(b.String())
}
