package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/httpauth"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
)

// The audit log pages: Organization → Audit log (/settings/audit_log, for
// the current organization's admins) and the account's recent security
// activity (/settings/security: sign-ins with address and browser, and
// recent changes), with the API's filters and pages.

func init() {
	pageTemplates["audit"] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/audit.html"))
}

// AuditPage is what audit.html shows: one page of audit events with the
// filters that chose them.
type AuditPage struct {
	Layout
	Title, Path, Organization               string
	EventType, Actor, Target, After, Before string
	Count                                   int
	Events                                  []auditRow
	// Newer and Older link the neighbouring pages ("" at either end).
	Newer, Older string
}

func (*AuditPage) template() string { return "audit" }

// CountText is the number of events in words ("1 event", "3 events").
func (p *AuditPage) CountText() string {
	if p.Count == 1 {
		return "1 event"
	}
	return strconv.Itoa(p.Count) + " events"
}

type auditRow struct {
	Time, Type, Actor, Address, Browser, Target, Outcome, Changes string
}

// AuditPages serves the audit log pages.
type AuditPages struct {
	Auth     *httpauth.Auth // the CSRF token of the bar's Log out button
	Accounts *gatehouse.AccountService
	Audit    *gatehouse.AuditService
}

// OrganizationLog shows the current organization's audit log to its
// admins (/settings/audit_log).
func (h *AuditPages) OrganizationLog(w http.ResponseWriter, r *http.Request) error {
	return h.page(w, r, true)
}

// AccountLog shows the signed-in user's recent security activity
// (/settings/security).
func (h *AuditPages) AccountLog(w http.ResponseWriter, r *http.Request) error {
	return h.page(w, r, false)
}

func (h *AuditPages) page(w http.ResponseWriter, r *http.Request, organization bool) error {
	path := "/settings/security"
	if organization {
		path = "/settings/audit_log"
	}
	a := httpauth.CallerFrom(r.Context())
	if a == nil || a.Session == nil {
		http.Redirect(w, r, "/login?next="+path, http.StatusFound)
		return nil
	}
	q := r.URL.Query()
	page := &AuditPage{Layout: Layout{CSRFToken: sessionCSRFToken(w, r, h.Auth, a)}, Title: "Your recent security activity", Path: path, EventType: q.Get("event_type"), Actor: q.Get("actor"),
		Target: q.Get("target"), After: q.Get("after"), Before: q.Get("before")}
	status := http.StatusOK
	f, err := httpauth.AuditFilter(r)
	if err == nil && f.Limit == 100 && q.Get("limit") == "" {
		f.Limit = 50
	}
	var events []gatehouse.AuditEvent
	if err == nil {
		if organization {
			page.Title = "Audit log"
			if p, perr := h.Accounts.Profile(r.Context(), a.User); perr == nil && p.Organization != nil {
				page.Organization = p.Organization.Name
			}
			events, page.Count, err = h.Audit.OrganizationLog(r.Context(), a.User, gatehouse.CurrentOrganization, f)
		} else {
			events, page.Count, err = h.Audit.AccountLog(r.Context(), a.User, f)
		}
	}
	if err != nil {
		status, _, page.Error = pageError(w, r, err)
	}
	for i := range events {
		page.Events = append(page.Events, auditRowOf(&events[i]))
	}
	if err == nil {
		links := httpauth.AuditPage(r, httpauth.Auth{}, f, nil, page.Count)
		if s, ok := links["next"].(string); ok {
			page.Older = s
		}
		if s, ok := links["previous"].(string); ok {
			page.Newer = s
		}
	}
	renderPage(w, r, status, page)
	return nil
}

func auditRowOf(ev *gatehouse.AuditEvent) auditRow {
	actor := ev.Actor.Type
	switch {
	case ev.Actor.KeyID != "":
		actor = "key " + ev.Actor.KeyLabel + " (" + ev.Actor.Email + ")"
	case ev.Actor.Email != "":
		actor = ev.Actor.Email
	}
	target := ev.Target.Type
	if ev.Target.Label != "" {
		target += " " + ev.Target.Label
	} else if ev.Target.ID != "" {
		target += " " + ev.Target.ID
	}
	outcome := ev.Outcome
	if ev.Reason != "" {
		outcome += " (" + ev.Reason + ")"
	}
	var changes []string
	for _, c := range ev.Changes {
		changes = append(changes, fmt.Sprintf("%s: %v → %v", c.Field, c.Old, c.New))
	}
	return auditRow{Time: ev.Time.UTC().Format("2006-01-02 15:04:05"), Type: string(ev.Type), Actor: actor, Address: ev.ClientAddr,
		Browser: ev.UserAgent, Target: target, Outcome: outcome, Changes: strings.Join(changes, "; ")}
}
