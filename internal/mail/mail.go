// Package mail sends Gatehouse's security emails (password resets, email
// verification, login notifications) without ever blocking or failing the
// request that caused them. Every message is first stored in a durable
// outbox; a background loop delivers it over SMTP and retries failures with
// exponential backoff. When email is not configured the message is logged
// (without its body, which may carry a reset link) and stays in the outbox
// for an operator to read.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/metrics"
)

// Message is one email.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string // optional; when set the email is multipart/alternative
}

// Outbox is where messages wait (implemented by the SQL store).
type Outbox interface {
	// EnqueueMail stores a pending message and returns its ID.
	EnqueueMail(ctx context.Context, m gatehouse.OutboxMessage) (id int64, err error)
	// ClaimMail leases up to n due messages (status pending,
	// next_attempt_at <= now) for leaseFor, so two instances never send
	// one message twice at once.
	ClaimMail(ctx context.Context, now time.Time, n int, leaseFor time.Duration) ([]gatehouse.OutboxMessage, error)
	// MarkMailSent records a delivered message.
	MarkMailSent(ctx context.Context, id int64, at time.Time) error
	// MarkMailFailed records a failed attempt; a dead message is given up.
	MarkMailFailed(ctx context.Context, id int64, attempts int, nextAttempt time.Time, lastError string, dead bool) error
	// ListMail returns the newest messages, at most limit.
	ListMail(ctx context.Context, limit int) ([]gatehouse.OutboxMessage, error)
}

// Sender delivers one message (SMTP in production).
type Sender interface {
	Send(ctx context.Context, from string, m Message) error
}

// Delivery tuning.
const (
	// MaxAttempts is how many failed attempts make a message dead.
	MaxAttempts = 10
	// FirstRetry is the wait after the first failure; it doubles after
	// each further failure up to MaxRetry.
	FirstRetry = 30 * time.Second
	// MaxRetry caps the wait between attempts.
	MaxRetry = time.Hour
	// DefaultPollInterval is how often Run looks for due messages when
	// Queue has not woken it.
	DefaultPollInterval = 5 * time.Second

	claimBatch   = 10
	leaseFor     = 5 * time.Minute
	sendTimeout  = 2 * time.Minute
	storeTimeout = 10 * time.Second
)

// Backoff returns how long to wait before the next attempt after the given
// number of failed attempts: 30s, 1m, 2m, 4m, … capped at one hour.
func Backoff(attempts int) time.Duration {
	if attempts < 1 {
		attempts = 1
	}
	d := FirstRetry
	for i := 1; i < attempts; i++ {
		d *= 2
		if d >= MaxRetry {
			return MaxRetry
		}
	}
	return d
}

// Mailer queues messages and delivers them in the background.
type Mailer struct {
	outbox Outbox
	sender Sender
	from   string
	logger *slog.Logger
	wake   chan struct{}

	// LogText, for development only (DEBUG with no EMAIL_HOST), writes
	// each queued message's text to the log when it is queued, so that a
	// developer can follow reset and invite links. Never set it where
	// email is sent: the text holds those links.
	LogText bool

	// now and poll are replaced by tests.
	now  func() time.Time
	poll time.Duration
}

// NewMailer returns a Mailer that stores messages in outbox and delivers
// them through sender as from (an address, optionally with a display
// name). A nil sender means email is not configured: messages stay in the
// outbox and are logged without their body. A nil logger discards logs.
func NewMailer(outbox Outbox, sender Sender, from string, logger *slog.Logger) *Mailer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Mailer{
		outbox: outbox,
		sender: sender,
		from:   from,
		logger: logger,
		wake:   make(chan struct{}, 1),
		now:    time.Now,
		poll:   DefaultPollInterval,
	}
}

// Configured reports whether the Mailer has a sender.
func (m *Mailer) Configured() bool { return m.sender != nil }

// ErrInvalidMessage is returned by Queue for a message that must not be
// sent: a header with a line break (header injection), a bad address.
var ErrInvalidMessage = errors.New("mail: invalid message")

// validate refuses header injection and malformed recipients.
func validate(msg Message) error {
	if strings.ContainsAny(msg.To, "\r\n") || strings.ContainsAny(msg.Subject, "\r\n") {
		return fmt.Errorf("%w: line break in a header", ErrInvalidMessage)
	}
	if _, err := netmail.ParseAddress(msg.To); err != nil {
		return fmt.Errorf("%w: recipient: %w", ErrInvalidMessage, err)
	}
	return nil
}

