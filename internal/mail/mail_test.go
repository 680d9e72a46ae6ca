package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
	"github.com/gatehouse-auth/gatehouse/internal/store/storetest"
)

// received is one message the sink accepted.
type received struct {
	from string
	to   []string
	data []byte
	tls  bool
	user string
}

// sink is a real SMTP server (go-smtp) that keeps what it receives.
type sink struct {
	user, password string // AUTH PLAIN credentials required when set

	mu   sync.Mutex
	msgs []received
	got  chan struct{}
}

func (s *sink) messages() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

type sinkSession struct {
	sink *sink
	conn *smtp.Conn
	cur  received
}

func (s *sinkSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *sinkSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.sink.user || password != s.sink.password {
			return errors.New("bad credentials")
		}
		s.cur.user = username
		return nil
	}), nil
}

func (s *sinkSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.sink.user != "" && s.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, s.cur.tls = s.conn.TLSConnectionState()
	s.cur.data = b
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, s.cur)
	s.sink.mu.Unlock()
	select {
	case s.sink.got <- struct{}{}:
	default:
	}
	user := s.cur.user
	s.cur = received{user: user}
	return nil
}

func (s *sinkSession) Reset()        { s.cur = received{user: s.cur.user} }
func (s *sinkSession) Logout() error { return nil }

type serverOptions struct {
	tls       *tls.Config // offered with STARTTLS, or spoken at once with implicit
	implicit  bool
	addr      string // "" picks a free port
	user, pwd string
}

// startSink runs an SMTP server until the test ends and returns its sink and
// port.
func startSink(t *testing.T, o serverOptions) (*sink, int) {
	t.Helper()
	sk := &sink{user: o.user, password: o.pwd, got: make(chan struct{}, 100)}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &sinkSession{sink: sk, conn: c}, nil
	}))
	srv.Domain = "sink.test"
	srv.ErrorLog = testLogger{t}
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	addr := o.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	if o.implicit {
		l, err = tls.Listen("tcp", addr, o.tls)
	} else {
		srv.TLSConfig = o.tls
		l, err = net.Listen("tcp", addr)
	}
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sk, l.Addr().(*net.TCPAddr).Port
}

type testLogger struct{ t *testing.T }

func (l testLogger) Printf(format string, v ...any) { l.t.Logf("smtp server: "+format, v...) }
func (l testLogger) Println(v ...any)               { l.t.Log(append([]any{"smtp server:"}, v...)...) }

// selfSigned returns a server TLS config for 127.0.0.1 and a client config
// trusting it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sink.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

// clock is a settable time source for the Mailer.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{now: time.Now().UTC().Truncate(time.Millisecond)} }

// forEachEngine runs fn on a fresh store of every engine.
func forEachEngine(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, engine := range storetest.Engines {
		t.Run(string(engine), func(t *testing.T) { fn(t, storetest.Open(t, engine)) })
	}
}

