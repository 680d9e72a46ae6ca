package store

import (
	"os"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// TestMain lets more tests run at once than there are cores: they spend
// most of their time waiting on PostgreSQL and on commits.
func TestMain(m *testing.M) {
	testenv.RaiseParallelism(4)
	os.Exit(m.Run())
}