// Queue stores the message in the outbox (durable) and wakes the delivery
// loop; it returns as soon as the message is stored. It never sends
// inline. It refuses (ErrInvalidMessage) a To or Subject containing CR or
// LF and a To that is not an email address.
func (m *Mailer) Queue(ctx context.Context, msg Message) error {
	if err := validate(msg); err != nil {
		return err
	}
	now := m.now()
	id, err := m.outbox.EnqueueMail(ctx, gatehouse.OutboxMessage{
		To: msg.To, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML,
		Status: gatehouse.OutboxPending, NextAttemptAt: now, CreatedAt: now,
	})
	if err != nil {
		return fmt.Errorf("mail: queueing: %w", err)
	}
	if m.sender == nil {
		if m.LogText {
			m.logger.InfoContext(ctx, "email queued (email not configured; DEBUG shows its text)", "id", id, "to", msg.To, "subject", msg.Subject, "text", msg.Text)
			return nil
		}
		// The body may hold a password reset link: never log it.
		m.logger.InfoContext(ctx, "email queued (email not configured)", "id", id, "to", msg.To, "subject", msg.Subject)
		return nil
	}
	select {
	case m.wake <- struct{}{}:
	default: // already woken
	}
	return nil
}

// Run delivers queued messages until ctx ends: claims due messages, sends,
// marks sent or failed with exponential backoff (30s, 1m, 2m, … capped at
// 1h; dead after MaxAttempts attempts), polling every few seconds and
// immediately after Queue. Without a sender it only waits for ctx: the
// messages stay in the outbox.
func (m *Mailer) Run(ctx context.Context) {
	if m.sender == nil {
		<-ctx.Done()
		return
	}
	ticker := time.NewTicker(m.poll)
	defer ticker.Stop()
	for {
		m.deliverDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		case <-ticker.C:
		}
	}
}

// deliverDue sends due messages until none is left or ctx ends.
func (m *Mailer) deliverDue(ctx context.Context) {
	for ctx.Err() == nil {
		batch, err := m.outbox.ClaimMail(ctx, m.now(), claimBatch, leaseFor)
		if err != nil {
			if ctx.Err() == nil {
				m.logger.ErrorContext(ctx, "claiming queued emails", "error", err)
			}
			return
		}
		for _, om := range batch {
			m.deliver(ctx, om)
		}
		if len(batch) < claimBatch {
			return
		}
	}
}