func only(t *testing.T, s *store.Store) gatehouse.OutboxMessage {
	t.Helper()
	all, err := s.ListMail(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("outbox holds %d messages, want 1: %+v", len(all), all)
	}
	return all[0]
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// parsed is a received message split into headers and decoded bodies.
type parsed struct {
	header     netmail.Header
	text, html string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parsing message: %v\n%s", err, data)
	}
	p := parsed{header: msg.Header}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	decode := func(enc string, r io.Reader) string {
		if enc != "quoted-printable" {
			t.Fatalf("Content-Transfer-Encoding %q", enc)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(r))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if mediaType != "multipart/alternative" {
		// SMTP ends the data with a line break of its own.
		p.text = strings.TrimSuffix(decode(msg.Header.Get("Content-Transfer-Encoding"), msg.Body), "\r\n")
		return p
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body := decode(part.Header.Get("Content-Transfer-Encoding"), part)
		switch ct := part.Header.Get("Content-Type"); ct {
		case "text/plain; charset=utf-8":
			p.text = body
		case "text/html; charset=utf-8":
			p.html = body
		default:
			t.Fatalf("unexpected part %q", ct)
		}
	}
	return p
}

const from = "Gatehouse <noreply@gatehouse.test>"

func TestDeliveryHeadersAndBody(t *testing.T) {
	longLine := strings.Repeat("é=x ", 40)
	tests := []struct {
		name string
		msg  Message
	}{
		{name: "plain text", msg: Message{To: "ada@example.com", Subject: "Reset your password",
			Text: "Reset: https://gatehouse.test/reset/abc?token=x=y\n" + longLine + "\n.\nend"}},
		{name: "non-ASCII subject with HTML", msg: Message{To: "Åsa Öberg <asa@example.com>", Subject: "Réinitialisez votre mot de passe ✓",
			Text: "Bonjour,\nlien: https://gatehouse.test/r/1", HTML: `<p>Bonjour, <a href="https://gatehouse.test/r/1">lien</a></p>`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sk, port := startSink(t, serverOptions{})
			s := storetest.Open(t, store.SQLite)
			m := NewMailer(s, &SMTP{Host: "127.0.0.1", Port: port}, from, nil)
			m.poll = time.Hour // only Queue's wake-up can trigger delivery
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { m.Run(ctx); close(done) }()
			t.Cleanup(func() { cancel(); <-done })

			if err := m.Queue(context.Background(), tt.msg); err != nil {
				t.Fatal(err)
			}
			select {
			case <-sk.got:
			case <-time.After(10 * time.Second):
				t.Fatal("message not delivered")
			}
			waitFor(t, "message marked sent", func() bool { return only(t, s).Status == gatehouse.OutboxSent })
			if got := only(t, s); got.SentAt == nil || got.Attempts != 0 {
				t.Fatalf("outbox after delivery: %+v", got)
			}

			msgs := sk.messages()
			if len(msgs) != 1 {
				t.Fatalf("sink got %d messages", len(msgs))
			}
			to, _ := netmail.ParseAddress(tt.msg.To)
			if msgs[0].from != "noreply@gatehouse.test" || len(msgs[0].to) != 1 || msgs[0].to[0] != to.Address {
				t.Fatalf("envelope from %q to %q", msgs[0].from, msgs[0].to)
			}
			p := parse(t, msgs[0].data)
			dec := new(mime.WordDecoder)
			subject, err := dec.DecodeHeader(p.header.Get("Subject"))
			if err != nil || subject != tt.msg.Subject {
				t.Fatalf("Subject %q (%v), want %q", subject, err, tt.msg.Subject)
			}
			if isASCII(tt.msg.Subject) != (p.header.Get("Subject") == tt.msg.Subject) {
				t.Fatalf("raw Subject %q", p.header.Get("Subject"))
			}
			gotFrom, err := p.header.AddressList("From")
			if err != nil || len(gotFrom) != 1 || gotFrom[0].Address != "noreply@gatehouse.test" || gotFrom[0].Name != "Gatehouse" {
				t.Fatalf("From %v %v", gotFrom, err)
			}
			gotTo, err := p.header.AddressList("To")
			if err != nil || len(gotTo) != 1 || gotTo[0].Address != to.Address || gotTo[0].Name != to.Name {
				t.Fatalf("To %v %v", gotTo, err)
			}
			if id := p.header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@gatehouse.test>") {
				t.Fatalf("Message-ID %q", id)
			}
			if _, err := p.header.Date(); err != nil {
				t.Fatalf("Date: %v", err)
			}
			if p.header.Get("MIME-Version") != "1.0" {
				t.Fatalf("MIME-Version %q", p.header.Get("MIME-Version"))
			}
			wantText := strings.ReplaceAll(tt.msg.Text, "\n", "\r\n")
			if p.text != wantText || p.html != tt.msg.HTML {
				t.Fatalf("bodies:\n text %q\n want %q\n html %q\n want %q", p.text, wantText, p.html, tt.msg.HTML)
			}
		})
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// deliverOnce queues msg and runs one delivery round.
func deliverOnce(t *testing.T, s *store.Store, sender Sender, c *clock) *Mailer {
	t.Helper()
	m := NewMailer(s, sender, from, nil)
	m.now = c.Now
	if err := m.Queue(context.Background(), Message{To: "ada@example.com", Subject: "Hi", Text: "body"}); err != nil {
		t.Fatal(err)
	}
	m.deliverDue(context.Background())
	return m
}

func TestTLS(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	tests := []struct {
		name   string
		server serverOptions
		client SMTP
	}{
		{name: "STARTTLS with AUTH PLAIN",
			server: serverOptions{tls: serverTLS, user: "mailer", pwd: "s3cret"},
			client: SMTP{UseTLS: true, User: "mailer", Password: "s3cret", TLSConfig: clientTLS}},
		{name: "implicit TLS",
			server: serverOptions{tls: serverTLS, implicit: true},
			client: SMTP{UseSSL: true, TLSConfig: clientTLS}},
		{name: "implicit TLS with AUTH PLAIN",
			server: serverOptions{tls: serverTLS, implicit: true, user: "mailer", pwd: "s3cret"},
			client: SMTP{UseSSL: true, User: "mailer", Password: "s3cret", TLSConfig: clientTLS}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sk, port := startSink(t, tt.server)
			client := tt.client
			client.Host, client.Port = "127.0.0.1", port
			s := storetest.Open(t, store.SQLite)
			deliverOnce(t, s, &client, newClock())
			if got := only(t, s); got.Status != gatehouse.OutboxSent {
				t.Fatalf("not sent: %+v", got)
			}
			msgs := sk.messages()
			if len(msgs) != 1 || !msgs[0].tls || msgs[0].user != tt.server.user {
				t.Fatalf("sink got %+v", msgs)
			}
		})
	}
}

func TestSendFailures(t *testing.T) {
	serverTLS, clientTLS := selfSigned(t)
	tests := []struct {
		name    string
		server  serverOptions
		client  SMTP
		wantErr string
	}{
		{name: "STARTTLS required but not offered", client: SMTP{UseTLS: true, TLSConfig: clientTLS},
			wantErr: ErrSTARTTLSUnavailable.Error()},
		{name: "wrong password", server: serverOptions{tls: serverTLS, user: "mailer", pwd: "s3cret"},
			client: SMTP{UseTLS: true, User: "mailer", Password: "wrong", TLSConfig: clientTLS}, wantErr: "AUTH"},
		{name: "untrusted certificate", server: serverOptions{tls: serverTLS},
			client: SMTP{UseTLS: true}, wantErr: "certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sk, port := startSink(t, tt.server)
			client := tt.client
			client.Host, client.Port = "127.0.0.1", port
			s := storetest.Open(t, store.SQLite)
			c := newClock()
			deliverOnce(t, s, &client, c)
			got := only(t, s)
			if got.Status != gatehouse.OutboxPending || got.Attempts != 1 || !got.NextAttemptAt.Equal(c.Now().Add(FirstRetry)) ||
				!strings.Contains(got.LastError, tt.wantErr) {
				t.Fatalf("after a failed attempt: %+v (want error containing %q)", got, tt.wantErr)
			}
			if n := len(sk.messages()); n != 0 {
				t.Fatalf("sink got %d messages", n)
			}
		})
	}
}

