package apitest

import (
	"testing"
	"time"

	"github.com/gatehouse-auth/gatehouse/internal/gatehouse"
	"github.com/gatehouse-auth/gatehouse/internal/store"
)

// secondOrganization makes another organization (its owner is someone
// else) with a flag "other-org-flag" in its project, adds the test
// server's owner to it as a plain member, and returns the organization id
// and its project.
func SecondOrganization(t *testing.T, ts *Server, engine store.Engine) (string, *gatehouse.Project) {
	t.Helper()
	stranger, project := Outsider(t, ts)
	CreateFlag(t, stranger, project.ID, `{"key":"other-org-flag","filters":{"groups":[{"rollout_percentage":100}]}}`)
	if _, err := ts.Store.DB().Exec(Rebind(engine, `INSERT INTO memberships (organization_id, user_id, level, created_at) VALUES (?, ?, ?, ?)`),
		project.OrganizationID, ts.User.ID, int(gatehouse.LevelMember), time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	return project.OrganizationID, project
}