// deliver sends one claimed message and records the outcome.
func (m *Mailer) deliver(ctx context.Context, om gatehouse.OutboxMessage) {
	sendCtx, cancel := context.WithTimeout(ctx, sendTimeout)
	err := m.sender.Send(sendCtx, m.from, Message{To: om.To, Subject: om.Subject, Text: om.Text, HTML: om.HTML})
	cancel()
	// Record the outcome even when ctx ended meanwhile: the lease would
	// otherwise hold the message back, or a sent one would be sent again.
	markCtx, cancelMark := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancelMark()
	now := m.now()
	if err == nil {
		if err := m.outbox.MarkMailSent(markCtx, om.ID, now); err != nil {
			m.logger.ErrorContext(ctx, "recording a sent email", "id", om.ID, "to", om.To, "error", err)
			return
		}
		m.logger.InfoContext(ctx, "email sent", "id", om.ID, "to", om.To, "subject", om.Subject)
		metrics.EmailSent()
		return
	}
	attempts := om.Attempts + 1
	dead := attempts >= MaxAttempts
	next := now.Add(Backoff(attempts))
	metrics.EmailFailed(dead)
	m.logger.WarnContext(ctx, "sending email failed", "id", om.ID, "to", om.To, "subject", om.Subject,
		"attempts", attempts, "gave_up", dead, "next_attempt_at", next, "error", err)
	if err := m.outbox.MarkMailFailed(markCtx, om.ID, attempts, next, truncate(err.Error(), 1000), dead); err != nil {
		m.logger.ErrorContext(ctx, "recording a failed email", "id", om.ID, "to", om.To, "error", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// SMTP sends messages to a mail server.
type SMTP struct {
	Host     string
	Port     int // 0 means 465 with UseSSL, else 25
	User     string
	Password gatehouse.Secret
	// UseTLS requires STARTTLS: a server that does not offer it gets nothing.
	UseTLS bool
	// UseSSL speaks TLS from the first byte (implicit TLS, port 465).
	UseSSL bool
	// TLSConfig, when set, is used for TLS (tests trust their own CA).
	TLSConfig *tls.Config
	// Timeout bounds dialing; 0 means 10 seconds.
	Timeout time.Duration
}

// ErrSTARTTLSUnavailable is returned when UseTLS is set and the server does
// not offer STARTTLS.
var ErrSTARTTLSUnavailable = errors.New("mail: the SMTP server does not offer STARTTLS")

// DefaultDialTimeout bounds connecting to the SMTP server.
const DefaultDialTimeout = 10 * time.Second

func (s *SMTP) tlsConfig() *tls.Config {
	var c *tls.Config
	if s.TLSConfig != nil {
		c = s.TLSConfig.Clone()
	} else {
		c = &tls.Config{}
	}
	if c.ServerName == "" {
		c.ServerName = s.Host
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

func (s *SMTP) addr() string {
	port := s.Port
	if port == 0 {
		port = 25
		if s.UseSSL {
			port = 465
		}
	}
	return net.JoinHostPort(s.Host, strconv.Itoa(port))
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers m from from. It dials with a timeout, uses implicit TLS
// when UseSSL, STARTTLS when UseTLS (refusing to send without it), and AUTH
// PLAIN when User is set (only over TLS or to a loopback host). The whole
// conversation ends when ctx does.
func (s *SMTP) Send(ctx context.Context, from string, m Message) error {
	if err := validate(m); err != nil {
		return err
	}
	fromAddr, err := netmail.ParseAddress(from)
	if err != nil {
		return fmt.Errorf("mail: sender address %q: %w", from, err)
	}
	toAddr, _ := netmail.ParseAddress(m.To) // validated above
	data, err := compose(fromAddr, toAddr, m, time.Now())
	if err != nil {
		return err
	}

	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	dialer := &net.Dialer{Timeout: timeout}
	var conn net.Conn
	if s.UseSSL {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: s.tlsConfig()}).DialContext(ctx, "tcp", s.addr())
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", s.addr())
	}
	if err != nil {
		return fmt.Errorf("mail: connecting to %s: %w", s.addr(), err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if err := s.converse(conn, fromAddr.Address, toAddr.Address, data); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("mail: %w (%w)", ctx.Err(), err)
		}
		return err
	}
	return nil
}

func (s *SMTP) converse(conn net.Conn, from, to string, data []byte) error {
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		return fmt.Errorf("mail: SMTP greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(helloName()); err != nil {
		return fmt.Errorf("mail: EHLO: %w", err)
	}
	_, isTLS := conn.(*tls.Conn)
	if s.UseTLS && !isTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return ErrSTARTTLSUnavailable
		}
		if err := c.StartTLS(s.tlsConfig()); err != nil {
			return fmt.Errorf("mail: STARTTLS: %w", err)
		}
		isTLS = true
	}
	if s.User != "" {
		if !isTLS && !isLoopback(s.Host) {
			return errors.New("mail: refusing to send the SMTP password without TLS (set EMAIL_USE_TLS or EMAIL_USE_SSL)")
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("mail: the SMTP server does not offer AUTH")
		}
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password.Reveal(), s.Host)); err != nil {
			return fmt.Errorf("mail: AUTH: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("mail: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("mail: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: DATA: %w", err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("mail: writing message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: message refused: %w", err)
	}
	// The server accepted the message; a failed QUIT does not undo it.
	_ = c.Quit()
	return nil
}

// helloName is the name Gatehouse gives in EHLO.
func helloName() string {
	return "localhost"
}

// compose renders m as an RFC 5322 message with MIME headers: bodies are
// quoted-printable UTF-8, multipart/alternative when HTML is set.
func compose(from, to *netmail.Address, m Message, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", messageID(from.Address))
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("MIME-Version", "1.0")
	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain; charset=utf-8", m.Text}, {"text/html; charset=utf-8", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, fmt.Errorf("mail: composing: %w", err)
		}
		if err := writeQP(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("mail: composing: %w", err)
	}
	return b.Bytes(), nil
}

func writeQP(w interface{ Write([]byte) (int, error) }, body string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(body)); err != nil {
		return fmt.Errorf("mail: encoding body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return fmt.Errorf("mail: encoding body: %w", err)
	}
	return nil
}

// messageID returns a fresh Message-ID in the sender's domain.
func messageID(fromAddress string) string {
	domain := "gatehouse.invalid"
	if i := strings.LastIndexByte(fromAddress, '@'); i >= 0 && i+1 < len(fromAddress) {
		domain = fromAddress[i+1:]
	}
	r := make([]byte, 16)
	rand.Read(r)
	return "<" + hex.EncodeToString(r) + "@" + domain + ">"
}