func TestPlainAuthRefusedWithoutTLSToRemoteHost(t *testing.T) {
	// A test server is only reachable on loopback, so check the rule that
	// lets AUTH go without TLS directly.
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1", true}, {"::1", true}, {"localhost", true},
		{"smtp.example.com", false}, {"10.0.0.1", false},
	}
	for _, tt := range tests {
		if got := isLoopback(tt.host); got != tt.want {
			t.Errorf("isLoopback(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestRetryWhenServerComesUp(t *testing.T) {
	// Find a free port, then leave it closed: the server is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	s := storetest.Open(t, store.SQLite)
	c := newClock()
	m := deliverOnce(t, s, &SMTP{Host: "127.0.0.1", Port: port, Timeout: time.Second}, c)
	got := only(t, s)
	if got.Status != gatehouse.OutboxPending || got.Attempts != 1 || !got.NextAttemptAt.Equal(c.Now().Add(30*time.Second)) || got.LastError == "" {
		t.Fatalf("after the server was down: %+v", got)
	}

	sk, _ := startSink(t, serverOptions{addr: "127.0.0.1:" + strconv.Itoa(port)})
	c.Advance(29 * time.Second)
	m.deliverDue(context.Background())
	if n := len(sk.messages()); n != 0 || only(t, s).Status != gatehouse.OutboxPending {
		t.Fatalf("retried before the backoff ran out (%d delivered)", n)
	}
	c.Advance(time.Second)
	m.deliverDue(context.Background())
	if n := len(sk.messages()); n != 1 {
		t.Fatalf("sink got %d messages after the retry", n)
	}
	if got := only(t, s); got.Status != gatehouse.OutboxSent || got.Attempts != 1 {
		t.Fatalf("after the retry: %+v", got)
	}
}

// failingSender fails every send.
type failingSender struct{ calls atomic.Int32 }

func (f *failingSender) Send(context.Context, string, Message) error {
	f.calls.Add(1)
	return errors.New("421 try later")
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	s := storetest.Open(t, store.SQLite)
	c := newClock()
	sender := &failingSender{}
	m := deliverOnce(t, s, sender, c)
	for range 2 * MaxAttempts {
		c.Advance(MaxRetry)
		m.deliverDue(context.Background())
	}
	got := only(t, s)
	if got.Status != gatehouse.OutboxFailed || got.Attempts != MaxAttempts || sender.calls.Load() != MaxAttempts || got.LastError != "421 try later" {
		t.Fatalf("after giving up: %+v, %d sends", got, sender.calls.Load())
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		attempts int
		want     time.Duration
	}{
		{0, 30 * time.Second}, {1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {4, 4 * time.Minute},
		{7, 32 * time.Minute}, {8, time.Hour}, {9, time.Hour}, {100, time.Hour},
	}
	for _, tt := range tests {
		if got := Backoff(tt.attempts); got != tt.want {
			t.Errorf("Backoff(%d) = %v, want %v", tt.attempts, got, tt.want)
		}
	}
}

func TestTwoInstancesDeliverEachMessageOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		sk, port := startSink(t, serverOptions{})
		const total = 40
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		var mailers []*Mailer
		for range 2 {
			m := NewMailer(s, &SMTP{Host: "127.0.0.1", Port: port}, from, nil)
			m.poll = 20 * time.Millisecond
			mailers = append(mailers, m)
			wg.Go(func() { m.Run(ctx) })
		}
		t.Cleanup(func() { cancel(); wg.Wait() })
		for i := range total {
			if err := mailers[i%2].Queue(context.Background(), Message{To: fmt.Sprintf("u%d@example.com", i), Subject: "Hi", Text: "body"}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "all messages sent", func() bool {
			all, err := s.ListMail(context.Background(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range all {
				if m.Status != gatehouse.OutboxSent {
					return false
				}
			}
			return len(all) == total
		})
		cancel()
		wg.Wait()
		seen := map[string]int{}
		for _, r := range sk.messages() {
			seen[r.to[0]]++
		}
		if len(seen) != total {
			t.Fatalf("sink got %d distinct recipients, want %d", len(seen), total)
		}
		for to, n := range seen {
			if n != 1 {
				t.Fatalf("%s got %d copies", to, n)
			}
		}
	})
}

func TestQueueRefusesHeaderInjection(t *testing.T) {
	tests := []struct {
		name string
		msg  Message
	}{
		{"CR LF in subject", Message{To: "ada@example.com", Subject: "Hi\r\nBcc: eve@example.com"}},
		{"LF in subject", Message{To: "ada@example.com", Subject: "Hi\nBcc: eve@example.com"}},
		{"CR in subject", Message{To: "ada@example.com", Subject: "Hi\rX"}},
		{"LF in to", Message{To: "ada@example.com\nBcc: eve@example.com", Subject: "Hi"}},
		{"CR LF in to", Message{To: "ada@example.com\r\nBcc: eve@example.com", Subject: "Hi"}},
		{"not an address", Message{To: "ada", Subject: "Hi"}},
		{"two addresses", Message{To: "ada@example.com, eve@example.com", Subject: "Hi"}},
		{"empty", Message{Subject: "Hi"}},
	}
	s := storetest.Open(t, store.SQLite)
	m := NewMailer(s, &failingSender{}, from, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := m.Queue(context.Background(), tt.msg); !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("Queue: %v, want ErrInvalidMessage", err)
			}
			if err := (&SMTP{Host: "127.0.0.1", Port: 1}).Send(context.Background(), from, tt.msg); !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("Send: %v, want ErrInvalidMessage", err)
			}
		})
	}
	if all, err := s.ListMail(context.Background(), 10); err != nil || len(all) != 0 {
		t.Fatalf("refused messages were stored: %v %v", all, err)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestNotConfiguredLogsWithoutBody(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		var logs syncBuffer
		m := NewMailer(s, nil, from, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { m.Run(ctx); close(done) }()

		const link = "https://gatehouse.test/reset/SECRET-TOKEN-123"
		msg := Message{To: "ada@example.com", Subject: "Reset your password", Text: "Reset: " + link, HTML: `<a href="` + link + `">reset</a>`}
		if err := m.Queue(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // give a (wrong) delivery a chance
		cancel()
		<-done

		out := logs.String()
		for _, want := range []string{"email queued (email not configured)", `"to":"ada@example.com"`, `"subject":"Reset your password"`} {
			if !strings.Contains(out, want) {
				t.Fatalf("log lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "SECRET-TOKEN-123") || strings.Contains(out, "Reset: ") {
			t.Fatalf("log leaks the body:\n%s", out)
		}
		got := only(t, s)
		if got.Status != gatehouse.OutboxPending || got.Attempts != 0 || got.Text != msg.Text || got.HTML != msg.HTML || got.To != msg.To {
			t.Fatalf("outbox: %+v", got)
		}
	})
}

func TestSenderAddressInvalid(t *testing.T) {
	err := (&SMTP{Host: "127.0.0.1", Port: 1}).Send(context.Background(), "not an address", Message{To: "ada@example.com", Subject: "Hi"})
	if err == nil || !strings.Contains(err.Error(), "sender address") {
		t.Fatalf("Send: %v", err)
	}
}

// TestDevelopmentLogsTextWhenQueued: with LogText (DEBUG and no email
// configured) the text, links included, is in the log from the moment the
// message is queued; with a sender it is never logged.
func TestDevelopmentLogsTextWhenQueued(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store) {
		const link = "https://gatehouse.test/reset/DEV-TOKEN-456"
		for _, withSender := range []bool{false, true} {
			var logs syncBuffer
			var sender Sender
			if withSender {
				sender = &failingSender{}
			}
			m := NewMailer(s, sender, from, slog.New(slog.NewJSONHandler(&logs, nil)))
			m.LogText = true
			if err := m.Queue(context.Background(), Message{To: "ada@example.com", Subject: "Reset your password", Text: "Reset: " + link}); err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(logs.String(), "DEV-TOKEN-456"); got == withSender {
				t.Fatalf("sender %v: text logged %v:\n%s", withSender, got, logs.String())
			}
		}
	})
}
