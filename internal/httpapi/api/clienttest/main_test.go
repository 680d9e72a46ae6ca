package clienttest_test

import (
	"os"
	"testing"

	"github.com/gatehouse-auth/gatehouse/internal/httpapi/apitest"
	"github.com/gatehouse-auth/gatehouse/internal/testenv"
)

// TestMain lets more tests run at once than there are cores: they spend
// most of their time waiting on the database, the network and node.
func TestMain(m *testing.M) {
	testenv.RaiseParallelism(2)
	code := m.Run()
	apitest.CloseBrowser() // the browser the browser tests shared
	os.Exit(code)
}
