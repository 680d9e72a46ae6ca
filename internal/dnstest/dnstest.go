// Package dnstest runs a small authoritative DNS server on loopback for
// tests: it answers TXT questions from a table and NXDOMAIN otherwise, so
// domain verification can be tested against real DNS traffic.
package dnstest

import (
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"sync"
)

// Server answers DNS TXT queries over UDP on 127.0.0.1.
type Server struct {
	// Addr is the host:port to use as DNS_RESOLVER.
	Addr string

	conn *net.UDPConn
	mu   sync.Mutex
	txt  map[string][]string
	done chan struct{}
}

// Start listens on a free loopback port and serves until Close.
func Start() (*Server, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: conn.LocalAddr().String(), conn: conn, txt: map[string][]string{}, done: make(chan struct{})}
	go s.serve()
	return s, nil
}

// SetTXT makes name answer with these TXT records (none: NXDOMAIN).
func (s *Server) SetTXT(name string, records ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.txt[canonical(name)] = records
}

// Close stops the server.
func (s *Server) Close() error {
	err := s.conn.Close()
	<-s.done
	return err
}

func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

func (s *Server) serve() {
	defer close(s.done)
	buf := make([]byte, 1500)
	for {
		n, peer, err := s.conn.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if resp, err := s.answer(buf[:n]); err == nil {
			s.conn.WriteToUDP(resp, peer)
		}
	}
}

const (
	typeTXT  = 16
	classIN  = 1
	rcodeNX  = 3
	headerSz = 12
)

// answer builds the response to one query message.
func (s *Server) answer(q []byte) ([]byte, error) {
	if len(q) < headerSz || binary.BigEndian.Uint16(q[4:]) != 1 {
		return nil, errors.New("dnstest: want exactly one question")
	}
	// The question: labels up to a zero byte, then type and class.
	var labels []string
	i := headerSz
	for {
		if i >= len(q) {
			return nil, errors.New("dnstest: truncated name")
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l > 63 || i+l > len(q) {
			return nil, errors.New("dnstest: bad label")
		}
		labels = append(labels, string(q[i:i+l]))
		i += l
	}
	if i+4 > len(q) {
		return nil, errors.New("dnstest: truncated question")
	}
	qtype := binary.BigEndian.Uint16(q[i:])
	question := q[headerSz : i+4]

	s.mu.Lock()
	records, found := s.txt[canonical(strings.Join(labels, "."))]
	s.mu.Unlock()

	resp := make([]byte, headerSz, 512)
	copy(resp, q[:2])                                               // id
	flags := uint16(0x8400) | binary.BigEndian.Uint16(q[2:])&0x0100 // QR, AA, copy RD
	if !found {
		flags |= rcodeNX
	}
	binary.BigEndian.PutUint16(resp[2:], flags|0x0080) // RA
	binary.BigEndian.PutUint16(resp[4:], 1)
	if found && qtype == typeTXT {
		binary.BigEndian.PutUint16(resp[6:], uint16(len(records)))
	}
	resp = append(resp, question...)
	if !found || qtype != typeTXT {
		return resp, nil
	}
	for _, r := range records {
		var rdata []byte
		for len(r) > 255 {
			rdata = append(append(rdata, 255), r[:255]...)
			r = r[255:]
		}
		rdata = append(append(rdata, byte(len(r))), r...)
		resp = append(resp, 0xC0, headerSz) // the name: a pointer to the question's
		resp = binary.BigEndian.AppendUint16(resp, typeTXT)
		resp = binary.BigEndian.AppendUint16(resp, classIN)
		resp = binary.BigEndian.AppendUint32(resp, 60)
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rdata)))
		resp = append(resp, rdata...)
	}
	return resp, nil
}
